package asterisk

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// The ari library (v5.3.1) sends its REST requests through a zero
// http.Client: http.DefaultTransport and no timeout at all (its
// package-level RequestTimeout is declared but never read), so a stuck
// Asterisk would hold a call's goroutine forever. The library offers no way
// to pass a client, so the process's default transport is wrapped once:
// requests to a host registered here end after that host's timeout; every
// other request of the process passes through untouched.

var (
	boundOnce sync.Once
	bounds    sync.Map // host → time.Duration
)

// boundRequests makes every request to the ARI server at rawURL end after
// timeout.
func boundRequests(rawURL string, timeout time.Duration) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return // Start reports the bad URL
	}
	bounds.Store(u.Host, timeout)
	boundOnce.Do(func() {
		t := timeoutTransport{base: http.DefaultTransport, ari: http.DefaultTransport}
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			// The default keeps 2 idle connections per host: with more
			// requests in flight, each extra one costs a new connection
			// and a new thread in Asterisk's HTTP server.
			ari := dt.Clone()
			ari.MaxIdleConnsPerHost = ariIdleConns
			t.ari = ari
		}
		http.DefaultTransport = t
	})
}

// ariIdleConns is how many idle connections to ARI are kept for reuse.
const ariIdleConns = 32

type timeoutTransport struct {
	base http.RoundTripper // every other host's
	ari  http.RoundTripper // the bound hosts'
}

func (t timeoutTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	v, ok := bounds.Load(r.URL.Host)
	if !ok || r.Header.Get("Upgrade") != "" {
		// An upgraded connection (a websocket proxied to ARI) lives as
		// long as its user keeps it.
		return t.base.RoundTrip(r)
	}
	ctx, cancel := context.WithTimeout(r.Context(), v.(time.Duration))
	resp, err := t.ari.RoundTrip(r.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	// The deadline covers reading the body too; closing it ends the timer.
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
