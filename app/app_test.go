package app_test

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/app"
	"github.com/centralino-cup/centralino/asterisk/asteristest"
	"github.com/centralino-cup/centralino/auth"
	"github.com/centralino-cup/centralino/config"
	"github.com/centralino-cup/centralino/postgres/pgtest"
)

// freePort is a loopback address nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// secrets are the test's credentials' secrets, by name.
var secrets = map[string]string{"anna": "anna-secret-0123456789", "portale": "portale-secret-0123456789",
	"maria": "maria-secret-0123456789", "prom": "prom-secret-0123456789", "bruno": "bruno-secret-0123456789",
	"luca": "luca-secret-0123456789", "sara": "sara-secret-0123456789", "gino": "gino-secret-0123456789"}

// credentialsFile writes the test's credentials: two agents on simulated
// phones (anna's answers after a second, bruno's after three), three on
// the sandbox's SIP desks, a channel, a manager and the scraper.
func credentialsFile(t *testing.T) string {
	t.Helper()
	var lines []string
	for _, p := range []auth.Principal{{Role: auth.RoleAgent, Name: "anna", Attr: "Local/a1@sim-agents/n"},
		{Role: auth.RoleAgent, Name: "bruno", Attr: "Local/a3@sim-agents/n"},
		{Role: auth.RoleAgent, Name: "luca", Attr: "PJSIP/agent101"}, {Role: auth.RoleAgent, Name: "sara", Attr: "PJSIP/agent102"},
		{Role: auth.RoleAgent, Name: "gino", Attr: "PJSIP/agent103"},
		{Role: auth.RoleChannel, Name: "portale", Attr: "web"}, {Role: auth.RoleManager, Name: "maria"}, {Role: auth.RoleMetrics, Name: "prom"}} {
		h, err := auth.Hash(secrets[p.Name])
		require.NoError(t, err)
		lines = append(lines, auth.Line(p, h))
	}
	path := filepath.Join(t.TempDir(), "credentials")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	return path
}

// testConfig is the daemon on the test services: its own database, Redis
// database 15 and Stasis application, a free port, the test's credentials.
func testConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Auth.CredentialsFile = credentialsFile(t)
	ari := asteristest.Config(t, asteristest.App("t-app"))
	cfg.ARI.URL, cfg.ARI.User, cfg.ARI.Password, cfg.ARI.Application = ari.URL, ari.User, ari.Password, ari.Application
	cfg.Database.URL = pgtest.URL(pgtest.NewDB(t))
	cfg.Redis.URL = "redis://127.0.0.1:6379/15"
	cfg.HTTP.Listen = freePort(t)
	cfg.Queue.Instance = "t-app"
	return cfg
}

// web is the test's own HTTP client: the ARI adapter wraps the process's
// default transport when the daemon builds it.
var web = &http.Client{Transport: &http.Transport{}, Timeout: 2 * time.Second}

func get(t *testing.T, url string) (int, string) { return do(t, "GET", url, "", "") }

// do sends a request as who (a name of secrets; "": nobody), with a JSON
// body.
func do(t *testing.T, method, url, who, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if who != "" {
		req.SetBasicAuth(who, secrets[who])
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := web.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The daemon starts its parts, connects to Asterisk, serves HTTP, and on
// SIGTERM stops them all and returns.
func TestRunStartsAndStopsOnSIGTERM(t *testing.T) {
	cfg := testConfig(t)
	signals := make(chan os.Signal, 2)
	ran := make(chan error, 1)
	go func() { ran <- app.Run(cfg, time.Now, asteristest.Quiet(), signals) }()
	base := "http://" + cfg.HTTP.Listen
	require.Eventually(t, func() bool { code, _ := get(t, base+"/healthz"); return code == http.StatusOK }, 20*time.Second, 50*time.Millisecond)
	require.Eventually(t, func() bool {
		_, m := do(t, "GET", base+"/metrics", "prom", "")
		return strings.Contains(m, "centralino_ari_connected{application=\""+cfg.ARI.Application+"\"} 1")
	}, 20*time.Second, 50*time.Millisecond, "connected to Asterisk")
	require.True(t, asteristest.Has(t, "/applications/"+cfg.ARI.Application), "the Stasis application is registered")

	signals <- syscall.SIGTERM
	select {
	case err := <-ran:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("the daemon did not stop on SIGTERM")
	}
	code, _ := get(t, base+"/healthz")
	require.Zero(t, code, "HTTP still served after the stop")
}

// A daemon that cannot listen says so and stops what it started.
func TestRunRefusesATakenPort(t *testing.T) {
	cfg := testConfig(t)
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	require.NoError(t, err)
	defer ln.Close()
	err = app.Run(cfg, time.Now, asteristest.Quiet(), make(chan os.Signal))
	require.ErrorContains(t, err, "starting http")
}
