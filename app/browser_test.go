package app_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// The pages' tests drive Debian's chromium, headless, with a fresh
// profile; it never reaches the network (its background services are
// off) and nothing downloads a browser.

// browser starts Chromium for the test; each call of the function it
// returns opens a tab in a browser context of its own (its own cookies:
// an agent and a manager side by side). Without chromium the test skips,
// and fails under make test (CENTRALINO_REQUIRE_ASTERISK=1: set-up
// installs it).
func browser(t *testing.T) func(name string) *tab {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CENTRALINO_REQUIRE_ASTERISK") == "1" {
			t.Fatal("chromium is not installed: run make setup (scripts/setup.sh installs Debian's chromium)")
		}
		t.Skip("chromium is not installed (make setup installs it)")
	}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 720))
	t.Cleanup(cancel)
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(cancelRoot)
	require.NoError(t, chromedp.Do(root), "starting chromium")
	return func(name string) *tab {
		ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		require.NoError(t, chromedp.Do(ctx), "opening a tab")
		return &tab{t: t, ctx: ctx, name: name}
	}
}

// tab is one page in the browser.
type tab struct {
	t    *testing.T
	ctx  context.Context
	name string
}

// do runs actions, failing the test on an error.
func (p *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	require.NoError(p.t, chromedp.Do(ctx, actions...), "%s", p.name)
}

// eval evaluates a JavaScript expression into v.
func (p *tab) eval(js string, v any) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	require.NoError(p.t, err, "%s: %s", p.name, js)
	require.NoError(p.t, json.Unmarshal(raw, v), "%s: %s", p.name, js)
}

// text is what a person reads in the element (empty when there is none,
// or it is hidden).
func (p *tab) text(css string) string {
	p.t.Helper()
	var s string
	p.eval(`(() => { const e = document.querySelector(`+quote(css)+`); return e && e.offsetParent !== null ? e.innerText : ''; })()`, &s)
	return s
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// waitFor polls, every 20 ms, until the element shows a text that has
// want, and returns when it first did; it fails after within.
func (p *tab) waitFor(css, want string, within time.Duration) time.Time {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := p.text(css)
		if strings.Contains(got, want) {
			return time.Now()
		}
		if time.Now().After(deadline) {
			p.shot("failed")
			p.t.Fatalf("%s: %s shows %q, not %q, after %s", p.name, css, got, want, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// shot saves a screenshot of the whole page and logs where.
func (p *tab) shot(what string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("screenshot of %s (%s): %v", p.name, what, err)
		return
	}
	path := filepath.Join(shotDir(p.t), p.name+"-"+what+".png")
	require.NoError(p.t, os.WriteFile(path, png, 0o644))
	p.t.Logf("screenshot: %s", path)
}

// shotDir is where a test's screenshots go: its artifact directory under
// go test -artifacts (-outputdir), else a folder of the system's
// temporary directory that outlives the test, so the path logged can be
// opened.
func shotDir(t *testing.T) string {
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		return t.ArtifactDir()
	}
	dir := filepath.Join(os.TempDir(), "centralino-screenshots", strings.ReplaceAll(t.Name(), "/", "_"))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// login signs in on the login page as a person would, and lands on next.
func (p *tab) login(base, name, next string) {
	p.t.Helper()
	p.do(chromedp.Navigate(base+next), chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), name), chromedp.SendKeys(chromedp.CSS("#password"), secrets[name]+"\r"))
	p.waitFor("h1", map[string]string{"/desk": "Postazione operatore", "/wallboard": "Tabellone CUP"}[next], 5*time.Second)
}

// click presses a button.
func (p *tab) click(css string) {
	p.t.Helper()
	p.do(chromedp.WaitVisible(chromedp.CSS(css)), chromedp.Click(chromedp.CSS(css)))
}

// status is what the page's own fetch of path answers (its session); a
// redirect, whose status the browser hides from the page, is 303.
func (p *tab) status(path string) int {
	p.t.Helper()
	var code int
	p.eval(`fetch(`+quote(path)+`, {redirect: 'manual'}).then(r => { const s = r.type === 'opaqueredirect' ? 303 : r.status; r.body && r.body.cancel(); return s; })`, &code)
	return code
}
