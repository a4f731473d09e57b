// Package sipua runs real SIP user agents against the sandbox's Asterisk,
// for tests: baresip as a phone (an agent's desk registering with digest
// auth, or a citizen calling the numero verde and keying RFC 4733 DTMF),
// driven through its TCP control interface; and SIPp scenarios, for what
// only raw SIP can show (the headers a call carries). Both bind loopback
// only.
package sipua

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is the sandbox's SIP address (deploy/asterisk/pjsip_site.conf).
const Server = "127.0.0.1:5060"

// NumeroVerde is the DID the carrier trunk delivers.
const NumeroVerde = "800466222"

// PhoneConfig is one baresip phone.
type PhoneConfig struct {
	// User is the phone's SIP user: a desk's endpoint ("agent101"), or a
	// citizen's number ("3471234567", sent in From as a carrier would).
	User string
	// Password is the desk's digest password; with it the phone
	// registers (every minute) to Server.
	Password string
	// AutoAnswer answers incoming calls at once (a desk whose agent
	// picks up).
	AutoAnswer bool
}

// Event is one of baresip's events (CALL_ESTABLISHED, REGISTER_OK, ...).
type Event struct {
	Type  string `json:"type"`
	Class string `json:"class"`
	Peer  string `json:"peeruri"`
	ID    string `json:"id"`
	Param string `json:"param"`
}

// Phone is a running baresip.
type Phone struct {
	t    testing.TB
	cfg  PhoneConfig
	dir  string
	cmd  *exec.Cmd
	conn net.Conn
	exit chan struct{} // closed when the process has exited

	send sync.Mutex // one command at a time
	mu   sync.Mutex
	seen []Event
	more chan struct{}
	resp chan response
}

type response struct {
	OK   bool   `json:"ok"`
	Data string `json:"data"`
}

// Baresip is the binary (Debian's baresip-core).
const Baresip = "baresip"

// StartPhone starts a phone and waits until it takes commands (and, with
// a password, until it is registered). It is stopped when the test ends.
func StartPhone(t testing.TB, cfg PhoneConfig) *Phone {
	t.Helper()
	if _, err := exec.LookPath(Baresip); err != nil {
		t.Fatalf("baresip not installed (run make setup: scripts/setup.sh installs baresip-core): %v", err)
	}
	var p *Phone
	for try := 1; ; try++ {
		var err error
		if p, err = launch(t, cfg); err == nil {
			break
		} else if try == 3 {
			t.Fatal(err)
		}
		// A port taken between its choice and baresip's bind: again,
		// with others.
	}
	go p.read()
	if cfg.Password != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.registered(ctx); err != nil {
			t.Fatalf("desk %s did not register: %v", cfg.User, err)
		}
	}
	return p
}

// launch starts baresip and connects to its control port; an error when
// it exits at start.
func launch(t testing.TB, cfg PhoneConfig) (*Phone, error) {
	t.Helper()
	p := &Phone{t: t, cfg: cfg, dir: t.TempDir(), exit: make(chan struct{}), more: make(chan struct{}, 1), resp: make(chan response, 1)}
	// baresip listens for SIP on UDP and TCP at the port, and TLS at the
	// next one.
	sip, ctrl := sipPort(t), freePort(t, false)
	account := fmt.Sprintf("<sip:%s@%s>;regint=0;audio_codecs=PCMA", cfg.User, Server)
	if cfg.Password != "" {
		account = fmt.Sprintf("<sip:%s@%s>;auth_pass=%s;regint=60;audio_codecs=PCMA", cfg.User, Server, cfg.Password)
	}
	if cfg.AutoAnswer {
		account += ";answermode=auto"
	}
	config := strings.Join([]string{
		"poll_method epoll",
		"net_interface 127.0.0.1",
		"sip_listen 127.0.0.1:" + strconv.Itoa(sip),
		"rtp_ports 40000-49999",
		// A steady tone: the phone sends RTP all through the call, as a
		// real one does (its microphone).
		"audio_source ausine,440",
		"ausrc_srate 48000",
		"ausrc_channels 2",
		"audio_player aubridge,speaker",
		"audio_alert aubridge,alert",
		"statmode_default off",
		"module_path /usr/lib/baresip/modules",
		"module g711.so",
		"module ausine.so",
		"module aubridge.so",
		"module_app account.so",
		"module_app menu.so",
		"module_app ctrl_tcp.so",
		"ctrl_tcp_listen 127.0.0.1:" + strconv.Itoa(ctrl),
		"",
	}, "\n")
	must(t, os.WriteFile(filepath.Join(p.dir, "config"), []byte(config), 0o600))
	must(t, os.WriteFile(filepath.Join(p.dir, "accounts"), []byte(account+"\n"), 0o600))
	logf, err := os.Create(filepath.Join(p.dir, "baresip.log"))
	must(t, err)
	p.cmd = exec.Command(Baresip, "-f", p.dir)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	must(t, p.cmd.Start())
	go func() {
		p.cmd.Wait()
		logf.Close()
		close(p.exit)
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(p.dir, "baresip.log"))
			t.Logf("baresip %s:\n%s", cfg.User, tail(string(b), 3000))
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for p.conn == nil {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(ctrl))
		if err == nil {
			p.conn = c
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip %s: control port never opened: %v", cfg.User, err)
		}
		select {
		case <-p.exit:
			b, _ := os.ReadFile(filepath.Join(p.dir, "baresip.log"))
			return nil, fmt.Errorf("baresip %s exited at start:\n%s", cfg.User, tail(string(b), 1000))
		case <-time.After(50 * time.Millisecond):
		}
	}
	return p, nil
}

