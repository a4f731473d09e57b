// Package report is what managers read (SPEC §8): the table a CUP
// publishes for any period (calls total, in and out of service hours,
// recalls made, answered within 30 and 60 s, abandoned, average speed of
// answer, self-service completions), the recall figures, the arrival
// profile per half hour, and the agents Erlang C says each half hour
// needs for a target service level. It reads the call records and the
// recall requests with its own SQL (queries/), whose definitions are
// docs/metrics.md's, the same as the metrics' PromQL; it imports no
// domain package.
package report
