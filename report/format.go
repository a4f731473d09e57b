package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
	"time"
)

// Formats a report is written in.
const (
	FormatText = "text"
	FormatCSV  = "csv"
	FormatJSON = "json"
)

// Write writes the report in format: text (tables for a reader), csv
// (the table, then the recall figures, then the half hours, each block
// with its header, a blank line apart) or json (Report).
func (r Report) Write(w io.Writer, format string) error {
	switch format {
	case FormatText, "":
		return r.text(w)
	case FormatCSV:
		return r.csv(w)
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return fmt.Errorf("report: format %q: text, csv or json", format)
}

// label names a row: its day, ISO week or month.
func (r Report) label(f Figures) string {
	switch r.By {
	case ByDay:
		return f.Start.Format(time.DateOnly)
	case ByWeek:
		y, wk := f.Start.ISOWeek()
		return fmt.Sprintf("%d-W%02d", y, wk)
	case ByMonth:
		return f.Start.Format("2006-01")
	}
	return "period"
}

// span is the period as a reader says it: the first and last day when it
// is whole days, else from and to.
func (r Report) span() string {
	loc, err := time.LoadLocation(r.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	from, to := r.From.In(loc), r.To.In(loc)
	midnight := func(t time.Time) bool { return t.Equal(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)) }
	if midnight(from) && midnight(to) {
		return fmt.Sprintf("%s to %s", from.Format(time.DateOnly), to.AddDate(0, 0, -1).Format(time.DateOnly))
	}
	return fmt.Sprintf("%s to %s", from.Format("2006-01-02 15:04"), to.Format("2006-01-02 15:04"))
}

func pct(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.1f %%", *v*100)
}

func seconds(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.1f s", *v)
}

func (r Report) text(w io.Writer) error {
	fmt.Fprintf(w, "CUP report, %s (%s)\n\n", r.span(), r.TimeZone)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tcalls\tin hours\tout of hours\trecalls made\twithin 30 s\twithin 60 s\tabandoned\tASA\tself-service\t")
	row := func(label string, f Figures) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%d\t\n", label, f.Calls, f.InHours, f.OutOfHours, f.RecallsMade,
			pct(f.ServiceLevel30s), pct(f.ServiceLevel60s), pct(f.AbandonedRatio), seconds(f.ASASeconds), f.SelfService)
	}
	for _, f := range r.Rows {
		row(r.label(f), f)
	}
	row("total", r.Total)
	if err := tw.Flush(); err != nil {
		return err
	}
	t := r.Total
	fmt.Fprintf(w, "\nqueued %d: answered %d, abandoned %d (%d short, within %.0f s), accepted the recall %d, failed %d, handed to app_queue %d (end not seen)\n",
		t.Queued, t.Answered, t.Abandoned, t.ShortAbandon, r.ShortAbandonS, t.RecallAccepted, t.Failed, t.Transferred)
	rc := r.Recalls
	median := "–"
	if rc.MedianToConnectedSeconds != nil {
		median = (time.Duration(*rc.MedianToConnectedSeconds) * time.Second).String()
	}
	fmt.Fprintf(w, "recalls: requested %d (wait %d, out of hours %d), connected %d (median from request %s), expired %d\n",
		rc.Requested["wait"]+rc.Requested["out_of_hours"], rc.Requested["wait"], rc.Requested["out_of_hours"], rc.Connected, median, rc.Expired)
	how := r.AHTFrom
	if how == AHTMeasured {
		how = "measured: talk + wrap-up"
	}
	fmt.Fprintf(w, "\nper half hour, mean of %d working days; agents by Erlang C for %.0f %% within %.0f s, AHT %s (%s)\n",
		r.WorkingDays, r.Target*100, r.WithinSeconds, time.Duration(r.AHTSeconds*float64(time.Second)).Round(time.Second), how)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "half hour\tcalls\tqueued\tcalls/day\tqueued/day\tagents\tservice level\tASA\toccupancy\t")
	for _, h := range r.HalfHours {
		s := h.Staffing
		if s == nil {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t0\t–\t–\t–\t\n", h.Start, h.Arrivals, h.Queued, h.ArrivalsPerDay, h.QueuedPerDay)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t%d\t%.1f %%\t%.1f s\t%.1f %%\t\n", h.Start, h.Arrivals, h.Queued, h.ArrivalsPerDay,
			h.QueuedPerDay, s.Agents, s.ServiceLevel*100, s.ASASeconds, s.Occupancy*100)
	}
	return tw.Flush()
}

func ratio(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', 4, 64)
}

func number(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

func (r Report) csv(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"period", "start", "calls", "in_hours", "out_of_hours", "recalls_made", "service_level_30s", "service_level_60s",
		"abandoned_ratio", "asa_s", "self_service", "queued", "answered", "answered_30s", "answered_60s", "abandoned",
		"short_abandoned", "recall_accepted", "failed", "transferred"})
	row := func(label string, f Figures) {
		i := func(n int64) string { return strconv.FormatInt(n, 10) }
		cw.Write([]string{label, f.Start.Format(time.RFC3339), i(f.Calls), i(f.InHours), i(f.OutOfHours), i(f.RecallsMade),
			ratio(f.ServiceLevel30s), ratio(f.ServiceLevel60s), ratio(f.AbandonedRatio), ratio(f.ASASeconds), i(f.SelfService),
			i(f.Queued), i(f.Answered), i(f.Answered30s), i(f.Answered60s), i(f.Abandoned), i(f.ShortAbandon),
			i(f.RecallAccepted), i(f.Failed), i(f.Transferred)})
	}
	for _, f := range r.Rows {
		row(r.label(f), f)
	}
	row("total", r.Total)
	rc := r.Recalls
	cw.Write(nil)
	cw.Write([]string{"recalls_requested_wait", "recalls_requested_out_of_hours", "recalls_connected", "median_to_connected_s", "recalls_expired"})
	cw.Write([]string{strconv.FormatInt(rc.Requested["wait"], 10), strconv.FormatInt(rc.Requested["out_of_hours"], 10),
		strconv.FormatInt(rc.Connected, 10), ratio(rc.MedianToConnectedSeconds), strconv.FormatInt(rc.Expired, 10)})
	cw.Write(nil)
	cw.Write([]string{"half_hour", "calls", "queued", "calls_per_day", "queued_per_day", "agents", "service_level", "asa_s", "occupancy"})
	for _, h := range r.HalfHours {
		staffed := []string{"0", "", "", ""} // nobody queued: no agent needed
		if s := h.Staffing; s != nil {
			staffed = []string{strconv.Itoa(s.Agents), number(s.ServiceLevel), number(s.ASASeconds), number(s.Occupancy)}
		}
		cw.Write(append([]string{h.Start, strconv.FormatInt(h.Arrivals, 10), strconv.FormatInt(h.Queued, 10), number(h.ArrivalsPerDay),
			number(h.QueuedPerDay)}, staffed...))
	}
	cw.Flush()
	return cw.Error()
}