// registered waits until the phone's registration is accepted (asked with
// reginfo: the REGISTER_OK event may come before the control connection).
func (p *Phone) registered(ctx context.Context) error {
	for {
		info, err := p.Command(ctx, "reginfo", "")
		if err != nil {
			return err
		}
		if strings.Contains(info, "OK") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not registered: %q: %w", info, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// read keeps baresip's events and hands its command replies over. Its
// messages are netstrings ("len:json,").
func (p *Phone) read() {
	r := bufio.NewReader(p.conn)
	for {
		n, err := r.ReadString(':')
		if err != nil {
			return
		}
		size, err := strconv.Atoi(n[:len(n)-1])
		if err != nil {
			return
		}
		msg := make([]byte, size+1)
		if _, err := io.ReadFull(r, msg); err != nil {
			return
		}
		var head struct{ Event, Response bool }
		if json.Unmarshal(msg[:size], &head) != nil {
			continue
		}
		switch {
		case head.Response:
			var rsp response
			_ = json.Unmarshal(msg[:size], &rsp)
			p.resp <- rsp
		case head.Event:
			var e Event
			if json.Unmarshal(msg[:size], &e) == nil {
				p.mu.Lock()
				p.seen = append(p.seen, e)
				p.mu.Unlock()
				select {
				case p.more <- struct{}{}:
				default:
				}
			}
		}
	}
}

// Command sends one of baresip's commands ("dial", "hangup", "sndcode",
// ...), waits for its reply and returns what it printed.
func (p *Phone) Command(ctx context.Context, command, params string) (string, error) {
	p.send.Lock()
	defer p.send.Unlock()
	b, err := json.Marshal(map[string]string{"command": command, "params": params, "token": command})
	if err != nil {
		return "", err
	}
	if _, err := fmt.Fprintf(p.conn, "%d:%s,", len(b), b); err != nil {
		return "", fmt.Errorf("baresip %s: %s: %w", p.cfg.User, command, err)
	}
	select {
	case r := <-p.resp:
		if !r.OK {
			return "", fmt.Errorf("baresip %s: %s refused: %s", p.cfg.User, command, r.Data)
		}
		return r.Data, nil
	case <-p.exit:
		return "", fmt.Errorf("baresip %s has exited", p.cfg.User)
	case <-ctx.Done():
		return "", fmt.Errorf("baresip %s: %s: %w", p.cfg.User, command, ctx.Err())
	}
}

// Dial calls a SIP URI (the numero verde: "sip:800466222@127.0.0.1:5060").
func (p *Phone) Dial(ctx context.Context, uri string) error {
	_, err := p.Command(ctx, "dial", uri)
	return err
}

// Hangup ends the phone's call with a BYE.
func (p *Phone) Hangup(ctx context.Context) error {
	_, err := p.Command(ctx, "hangup", "")
	return err
}

// SendDTMF keys digits as RFC 4733 events, one every length+gap (the
// phone decides how long each event lasts).
func (p *Phone) SendDTMF(ctx context.Context, keys string, length, gap time.Duration) error {
	for i, k := range keys {
		if i > 0 {
			select {
			case <-time.After(length + gap):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if _, err := p.Command(ctx, "sndcode", string(k)); err != nil {
			return err
		}
	}
	return nil
}

// Wait waits for an event of this type, counting from the n-th event seen
// (0: any), and returns its index.
func (p *Phone) Wait(ctx context.Context, typ string, from int) (int, error) {
	for {
		p.mu.Lock()
		for i := from; i < len(p.seen); i++ {
			if p.seen[i].Type == typ {
				p.mu.Unlock()
				return i, nil
			}
		}
		p.mu.Unlock()
		select {
		case <-p.more:
		case <-p.exit:
			return -1, fmt.Errorf("baresip %s exited before %s (events %v)", p.cfg.User, typ, p.types())
		case <-ctx.Done():
			return -1, fmt.Errorf("baresip %s: no %s (events %v): %w", p.cfg.User, typ, p.types(), ctx.Err())
		}
	}
}

// Events are the events seen so far.
func (p *Phone) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.seen...)
}

func (p *Phone) types() []string {
	var out []string
	for _, e := range p.Events() {
		if e.Type != "CALL_RTCP" {
			out = append(out, e.Type)
		}
	}
	return out
}

// Vanish kills the phone at once: no BYE, no more RTP, no
// unregistration (a phone that lost its network or its power).
func (p *Phone) Vanish() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.exit
}

// Stop quits the phone cleanly: its call is hung up and a desk
// unregisters.
func (p *Phone) Stop() {
	select {
	case <-p.exit:
		return
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if p.conn != nil {
		_, _ = p.Command(ctx, "quit", "")
	}
	select {
	case <-p.exit:
	case <-time.After(3 * time.Second):
		p.Vanish()
	}
	if p.conn != nil {
		p.conn.Close()
	}
}

// sipPort is a loopback port free now for UDP and TCP, whose next port is
// free for TCP too.
func sipPort(t testing.TB) int {
	t.Helper()
	for range 50 {
		p := freePort(t, true)
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1)); err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no free loopback port pair")
	return 0
}

// freePort is a loopback port free now, for UDP and TCP alike when both
// is set (baresip listens for SIP on both).
func freePort(t testing.TB, both bool) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		must(t, err)
		port := l.Addr().(*net.TCPAddr).Port
		if !both {
			l.Close()
			return port
		}
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free loopback port")
	return 0
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

var errNoSIPp = errors.New("sipp not installed (run make setup: scripts/setup.sh installs sip-tester)")
