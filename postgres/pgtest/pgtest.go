// Package pgtest gives each test its own real PostgreSQL database, cloned
// from a migrated template, so tests that must commit (races, restarts)
// never see each other's rows. Tests that can run in one rolled-back
// transaction use Tx instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/centralino-cup/centralino/postgres"
)

// DefaultURL is the test server used when CENTRALINO_TEST_DATABASE_URL is
// not set: the role and database scripts/setup.sh creates.
const DefaultURL = "postgres://centralino:centralino@127.0.0.1:5432/centralino_test?sslmode=disable"

// templatePrefix names the migrated databases test databases are cloned
// from; the suffix is the migrations' hash, so a changed migration makes a
// new template, and the old ones are dropped once unused for a day.
const templatePrefix = "centralino_tmpl_"

var templateName = templatePrefix + postgres.SchemaHash()

var (
	templateOnce sync.Once
	templateErr  error
)

// BaseURL is the URL of the test server's maintenance database.
func BaseURL() string {
	if u := os.Getenv("CENTRALINO_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(fmt.Sprintf("pgtest: bad base url: %v", err))
	}
	u.Path = "/" + name
	return u.String()
}

// lockTemplate serialises template (re)creation across test binaries that
// run in parallel (go test -p): an advisory lock on the maintenance database.
const templateLockID = 0x7067746d706c // "pgtmpl"

func ensureTemplate(ctx context.Context) error {
	admin, err := pgx.Connect(ctx, BaseURL())
	if err != nil {
		return fmt.Errorf("pgtest: PostgreSQL not reachable (run `make setup`): %w", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "select pg_advisory_lock($1)", templateLockID); err != nil {
		return err
	}
	defer admin.Exec(ctx, "select pg_advisory_unlock($1)", templateLockID) //nolint:errcheck
	var exists bool
	if err := admin.QueryRow(ctx, "select exists(select 1 from pg_database where datname=$1)", templateName).Scan(&exists); err != nil {
		return err
	}
	if err := dropStale(ctx, admin); err != nil {
		return err
	}
	if !exists {
		if _, err := admin.Exec(ctx, "create database "+templateName); err != nil {
			return fmt.Errorf("pgtest: creating template: %w", err)
		}
	}
	// The comment is when the template was last used: another checkout
	// (a branch with other migrations) keeps its own while it is in use.
	if _, err := admin.Exec(ctx, fmt.Sprintf("comment on database %s is '%d'", templateName, time.Now().Unix())); err != nil {
		return err
	}
	pool, err := postgres.Open(ctx, withDatabase(BaseURL(), templateName), 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	return postgres.Migrate(ctx, pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// staleAfter is how long a template of other migrations is kept unused.
const staleAfter = 24 * time.Hour

// dropStale drops the templates of other migrations not used for a day.
func dropStale(ctx context.Context, admin *pgx.Conn) error {
	rows, err := admin.Query(ctx, `select datname, coalesce(shobj_description(oid, 'pg_database'), '') from pg_database
		where datname like $1 and datname <> $2`, templatePrefix+"%", templateName)
	if err != nil {
		return err
	}
	type template struct{ Name, Used string }
	others, err := pgx.CollectRows(rows, pgx.RowToStructByPos[template])
	if err != nil {
		return err
	}
	for _, o := range others {
		used, err := strconv.ParseInt(o.Used, 10, 64)
		if err == nil && time.Since(time.Unix(used, 0)) < staleAfter {
			continue
		}
		if _, err := admin.Exec(ctx, "drop database if exists "+pgx.Identifier{o.Name}.Sanitize()+" with (force)"); err != nil {
			return fmt.Errorf("pgtest: dropping stale template: %w", err)
		}
	}
	return nil
}

// NewDB creates a fresh, migrated database for this test and drops it when
// the test ends. It fails the test when PostgreSQL is unreachable: the
// project's tests run against the real server (make setup starts it).
func NewDB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	templateOnce.Do(func() { templateErr = ensureTemplate(ctx) })
	if templateErr != nil {
		t.Fatalf("pgtest: %v", templateErr)
	}
	name := "t_" + randomSuffix()
	admin, err := pgx.Connect(ctx, BaseURL())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer admin.Close(ctx)
	// The template must have no other session while it is cloned: the
	// advisory lock keeps a concurrent re-migration out.
	if _, err := admin.Exec(ctx, "select pg_advisory_lock($1)", templateLockID); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	_, err = admin.Exec(ctx, fmt.Sprintf("create database %s template %s", name, templateName))
	admin.Exec(ctx, "select pg_advisory_unlock($1)", templateLockID) //nolint:errcheck
	if err != nil {
		t.Fatalf("pgtest: creating test database: %v", err)
	}
	pool, err := postgres.Open(ctx, withDatabase(BaseURL(), name), 0)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		c, err := pgx.Connect(context.Background(), BaseURL())
		if err != nil {
			t.Errorf("pgtest: dropping %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), fmt.Sprintf("drop database if exists %s with (force)", name)); err != nil {
			t.Errorf("pgtest: dropping %s: %v", name, err)
		}
	})
	return pool
}

// URL returns the connection string of a database made by NewDB, for code
// under test that opens its own pool.
func URL(pool *pgxpool.Pool) string {
	return withDatabase(BaseURL(), pool.Config().ConnConfig.Database)
}

func randomSuffix() string {
	var b [6]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}
