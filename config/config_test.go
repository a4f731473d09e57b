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

// What would expose the service is refused at start, naming the setting,
// never printing a secret.
func TestRefusedStartUps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		wantErr string
	}{
		// Listening everywhere with the development ARI password.
		{"listen everywhere", "http:\n  listen: 0.0.0.0:8080\n", nil, "the development password (ari.password, database.url's password) is in use while http.listen is off this machine"},
		// A database elsewhere with the development role's password.
		{"remote database", "", map[string]string{"CENTRALINO_DATABASE_URL": "postgres://centralino:centralino@db.asl.example:5432/c",
			"CENTRALINO_ARI_PASSWORD": "a-real-one-0123456789"}, "the development password (database.url's password) is in use while database.url"},
		// ARI elsewhere in clear, even with a real password.
		{"ari in clear", "", map[string]string{"CENTRALINO_ARI_URL": "http://asterisk.asl.example:8088/ari",
			"CENTRALINO_ARI_PASSWORD": "a-real-one-0123456789"}, "ari.url is off this machine: it must be https"},
		// Real Twilio with the default public_url: no webhook would verify.
		{"twilio public url", "", map[string]string{"TWILIO_ACCOUNT_SID": "AC0123", "TWILIO_AUTH_TOKEN": "tok"},
			`sms.public_url "http://127.0.0.1:8080" is this machine`},
		// Real Twilio over plain HTTP.
		{"twilio in clear", "sms:\n  public_url: http://cup.asl.example\n", map[string]string{"TWILIO_ACCOUNT_SID": "AC0123", "TWILIO_AUTH_TOKEN": "tok"},
			"sms.public_url must be https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "c.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tt.file), 0o600))
			_, err := config.Load(path, env(tt.env))
			require.ErrorContains(t, err, tt.wantErr)
			for _, secret := range []string{"a-real-one-0123456789", "tok", ":centralino@"} {
				require.NotContains(t, err.Error(), secret, "a secret in the message")
			}
		})
	}
	// The same on one machine, or with the stand-in, starts.
	_, err := config.Load("", env(map[string]string{"TWILIO_ACCOUNT_SID": "AC0123", "TWILIO_AUTH_TOKEN": "tok",
		"CENTRALINO_SMS_BASE_URL": "http://127.0.0.1:8089"}))
	require.NoError(t, err)
}
