package asterisk

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5/client/native"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// An ARI server that accepts a request and never answers does not hold the
// library's request forever; another host's slow answer is not cut short.
func TestARIRequestsEndAtTheTimeout(t *testing.T) {
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer stuck.Close()
	defer close(release)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(600 * time.Millisecond)
		io.WriteString(w, "done")
	}))
	defer slow.Close()

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	New(Config{URL: stuck.URL + "/ari", Application: "t-timeout", RequestTimeout: 300 * time.Millisecond}, nil, prometheus.NewRegistry(), log)

	errc := make(chan error, 1)
	go func() {
		_, err := native.New(&native.Options{URL: stuck.URL + "/ari", Application: "t-timeout"}).Asterisk().Info(nil)
		errc <- err
	}()
	select {
	case err := <-errc:
		require.Error(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the ARI request to a server that never answers did not end")
	}

	resp, err := http.Get(slow.URL)
	require.NoError(t, err, "a request to another host keeps its own (no) deadline")
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, "done", string(body))
}

// A connection upgraded through the default transport (a websocket proxied
// to ARI) is not cut at the request timeout.
func TestUpgradedConnectionsOutliveTheTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		rw.Flush()
		io.Copy(conn, rw) // echo
	}))
	defer srv.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	New(Config{URL: srv.URL + "/ari", Application: "t-upgrade", RequestTimeout: 200 * time.Millisecond}, nil, prometheus.NewRegistry(), log)

	req, err := http.NewRequest(http.MethodGet, srv.URL+"/ari/events", nil)
	require.NoError(t, err)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "echo")
	resp, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	conn, ok := resp.Body.(io.ReadWriteCloser)
	require.True(t, ok, "the upgraded body is the connection")
	defer conn.Close()
	time.Sleep(400 * time.Millisecond) // past the request timeout
	_, err = conn.Write([]byte("ping"))
	require.NoError(t, err)
	got := make([]byte, 4)
	_, err = io.ReadFull(conn, got)
	require.NoError(t, err)
	require.Equal(t, "ping", string(got))
}
