package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
	"time"
)

// WriteStaffing answers centralinoctl staffing: for a load given by hand,
// the service level, ASA and occupancy of a few agent counts up to the
// fewest that reach target within the wait, then that answer as one JSON
// line ({"agents", "service_level", "asa_s", "occupancy"}).
func WriteStaffing(w io.Writer, l Load, target float64, within time.Duration) error {
	best, err := l.Staff(target, within)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%g calls in %s, AHT %s: %.2f erlangs; target %.0f %% answered within %s\n",
		l.Calls, l.Interval, l.AHT, l.Erlangs(), target*100, within)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "agents\tservice level\tASA\toccupancy\t")
	// The counts just short of the answer show what one agent fewer costs.
	for n := max(int(math.Floor(l.Erlangs()))+1, best.Agents-4); n <= best.Agents; n++ {
		s := l.With(n, within)
		fmt.Fprintf(tw, "%d\t%.1f %%\t%.1f s\t%.1f %%\t\n", n, s.ServiceLevel*100, s.ASASeconds, s.Occupancy*100)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	line, err := json.Marshal(Staffing{Agents: best.Agents, ServiceLevel: round(best.ServiceLevel, 4),
		ASASeconds: round(best.ASASeconds, 2), Occupancy: round(best.Occupancy, 4)})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(line))
	return err
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// ParseDays reads a period given as days in loc, both included: from
// 00:00 of the first to 24:00 of the last ("2026-03-02", "2026-03-31");
// a month ("2026-03") stands for its first day as from and its last as
// to. An empty to is the from day (or month) alone.
func ParseDays(from, to string, loc *time.Location) (time.Time, time.Time, error) {
	start, _, err := parseDay(from, loc)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("--from: %w", err)
	}
	if to == "" {
		to = from
	}
	_, end, err := parseDay(to, loc)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("--to: %w", err)
	}
	if !start.Before(end) {
		return time.Time{}, time.Time{}, fmt.Errorf("--to %s is before --from %s", to, from)
	}
	return start, end, nil
}

// parseDay is the start and end of a day or a month in loc.
func parseDay(s string, loc *time.Location) (time.Time, time.Time, error) {
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, t.AddDate(0, 0, 1), nil
	}
	if t, err := time.ParseInLocation("2006-01", s, loc); err == nil {
		return t, t.AddDate(0, 1, 0), nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("%q is neither a day (2006-01-02) nor a month (2006-01)", s)
}
