package config_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestShippedFileEqualsDefaults(t *testing.T) {
	t.Parallel()
	// The documented file must stay in step with the built-in defaults.
	cfg, err := config.Load("centralino.yaml", env(nil))
	require.NoError(t, err)
	require.Equal(t, config.Default(), cfg)
}

func TestLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		check   func(*testing.T, config.Config)
		wantErr string
	}{
		{
			// An empty file keeps every default.
			name:  "empty file",
			file:  "",
			check: func(t *testing.T, c config.Config) { require.Equal(t, config.Default(), c) },
		},
		{
			// The file overrides a default.
			name:  "file override",
			file:  "booking:\n  hold_ttl: 90s\n",
			check: func(t *testing.T, c config.Config) { require.Equal(t, 90*time.Second, c.Booking.HoldTTL) },
		},
		{
			// The environment wins over the file for URLs and secrets.
			name: "env override",
			file: "ari:\n  password: fromfile\n",
			env:  map[string]string{"CENTRALINO_ARI_PASSWORD": "fromenv", "CENTRALINO_DATABASE_URL": "postgres://x@db:5432/y"},
			check: func(t *testing.T, c config.Config) {
				require.Equal(t, "fromenv", c.ARI.Password)
				require.Equal(t, "postgres://x@db:5432/y", c.Database.URL)
			},
		},
		{
			// A typo in a key is rejected, not ignored.
			name:    "unknown key",
			file:    "booking:\n  hold_tll: 90s\n",
			wantErr: "field hold_tll not found",
		},
		{
			// Several problems are reported together, with the password hidden.
			name:    "invalid values",
			file:    "database:\n  url: mysql://u:secret@h/db\nbooking:\n  hold_ttl: 1s\nlog:\n  level: loud\n",
			wantErr: "database.url \"mysql://u:xxxxx@h/db\" is not a postgres:// URL\nbooking.hold_ttl 1s must be between 10s and 1h\nlog.level \"loud\"",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "c.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tt.file), 0o600))
			cfg, err := config.Load(path, env(tt.env))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, cfg)
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := config.Load(filepath.Join(t.TempDir(), "absent.yaml"), env(nil))
	require.ErrorContains(t, err, "reading config")
}
