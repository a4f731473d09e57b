// What deploy/ ships for Prometheus and Grafana, checked the way
// Prometheus would read it: the rules and the scrape example by promtool,
// the alerts' unit tests by promtool, every dashboard panel's expression
// parsed by promtool, and every metric they name defined by the daemon
// (or recorded by the rules) and written down in docs/metrics.md.
package centralino_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const (
	rulesFile     = "deploy/prometheus/centralino.rules.yml"
	scrapeFile    = "deploy/prometheus/prometheus.yml"
	ruleTestsFile = "deploy/prometheus/tests/centralino.test.yml"
	dashboardFile = "deploy/grafana/centralino.json"
	metricsDoc    = "docs/metrics.md"
)

// promtool runs Debian's promtool (package prometheus, which
// scripts/setup.sh installs) in dir and returns its output; a failure
// fails the test. Without promtool a -short run skips, any other fails.
func promtool(t *testing.T, dir string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if testing.Short() {
			t.Skip("promtool not installed (apt-get install prometheus, or make setup)")
		}
		t.Fatal("promtool not installed: run make setup (scripts/setup.sh installs Debian's prometheus)")
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require(t, err == nil, "promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	return string(out)
}

// rules is the part of a Prometheus rule file the checks read.
type rules struct {
	Groups []struct {
		Name  string
		Rules []struct {
			Record, Alert, Expr string
		}
	}
}

func readRules(t *testing.T) rules {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	require(t, err == nil, "reading %s: %v", rulesFile, err)
	var r rules
	require(t, yaml.Unmarshal(b, &r) == nil, "parsing %s", rulesFile)
	return r
}

func (r rules) recorded() []string {
	var names []string
	for _, g := range r.Groups {
		for _, rule := range g.Rules {
			if rule.Record != "" {
				names = append(names, rule.Record)
			}
		}
	}
	return names
}

// The rules and the scrape example are valid for Prometheus; the alerts'
// unit tests pass.
func TestPrometheusRules(t *testing.T) {
	t.Parallel()
	out := promtool(t, ".", "check", "rules", rulesFile)
	require(t, strings.Contains(out, "SUCCESS"), "promtool check rules: %s", out)
	promtool(t, filepath.Dir(scrapeFile), "check", "config", filepath.Base(scrapeFile))
	out = promtool(t, filepath.Dir(rulesFile), "test", "rules", strings.TrimPrefix(ruleTestsFile, filepath.Dir(rulesFile)+"/"))
	require(t, strings.Contains(out, "SUCCESS"), "promtool test rules: %s", out)
	var alerts []string
	for _, g := range readRules(t).Groups {
		for _, rule := range g.Rules {
			if rule.Alert != "" {
				alerts = append(alerts, rule.Alert)
			}
		}
	}
	// The alerts, each present.
	for _, a := range []string{"CentralinoServiceLevelLow", "CentralinoAbandonmentHigh", "CentralinoRecallBacklog", "CentralinoRecallTooOld",
		"CentralinoSMSFailing", "CentralinoARIDisconnected", "CentralinoNoAgentAvailable", "CentralinoEventsDropped"} {
		require(t, slices.Contains(alerts, a), "alert %s missing from %s", a, rulesFile)
	}
}

// dashboard is the part of a Grafana dashboard the checks read.
type dashboard struct {
	Title  string
	Panels []struct {
		Title   string
		Targets []struct{ Expr string }
	}
}

// dashboardExprs are the dashboard's panel expressions, with Grafana's
// variables given a value.
func dashboardExprs(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	require(t, err == nil, "reading %s: %v", dashboardFile, err)
	var d dashboard
	require(t, json.Unmarshal(b, &d) == nil, "%s is not JSON", dashboardFile)
	require(t, len(d.Panels) > 0, "no panels")
	vars := strings.NewReplacer("${job}", "centralino", "$job", "centralino")
	exprs := map[string][]string{}
	for _, p := range d.Panels {
		require(t, len(p.Targets) > 0, "panel %q has no query", p.Title)
		for _, tg := range p.Targets {
			require(t, strings.TrimSpace(tg.Expr) != "", "panel %q has an empty query", p.Title)
			exprs[p.Title] = append(exprs[p.Title], vars.Replace(tg.Expr))
		}
	}
	return exprs
}

// Every panel of the dashboard has a query promtool parses (as a
// recording rule), and the panels the issue asks for are there.
func TestDashboard(t *testing.T) {
	t.Parallel()
	exprs := dashboardExprs(t)
	var file strings.Builder
	file.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	n := 0
	for _, title := range slices.Sorted(maps.Keys(exprs)) {
		for _, e := range exprs[title] {
			n++
			q, _ := json.Marshal(e) // a JSON string is a YAML string
			fmt.Fprintf(&file, "      # %s\n      - record: dashboard:panel_%d\n        expr: %s\n", title, n, q)
		}
	}
	path := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	require(t, os.WriteFile(path, []byte(file.String()), 0o600) == nil, "writing %s", path)
	out := promtool(t, ".", "check", "rules", path)
	require(t, strings.Contains(out, fmt.Sprintf("SUCCESS: %d rules found", n)), "promtool check rules on the dashboard: %s", out)
	all := strings.Join(slices.Concat(slices.Collect(maps.Values(exprs))...), "\n")
	for _, metric := range []string{"service_level_30s", "service_level_60s", "centralino_queue_waiting_calls", "centralino_queue_longest_wait_seconds",
		"centralino_queue_agents", "centralino_recalls_pending", "oldest_pending_seconds", "centralino_sms_", "centralino_ari_connected"} {
		require(t, strings.Contains(all, metric), "the dashboard shows nothing of %s", metric)
	}
}

// metricToken finds the metric names in an expression (a recording
// rule's name has colons).
var metricToken = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)

