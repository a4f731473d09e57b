package sipua

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// SIPp is Debian's sip-tester.
const SIPp = "sipp"

// Captures is where sip-tester keeps its RTP captures: RFC 2833 DTMF
// (dtmf_2833_<digit>.pcap) and an A-law sample (g711a.pcap).
const Captures = "/usr/share/sip-tester"

// Scenario is a SIPp run: an XML scenario and the port it uses.
type Scenario struct {
	// XML is the scenario (SIPp's [keywords] are filled in by SIPp).
	XML string
	// Port is the local SIP port (0: a free one); Server calls it for a
	// scenario that receives (a citizen a recall calls back).
	Port int
	// Args are more of SIPp's options (e.g. "-s", "800466222").
	Args []string
}

// Run is a running scenario.
type Run struct {
	t    testing.TB
	dir  string
	cmd  *exec.Cmd
	done chan error
}

// StartSIPp starts a scenario for one call, towards Server, and returns
// at once; Wait says how it ended.
func StartSIPp(t testing.TB, s Scenario) *Run {
	t.Helper()
	if _, err := exec.LookPath(SIPp); err != nil {
		t.Fatal(errNoSIPp)
	}
	r := &Run{t: t, dir: t.TempDir(), done: make(chan error, 1)}
	if s.Port == 0 {
		s.Port = freePort(t, true)
	}
	file := filepath.Join(r.dir, "scenario.xml")
	must(t, os.WriteFile(file, []byte(s.XML), 0o600))
	args := append([]string{"-sf", file, "-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", strconv.Itoa(s.Port),
		"-mp", strconv.Itoa(freePort(t, false)), "-ci", "127.0.0.1", "-cp", strconv.Itoa(freePort(t, false)), "-m", "1", "-nostdin", "-timeout", "60s", "-timeout_error",
		"-trace_err", "-error_file", filepath.Join(r.dir, "errors.log"),
		"-trace_msg", "-message_file", filepath.Join(r.dir, "messages.log")}, s.Args...)
	args = append(args, Server)
	r.cmd = exec.Command(SIPp, args...)
	r.cmd.Dir = r.dir
	out, err := os.Create(filepath.Join(r.dir, "sipp.out"))
	must(t, err)
	r.cmd.Stdout, r.cmd.Stderr = out, out
	must(t, r.cmd.Start())
	go func() {
		err := r.cmd.Wait()
		out.Close()
		r.done <- err
	}()
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			_ = r.cmd.Process.Kill()
		}
	})
	return r
}

// Wait waits for the scenario's end: nil when its call passed every step
// (a check_it regexp that fails fails the call).
func (r *Run) Wait(ctx context.Context) error {
	select {
	case err := <-r.done:
		if err != nil {
			return fmt.Errorf("sipp: %w\n%s", err, r.Log())
		}
		return nil
	case <-ctx.Done():
		_ = r.cmd.Process.Kill()
		return fmt.Errorf("sipp did not end: %w\n%s", ctx.Err(), r.Log())
	}
}

// Log is what SIPp wrote: its errors and the SIP messages it exchanged.
func (r *Run) Log() string {
	var s string
	for _, f := range []string{"errors.log", "messages.log"} {
		if b, err := os.ReadFile(filepath.Join(r.dir, f)); err == nil {
			s += "--- " + f + "\n" + tail(string(b), 4000) + "\n"
		}
	}
	return s
}
