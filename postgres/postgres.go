package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLockID is the advisory lock key taken while migrating: the same
// number for every instance, unlikely to collide with anything else.
const migrationLockID = 0x63656e7472616c // "central"

// Open connects a pool and checks the server answers.
func Open(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parsing database url: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to postgres: %w", err)
	}
	return pool, nil
}

// Migrate applies every pending migration. It holds a session-level
// advisory lock for the whole run, so concurrent callers (two daemons, or a
// daemon and centralinoctl) apply each migration once.
func Migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	return migrate(ctx, db, log)
}

func migrate(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID))
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("applying migrations: %w", err)
	}
	for _, r := range results {
		log.Info("migration applied", "version", r.Source.Version, "took", r.Duration)
	}
	return nil
}

// SchemaHash identifies the embedded migrations' content: test templates
// are keyed by it, so editing a migration never leaves a stale template.
func SchemaHash() string {
	h := sha256.New()
	entries, _ := fs.ReadDir(migrations, "migrations")
	for _, e := range entries {
		b, _ := fs.ReadFile(migrations, "migrations/"+e.Name())
		h.Write([]byte(e.Name()))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Code classifies a database error for the domain stores.
type Code int

// Codes the stores branch on.
const (
	CodeOther Code = iota
	CodeNotFound
	CodeUniqueViolation
	CodeForeignKeyViolation
	CodeCheckViolation
	CodeSerialization
)

// Classified is a database error with its class and, for constraint
// violations, the constraint's name.
type Classified struct {
	Code       Code
	Constraint string
	Err        error
}

func (e *Classified) Error() string { return e.Err.Error() }
func (e *Classified) Unwrap() error { return e.Err }

// Classify tells what kind of database error err is. It returns nil for nil.
func Classify(err error) *Classified {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &Classified{Code: CodeNotFound, Err: err}
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return &Classified{Code: CodeOther, Err: err}
	}
	c := &Classified{Code: CodeOther, Constraint: pgErr.ConstraintName, Err: err}
	switch pgErr.Code {
	case "23505":
		c.Code = CodeUniqueViolation
	case "23503":
		c.Code = CodeForeignKeyViolation
	case "23514":
		c.Code = CodeCheckViolation
	case "40001", "40P01":
		c.Code = CodeSerialization
	}
	return c
}

// IsUnique reports whether err violates the named unique constraint or
// index.
func IsUnique(err error, constraint string) bool {
	c := Classify(err)
	return c != nil && c.Code == CodeUniqueViolation && c.Constraint == constraint
}

// IsNotFound reports whether err is "no rows".
func IsNotFound(err error) bool {
	c := Classify(err)
	return c != nil && c.Code == CodeNotFound
}

// EnsureDatabase creates the named database on the server of adminURL when
// it does not exist, and returns adminURL pointed at it. Benchmarks use it
// for scratch databases that never touch the configured one.
func EnsureDatabase(ctx context.Context, adminURL, name string) (string, error) {
	cfg, err := pgx.ParseConfig(adminURL)
	if err != nil {
		return "", fmt.Errorf("parsing database url: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", fmt.Errorf("connecting to postgres: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "select exists(select 1 from pg_database where datname = $1)", name).Scan(&exists); err != nil {
		return "", fmt.Errorf("looking up database %s: %w", name, err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "create database "+pgx.Identifier{name}.Sanitize()); err != nil {
			return "", fmt.Errorf("creating database %s: %w", name, err)
		}
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", fmt.Errorf("parsing database url: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}
