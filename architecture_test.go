// The architecture, as a test: the arrows between the project's packages
// that the README's Architecture section allows, read from the import
// graph (go list), tests included. A change to this table is a change of
// architecture: it needs a reason written in the README.
package centralino_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/centralino-cup/centralino"

// leaves are the small packages where a concern has no other home: they
// import no domain package, only other leaves.
var leaves = []string{"clock", "startstop", "pii", "phone", "hours", "prompts", "postgres", "calls", "config", "auth"}

// allowed maps each component (a top-level folder and everything under
// it) to the components it may import, on top of the leaves (which leaf
// imports which is in leafAllowed). A component always imports itself.
var allowed = map[string][]string{
	// Asterisk is reached through asterisk alone; it knows no domain.
	"asterisk": {},
	// The booking core is called by everyone and calls no one.
	"booking": {},
	// The queue drives Asterisk; the IVR, the recall and SMS come to it,
	// never the reverse (it declares what it needs of them). callsim
	// plays citizens and agents in its end-to-end tests.
	"queue": {"asterisk", "callsim"},
	// SMS is written inside booking transactions; it knows neither the
	// IVR nor the queue.
	"sms": {"booking"},
	// The recall dialler reserves agents in the queue, dials through
	// asterisk, sends SMS; the IVR only asks it for recalls.
	"recall": {"queue", "asterisk", "sms", "booking", "callsim"},
	// The IVR is the top of the call flow.
	"ivr": {"asterisk", "booking", "queue", "recall", "sms", "callsim"},
	// The simulator of citizens and agents, for tests and benchmarks.
	"callsim": {"asterisk"},
	// What managers read: it reads the call records and the recall
	// requests with its own SQL; no domain package reaches it.
	"report": {},
	// The pages agents and managers see: they read the queue's shared
	// state, the booking core (the screen-pop), the recalls and the
	// report's figures; only app wires them.
	"pages": {"queue", "booking", "recall", "report"},
	// The wiring of the daemon, and the binaries (app's tests read the
	// report of the calls they place).
	"app": {"asterisk", "booking", "queue", "recall", "sms", "ivr", "callsim", "report", "pages"},
	// The demo drives the assembled daemon with simulated citizens and
	// agents, and reads its report.
	"demo": {"app", "asterisk", "booking", "sms", "ivr", "callsim", "report"},
	"cmd":  {"asterisk", "booking", "queue", "recall", "sms", "ivr", "callsim", "app", "report", "pages", "demo"},
}

// leafAllowed is what a leaf may import of the other leaves.
var leafAllowed = map[string][]string{
	"calls":  {"postgres"},
	"config": {"hours", "pii"},
	"auth":   {"clock"},
}

// The libraries only one place may import.
const (
	ariLibrary    = "github.com/CyCoreSystems/ari/v5"
	twilioLibrary = "github.com/twilio/twilio-go"
	twilioFile    = "sms/twilio.go"
)

type pkg struct {
	ImportPath, Dir                    string
	Imports, TestImports, XTestImports []string
	GoFiles, TestGoFiles, XTestGoFiles []string
	Error                              *struct{ Err string }
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-e", "-json", "./...").Output()
	require(t, err == nil, "go list: %v", err)
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list: %v", err)
		}
		require(t, p.Error == nil, "go list: %s: %v", p.ImportPath, p.Error)
		pkgs = append(pkgs, p)
	}
	require(t, len(pkgs) > 10, "go list found %d packages", len(pkgs))
	return pkgs
}

func require(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Fatalf(format, args...)
	}
}

// component is the top-level folder of a package of the module ("" for
// an outside package).
func component(path string) string {
	rest, ok := strings.CutPrefix(path, module+"/")
	if !ok {
		return ""
	}
	c, _, _ := strings.Cut(rest, "/")
	return c
}

// may reports whether component from may import component to.
func may(from, to string) bool {
	if from == to {
		return true
	}
	if slices.Contains(leaves, from) {
		return slices.Contains(leafAllowed[from], to)
	}
	return slices.Contains(leaves, to) || slices.Contains(allowed[from], to)
}

func (p pkg) allImports() []string {
	return slices.Concat(p.Imports, p.TestImports, p.XTestImports)
}

func TestArchitecture(t *testing.T) {
	t.Parallel()
	pkgs := listPackages(t)
	for _, p := range pkgs {
		if p.ImportPath == module {
			continue // this test
		}
		from := component(p.ImportPath)
		_, known := allowed[from]
		require(t, known || slices.Contains(leaves, from),
			"%s is in no component of the architecture: add it to allowed (and to the README's Architecture section)", p.ImportPath)
		for _, imp := range p.allImports() {
			to := component(imp)
			if to != "" && !may(from, to) {
				t.Errorf("%s imports %s: %s may not import %s (README, Architecture)", p.ImportPath, imp, from, to)
			}
			if strings.HasPrefix(imp, ariLibrary) && from != "asterisk" {
				t.Errorf("%s imports the ARI library: only asterisk does", p.ImportPath)
			}
		}
	}
}

// Only one file of sms speaks to Twilio.
func TestOneFileImportsTwilio(t *testing.T) {
	t.Parallel()
	var importers []string
	fset := token.NewFileSet()
	for _, p := range listPackages(t) {
		for _, name := range slices.Concat(p.GoFiles, p.TestGoFiles, p.XTestGoFiles) {
			path := filepath.Join(p.Dir, name)
			f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
			require(t, err == nil, "parsing %s: %v", path, err)
			for _, s := range f.Imports {
				if strings.HasPrefix(strings.Trim(s.Path.Value, `"`), twilioLibrary) {
					rel := strings.TrimPrefix(p.ImportPath, module+"/") + "/" + name
					if !slices.Contains(importers, rel) {
						importers = append(importers, rel)
					}
				}
			}
		}
	}
	if !slices.Equal(importers, []string{twilioFile}) {
		t.Errorf("twilio-go is imported by %v; only %s may", importers, twilioFile)
	}
}
