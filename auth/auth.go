// Package auth is who may do what (SPEC §10): the credentials of agents,
// other booking channels, managers and the metrics scraper, each with its
// role; HTTP requests authenticated by HTTP Basic (name and secret) or by
// a page's session cookie; the role a route needs. Secrets are stored as
// bcrypt hashes in a credentials file named by the configuration (never in
// the configuration itself), and compared in constant time.
package auth

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Role decides what a credential may do.
type Role string

// Roles (SPEC §10).
const (
	// RoleAgent: its own state, the call in front of it, and the booking
	// operations for that caller. Its attribute is its phone.
	RoleAgent Role = "agent"
	// RoleChannel: another booking channel (a web portal, a counter, a
	// pharmacy): book, cancel, move with the citizen's identity. Its
	// attribute is the booking channel it books on.
	RoleChannel Role = "channel"
	// RoleManager: the wallboard, the report, the recalls, every agent.
	RoleManager Role = "manager"
	// RoleMetrics: the Prometheus scrape.
	RoleMetrics Role = "metrics"
)

func (r Role) valid() bool {
	return r == RoleAgent || r == RoleChannel || r == RoleManager || r == RoleMetrics
}

// Principal is who a request comes from.
type Principal struct {
	Role Role
	// Name is the credential's: an agent's id, a channel's or a manager's
	// name.
	Name string
	// Attr is the role's attribute: an agent's phone (PJSIP endpoint), a
	// channel's booking channel.
	Attr string
}

// credential is one line of the credentials file.
type credential struct {
	Principal
	hash []byte
}

// Credentials are the configured credentials, by name.
type Credentials struct {
	byName map[string]credential

	mu       sync.Mutex
	verified map[[32]byte]time.Time // sha256(name, secret) → until when a bcrypt check is not redone
}

// verifiedFor is how long a secret verified once is trusted without
// bcrypt again: an API client sends it with every request.
const verifiedFor = 5 * time.Minute

// Hash is the bcrypt hash a credentials line stores for secret.
func Hash(secret string) (string, error) {
	if len(secret) < 12 {
		return "", errors.New("a secret has at least 12 characters")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.DefaultCost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// NewSecret is a random secret for a credential (the one shown once, to
// give to its holder).
func NewSecret() string {
	var b [24]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Line is a credentials-file line for a principal and its secret's hash.
func Line(p Principal, hash string) string {
	return strings.TrimSpace(fmt.Sprintf("%s %s %s %s", p.Role, p.Name, hash, p.Attr))
}

// phone is an agent's desk: one PJSIP endpoint (never a URI to dial, such
// as PJSIP/carrier/sip:…), or a Local extension in a context (the
// sandbox's simulated phones), optionally with Local's /n.
var phone = regexp.MustCompile(`^(PJSIP/[A-Za-z0-9_.-]+|Local/[A-Za-z0-9_.+-]+@[A-Za-z0-9_-]+(/n)?)$`)

// ValidPhone tells whether attr names one desk an agent may be rung on.
func ValidPhone(attr string) bool { return phone.MatchString(attr) }

// Load reads a credentials file: one credential a line, "role name hash
// [attribute]", blank lines and # comments skipped. Every problem is
// reported with its line, never with a hash or a secret.
func Load(path string) (*Credentials, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads credentials as Load does (name is for the messages).
func Parse(r io.Reader, name string) (*Credentials, error) {
	c := &Credentials{byName: map[string]credential{}, verified: map[[32]byte]time.Time{}}
	sc := bufio.NewScanner(r)
	var errs []error
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 || len(f) > 4 {
			errs = append(errs, fmt.Errorf("%s:%d: want \"role name hash [attribute]\"", name, n))
			continue
		}
		cr := credential{Principal: Principal{Role: Role(f[0]), Name: f[1]}, hash: []byte(f[2])}
		if len(f) == 4 {
			cr.Attr = f[3]
		}
		switch {
		case !cr.Role.valid():
			errs = append(errs, fmt.Errorf("%s:%d: role %q must be agent, channel, manager or metrics", name, n, f[0]))
		case strings.ContainsAny(cr.Name, ":/"):
			errs = append(errs, fmt.Errorf("%s:%d: name %q has a ':' or '/'", name, n, cr.Name))
		case !strings.HasPrefix(f[2], "$2"):
			errs = append(errs, fmt.Errorf("%s:%d: the secret must be a bcrypt hash (centralinoctl credential), never the secret itself", name, n))
		case (cr.Role == RoleAgent || cr.Role == RoleChannel) && cr.Attr == "":
			errs = append(errs, fmt.Errorf("%s:%d: an %s needs its attribute (an agent's phone, a channel's booking channel)", name, n, cr.Role))
		case cr.Role == RoleAgent && !ValidPhone(cr.Attr):
			errs = append(errs, fmt.Errorf("%s:%d: agent %s's phone %q must be one desk: PJSIP/<endpoint>, or Local/<extension>@<context> (simulated phones)", name, n, cr.Name, cr.Attr))
		default:
			if _, dup := c.byName[cr.Name]; dup {
				errs = append(errs, fmt.Errorf("%s:%d: %q twice", name, n, cr.Name))
				continue
			}
			c.byName[cr.Name] = cr
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// dummy is compared against when the name is unknown, so that an unknown
// name takes as long as a wrong secret.
var dummy, _ = bcrypt.GenerateFromPassword([]byte("no such credential here"), bcrypt.DefaultCost)

// Authenticate checks a name and secret at now; ok=false for an unknown
// name or a wrong secret, alike.
func (c *Credentials) Authenticate(name, secret string, now time.Time) (Principal, bool) {
	cr, known := c.byName[name]
	sum := sha256.Sum256([]byte(name + "\x00" + secret))
	c.mu.Lock()
	until, seen := c.verified[sum]
	c.mu.Unlock()
	if known && seen && now.Before(until) {
		return cr.Principal, true
	}
	hash := dummy
	if known {
		hash = cr.hash
	}
	ok := bcrypt.CompareHashAndPassword(hash, []byte(secret)) == nil && known
	if !ok {
		return Principal{}, false
	}
	c.mu.Lock()
	c.verified[sum] = now.Add(verifiedFor)
	for k, t := range c.verified {
		if now.After(t) {
			delete(c.verified, k)
		}
	}
	c.mu.Unlock()
	return cr.Principal, true
}

// Lookup is a credential's principal by name (a session's holder, who may
// have been removed since).
func (c *Credentials) Lookup(name string) (Principal, bool) {
	cr, ok := c.byName[name]
	return cr.Principal, ok
}

// Phone is the phone configured for agent (ok=false: not an agent).
func (c *Credentials) Phone(agent string) (string, bool) {
	cr, ok := c.byName[agent]
	if !ok || cr.Role != RoleAgent {
		return "", false
	}
	return cr.Attr, true
}

// All lists the principals of a role.
func (c *Credentials) All(r Role) []Principal {
	var out []Principal
	for _, cr := range c.byName {
		if cr.Role == r {
			out = append(out, cr.Principal)
		}
	}
	return out
}

type ctxKey struct{}

// With is ctx carrying who asks.
func With(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// From is who asks, set by the middleware.
func From(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}