// definedMetrics are the centralino_ metrics the daemon's code declares.
func definedMetrics(t *testing.T) []string {
	t.Helper()
	decl := regexp.MustCompile(`Name:\s*"(centralino_[a-z0-9_]+)"`)
	var names []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "deploy") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range decl.FindAllStringSubmatch(string(b), -1) {
				names = append(names, m[1])
			}
		}
		return nil
	})
	require(t, err == nil, "reading the code: %v", err)
	require(t, len(names) > 20, "found %d metrics", len(names))
	return names
}

// Every metric the rules and the dashboard name exists: declared by the
// daemon (a histogram's _bucket, _sum, _count too) or recorded by the
// rules. promtool cannot tell a misspelt metric from one with no data.
func TestDeployNamesExistingMetrics(t *testing.T) {
	t.Parallel()
	defined := definedMetrics(t)
	r := readRules(t)
	recorded := r.recorded()
	exprs := map[string][]string{}
	for _, g := range r.Groups {
		for _, rule := range g.Rules {
			exprs[rulesFile] = append(exprs[rulesFile], rule.Expr)
		}
	}
	for title, es := range dashboardExprs(t) {
		exprs[dashboardFile+": "+title] = es
	}
	for where, es := range exprs {
		for _, e := range es {
			for _, tok := range metricToken.FindAllString(e, -1) {
				switch {
				case strings.Contains(tok, ":"):
					require(t, slices.Contains(recorded, tok), "%s: %s is recorded by no rule", where, tok)
				case strings.HasPrefix(tok, "centralino_"):
					base := tok
					for _, suffix := range []string{"_bucket", "_sum", "_count"} {
						if b, ok := strings.CutSuffix(tok, suffix); ok && slices.Contains(defined, b) {
							base = b
						}
					}
					require(t, slices.Contains(defined, base), "%s: %s is no metric of the daemon", where, tok)
				}
			}
		}
	}
}

// docs/metrics.md is the one place the definitions are written: it names
// every metric, quotes every recording rule's PromQL as the rules file
// has it, and every statement of the report's SQL.
func TestMetricsDocumented(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(metricsDoc)
	require(t, err == nil, "reading %s: %v", metricsDoc, err)
	squash := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	doc := squash(string(b))
	for _, m := range definedMetrics(t) {
		require(t, strings.Contains(doc, m), "%s does not describe %s", metricsDoc, m)
	}
	for _, g := range readRules(t).Groups {
		for _, rule := range g.Rules {
			if rule.Record != "" {
				require(t, strings.Contains(doc, squash(rule.Expr)), "%s does not quote %s as %s has it:\n%s", metricsDoc, rule.Record, rulesFile, rule.Expr)
			}
		}
	}
	for _, q := range []string{"figures", "recalls", "half_hours", "handle_time"} {
		require(t, strings.Contains(doc, "report/queries/"+q+".sql"), "%s does not point at report/queries/%s.sql", metricsDoc, q)
	}
}
