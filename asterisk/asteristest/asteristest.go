// Package asteristest connects tests to the real Asterisk sandbox
// (make asterisk-up). Tests skip when it is not reachable, except under
// `make test`, which sets CENTRALINO_REQUIRE_ASTERISK=1 so that a missing
// Asterisk fails the run instead of passing it silently.
package asteristest

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/centralino-cup/centralino/asterisk"
)

// Config returns the sandbox's ARI config for an application name, or
// skips/fails the test when ARI does not answer.
//
// The test holds the sandbox shared until it ends: a test that restarts
// Asterisk takes it exclusively (Exclusive), across test processes.
func Config(t testing.TB, app string) asterisk.Config {
	t.Helper()
	share(t)
	cfg := asterisk.Config{
		URL:            env("CENTRALINO_ARI_URL", "http://127.0.0.1:8088/ari"),
		User:           env("CENTRALINO_ARI_USER", "centralino"),
		Password:       env("CENTRALINO_ARI_PASSWORD", "centralino"),
		Application:    app,
		RequestTimeout: 5 * time.Second,
	}
	req, _ := http.NewRequest(http.MethodGet, cfg.URL+"/asterisk/info", nil)
	req.SetBasicAuth(cfg.User, cfg.Password)
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if err == nil {
		resp.Body.Close()
	}
	if err != nil || resp.StatusCode != http.StatusOK {
		msg := fmt.Sprintf("Asterisk sandbox not reachable at %s (run `make asterisk-up`): %v", cfg.URL, err)
		if os.Getenv("CENTRALINO_REQUIRE_ASTERISK") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return cfg
}

// App returns a unique application name for a test.
func App(prefix string) string {
	return prefix + "-" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// Quiet is a logger for tests (set CENTRALINO_TEST_LOG=1 to see it).
func Quiet() *slog.Logger {
	if os.Getenv("CENTRALINO_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// LockCentralino serialises, across test processes, the tests that connect
// as the numero verde's application `centralino` or need it absent (the
// DID enters it; go test runs packages in parallel).
func LockCentralino(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "centralino-app.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}

var (
	holdersMu sync.Mutex
	holders   = map[testing.TB]bool{} // tests holding the sandbox lock
)

// share takes the sandbox lock shared, once per test.
func share(t testing.TB) {
	t.Helper()
	holdersMu.Lock()
	held := holders[t]
	holders[t] = true
	holdersMu.Unlock()
	if !held {
		lockSandbox(t, syscall.LOCK_SH)
	}
}

// Exclusive makes the test the only user of the sandbox, in every test
// process, until it ends: for tests that restart Asterisk. Call it before
// Config.
func Exclusive(t testing.TB) {
	t.Helper()
	holdersMu.Lock()
	holders[t] = true
	holdersMu.Unlock()
	lockSandbox(t, syscall.LOCK_EX)
}

func lockSandbox(t testing.TB, how int) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "centralino-sandbox.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
		holdersMu.Lock()
		delete(holders, t)
		holdersMu.Unlock()
	})
}

// Sandbox runs scripts/asterisk-sandbox.sh with args (restart, cli ...).
func Sandbox(t testing.TB, args ...string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repository root not found")
		}
		dir = parent
	}
	out, err := exec.Command("bash", append([]string{filepath.Join(dir, "scripts/asterisk-sandbox.sh")}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("asterisk-sandbox.sh %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// Has reports whether ARI has the resource at path (e.g.
// "/channels/<id>", "/applications/<name>"), asking Asterisk directly.
func Has(t testing.TB, path string) bool {
	t.Helper()
	resp := get(t, path)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Channels lists the names of every channel Asterisk has.
func Channels(t testing.TB) []string {
	t.Helper()
	resp := get(t, "/channels")
	defer resp.Body.Close()
	var chans []struct{ Name string }
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("listing channels: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&chans); err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(chans))
	for i, c := range chans {
		names[i] = c.Name
	}
	return names
}

// Channel is the id of the first channel whose name starts with prefix
// (e.g. "PJSIP/agent101-"), "" when there is none.
func Channel(t testing.TB, prefix string) string {
	t.Helper()
	resp := get(t, "/channels")
	defer resp.Body.Close()
	var chans []struct{ ID, Name string }
	if err := json.NewDecoder(resp.Body).Decode(&chans); err != nil {
		t.Fatal(err)
	}
	for _, c := range chans {
		if strings.HasPrefix(c.Name, prefix) {
			return c.ID
		}
	}
	return ""
}

// Var reads a channel's variable or dialplan function (e.g.
// "CHANNEL(rtcp,all)": a SIP channel's RTP counts); "" when the channel
// is gone.
func Var(t testing.TB, channelID, name string) string {
	t.Helper()
	resp := get(t, "/channels/"+url.PathEscape(channelID)+"/variable?"+url.Values{"variable": {name}}.Encode())
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	var v struct{ Value string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.Value
}

// get asks ARI for path directly.
func get(t testing.TB, path string) *http.Response {
	t.Helper()
	cfg := Config(t, "")
	req, err := http.NewRequest(http.MethodGet, cfg.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(cfg.User, cfg.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
