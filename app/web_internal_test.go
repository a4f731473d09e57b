package app

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The server's limits hold against the clients they are for: headers too
// large are refused, and a client too slow to send its headers, a
// connection left idle and a response that cannot be written in time all
// lose their connection. The limits are shortened for the test; the
// daemon's are limits.
func TestServerLimits(t *testing.T) {
	t.Parallel()
	lim := serverLimits{readHeader: 200 * time.Millisecond, read: time.Second, write: 300 * time.Millisecond,
		idle: 300 * time.Millisecond, maxHeaderBytes: 1 << 10}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * lim.write) // the handler outlives the write limit
		io.WriteString(w, "late")
	})
	p := httpPart(addr, mux, lim, slog.New(slog.NewTextHandler(io.Discard, nil)), make(chan error, 1))
	require.NoError(t, p.start(context.Background()))
	t.Cleanup(func() { p.stop(context.Background()) })

	// closed reads conn to its end: the server closed it within a second
	// (a read that times out instead means the connection was kept).
	closed := func(t *testing.T, conn net.Conn) string {
		t.Helper()
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(time.Second)))
		b, err := io.ReadAll(conn)
		var ne net.Error
		require.False(t, err != nil && errors.As(err, &ne) && ne.Timeout(), "the server kept the connection")
		return string(b)
	}
	dial := func(t *testing.T) net.Conn {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		return conn
	}

	t.Run("headers beyond the limit", func(t *testing.T) {
		req, err := http.NewRequest("GET", "http://"+addr+"/", nil)
		require.NoError(t, err)
		req.Header.Set("X-Padding", strings.Repeat("a", 8<<10))
		resp, err := (&http.Client{Timeout: time.Second}).Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
	})
	t.Run("headers sent too slowly", func(t *testing.T) {
		conn := dial(t)
		_, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: centralino\r\n") // and never the blank line
		require.NoError(t, err)
		require.NotContains(t, closed(t, conn), "200 OK")
	})
	t.Run("an idle connection", func(t *testing.T) {
		conn := dial(t)
		_, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: centralino\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		resp.Body.Close()
		// Kept alive, then closed once idle past the limit.
		closed(t, conn)
	})
	t.Run("a response slower than the write limit", func(t *testing.T) {
		conn := dial(t)
		_, err := io.WriteString(conn, "GET /slow HTTP/1.1\r\nHost: centralino\r\n\r\n")
		require.NoError(t, err)
		require.NotContains(t, closed(t, conn), "late")
	})
}
