package postgres_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/postgres"
	"github.com/centralino-cup/centralino/postgres/pgtest"
)

func TestMigrateConcurrentInstancesApplyOnce(t *testing.T) {
	t.Parallel()
	// A fresh database migrated by four "instances" at once: the advisory
	// lock makes one apply and the others find nothing pending.
	pool := pgtest.NewDB(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, "drop schema public cascade; create schema public")
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := postgres.Open(ctx, pgtest.URL(pool), 2)
			if err != nil {
				errs[i] = err
				return
			}
			defer p.Close()
			errs[i] = postgres.Migrate(ctx, p, slog.New(slog.NewTextHandler(io.Discard, nil)))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	var applied int
	require.NoError(t, pool.QueryRow(ctx, "select count(*) from goose_db_version where version_id > 0").Scan(&applied))
	var tables int
	require.NoError(t, pool.QueryRow(ctx, "select count(*) from pg_tables where tablename = 'bookings'").Scan(&tables))
	require.Equal(t, 1, tables)
	require.Positive(t, applied)
}

func TestClassify(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, "insert into services (code, name, short_name, kind, duration_minutes) values ('VCARD','Visita cardiologica','Visita cardiologica','visit',20)")
	require.NoError(t, err)
	tests := []struct {
		name       string
		sql        string
		code       postgres.Code
		constraint string
	}{
		// Duplicate primary key.
		{"unique", "insert into services values ('VCARD','x','x','visit',20)", postgres.CodeUniqueViolation, "services_pkey"},
		// Unknown service referenced.
		{"foreign key", "insert into agendas (site_id, service_code, name) values (999, 'NOPE', 'x')", postgres.CodeForeignKeyViolation, "agendas_site_id_fkey"},
		// Duration out of range.
		{"check", "insert into services values ('X1','x','x','visit',1)", postgres.CodeCheckViolation, "services_duration_minutes_check"},
		// No row.
		{"not found", "select 1 from services where code = 'NONE'", postgres.CodeNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var one int
			err := pool.QueryRow(ctx, tt.sql).Scan(&one)
			c := postgres.Classify(err)
			require.NotNil(t, c)
			require.Equal(t, tt.code, c.Code)
			require.Equal(t, tt.constraint, c.Constraint)
		})
	}
	require.Nil(t, postgres.Classify(nil))
}
