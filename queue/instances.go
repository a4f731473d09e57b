package queue

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The instances' links to Asterisk, for the wallboard: each instance
// reports its own every few seconds into one hash, and a report older
// than instanceStale is an instance gone (its field is dropped).

// instanceStale is how old an instance's last report may be.
const instanceStale = 10 * time.Second

// ReportARI records whether instance's ARI websocket is up, at now.
func (s *Store) ReportARI(ctx context.Context, instance string, up bool, now time.Time) error {
	v := "0|"
	if up {
		v = "1|"
	}
	if err := s.rdb.HSet(ctx, s.key("ari"), instance, v+strconv.FormatInt(now.UnixMilli(), 10)).Err(); err != nil {
		return fmt.Errorf("reporting the ARI link: %w", err)
	}
	return nil
}

// ARILinks is each live instance's ARI link (true: connected), as last
// reported; instances silent for longer than instanceStale are dropped.
func (s *Store) ARILinks(ctx context.Context, now time.Time) (map[string]bool, error) {
	m, err := s.rdb.HGetAll(ctx, s.key("ari")).Result()
	if err != nil {
		return nil, fmt.Errorf("reading the ARI links: %w", err)
	}
	out := make(map[string]bool, len(m))
	var gone []string
	for inst, v := range m {
		up, at, _ := strings.Cut(v, "|")
		ms, err := strconv.ParseInt(at, 10, 64)
		if err != nil || now.Sub(time.UnixMilli(ms)) > instanceStale {
			gone = append(gone, inst)
			continue
		}
		out[inst] = up == "1"
	}
	if len(gone) > 0 {
		// Best effort: another reader drops them too.
		_ = s.rdb.HDel(ctx, s.key("ari"), gone...).Err()
	}
	return out, nil
}
