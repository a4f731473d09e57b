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
