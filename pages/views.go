package pages

import (
	"slices"
	"strings"
	"time"

	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/pii"
	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/recall"
	"github.com/centralino-cup/centralino/report"
)

// state is what the hub read in one pass: the fast part from Redis, the
// slow part (figures, recalls, ARI links) as last read.
type state struct {
	agents []queue.Agent
	// calls are the calls of the agents ringing or talking, by id.
	calls  map[string]queue.CallInfo
	queues []queueState
	// screens are what the callers keyed, looked up, by call id.
	screens map[string]screen
	recalls []recall.Open
	today   *report.Live
	ari     map[string]bool
}

// queueState is one queue's callers on the line.
type queueState struct {
	name    string
	waiting int
	// first is when the caller waiting longest entered (zero: nobody).
	first time.Time
}

// screen is what the screen-pop shows of what a caller keyed: the
// prescription of an NRE, the booking of a booking number, or why it
// cannot (lookup: not_found, unavailable).
type screen struct {
	prescription *booking.Prescribed
	booking      *booking.Booking
	lookup       string
}

// deskView is the agent desktop's live view of one agent.
type deskView struct {
	Agent  string           `json:"agent"`
	State  queue.AgentState `json:"state"`
	Reason string           `json:"reason,omitempty"`
	Since  time.Time        `json:"since,omitzero"`
	// Until is when a wrap-up ends.
	Until  time.Time `json:"until,omitzero"`
	Queues []string  `json:"queues"`
	Call   *callView `json:"call,omitempty"`
	// Mine are the recalls being dialled for this agent; Pending the
	// open recalls of its queues, first to be served first.
	Mine    []recallView `json:"recalls_mine"`
	Pending []recallView `json:"recalls_pending"`
}

// callView is the screen-pop: the caller in front of the agent.
type callView struct {
	CallID string `json:"call_id"`
	Queue  string `json:"queue"`
	// Caller is masked; the desk reveals it on a click (logged).
	Caller   string `json:"caller"`
	Withheld bool   `json:"withheld"`
	Recall   bool   `json:"recall"`
	// Handoff is why the IVR handed the caller over.
	Handoff queue.Reason `json:"handoff,omitempty"`
	Entered time.Time    `json:"entered_at"`
	// WaitedS is how long the caller waited until the agent's phone rang
	// (or the agent answered).
	WaitedS int `json:"waited_s"`
	// A recall's reason, when it was asked, and how long the citizen had
	// waited in the queue before asking.
	RecallReason  string    `json:"recall_reason,omitempty"`
	Requested     time.Time `json:"requested_at,omitzero"`
	WaitedBeforeS float64   `json:"waited_before_s,omitempty"`
	// What the caller keyed, and what it names.
	NRE           string              `json:"nre,omitempty"`
	BookingNumber string              `json:"booking_number,omitempty"`
	Prescription  *booking.Prescribed `json:"prescription,omitempty"`
	Booking       *booking.Booking    `json:"booking,omitempty"`
	// Lookup says why what was keyed is not shown: not_found,
	// unavailable.
	Lookup string `json:"lookup_error,omitempty"`
}

// recallView is an open recall as an agent sees it (the number masked).
type recallView struct {
	ID          int64         `json:"id"`
	Reason      recall.Reason `json:"reason"`
	Queue       string        `json:"queue"`
	Status      recall.Status `json:"status"`
	Phone       string        `json:"phone"`
	Asked       time.Time     `json:"requested_at"`
	Attempts    int           `json:"attempts"`
	NextAttempt time.Time     `json:"next_attempt_at,omitzero"`
	Place       int           `json:"place,omitempty"`
}

// boardView is the wallboard's live view.
type boardView struct {
	Queues []queueView   `json:"queues"`
	Agents []agentView   `json:"agents"`
	Today  *report.Live  `json:"today,omitempty"`
	ARI    []ariLinkView `json:"ari"`
}

type queueView struct {
	Name    string `json:"name"`
	Waiting int    `json:"waiting"`
	// Longest is when the caller waiting longest entered the queue (the
	// page counts the wait from it).
	Longest time.Time `json:"longest_since,omitzero"`
}

type agentView struct {
	Name   string           `json:"name"`
	State  queue.AgentState `json:"state"`
	Reason string           `json:"reason,omitempty"`
	Since  time.Time        `json:"since"`
	Until  time.Time        `json:"until,omitzero"`
	Queues []string         `json:"queues"`
}

type ariLinkView struct {
	Instance  string `json:"instance"`
	Connected bool   `json:"connected"`
}

// pendingShown bounds the recalls a desk lists.
const pendingShown = 20

// desk is agent's view of st. An agent never logged in is logged out.
func (st *state) desk(agent string) deskView {
	v := deskView{Agent: agent, State: queue.LoggedOut, Queues: []string{}, Mine: []recallView{}, Pending: []recallView{}}
	i := slices.IndexFunc(st.agents, func(a queue.Agent) bool { return a.ID == agent })
	if i < 0 {
		return v
	}
	a := st.agents[i]
	v.State, v.Reason, v.Since, v.Queues = a.State, a.Reason, a.Since.UTC(), a.Queues
	if a.State == queue.WrapUp {
		v.Until = a.Until.UTC()
	}
	if v.Queues == nil {
		v.Queues = []string{}
	}
	if c, ok := st.calls[a.CallID]; ok && (a.State == queue.Ringing || a.State == queue.Busy) {
		v.Call = st.callView(c, a)
	}
	for _, o := range st.recalls {
		switch {
		case o.Agent == agent && o.Status == recall.StatusDialling:
			v.Mine = append(v.Mine, recallOf(o))
		case slices.Contains(a.Queues, o.Queue) && (o.Status == recall.StatusPending || o.Status == recall.StatusQueued) &&
			len(v.Pending) < pendingShown:
			v.Pending = append(v.Pending, recallOf(o))
		}
	}
	return v
}

func (st *state) callView(c queue.CallInfo, a queue.Agent) *callView {
	v := &callView{CallID: c.CallID, Queue: c.Queue, Caller: pii.MaskPhone(c.Caller), Withheld: c.Caller == "", Recall: c.Recall,
		Handoff: c.Handoff, Entered: c.Entered, WaitedS: max(int(a.Since.Sub(c.Entered).Seconds()), 0),
		RecallReason: c.RecallReason, Requested: c.Requested, WaitedBeforeS: c.WaitedBefore,
		NRE: c.Keyed["nre"], BookingNumber: c.Keyed["booking_number"]}
	if s, ok := st.screens[c.CallID]; ok {
		v.Prescription, v.Booking, v.Lookup = s.prescription, s.booking, s.lookup
	}
	return v
}

func recallOf(o recall.Open) recallView {
	return recallView{ID: o.ID, Reason: o.Reason, Queue: o.Queue, Status: o.Status, Phone: pii.MaskPhone(o.Phone),
		Asked: o.Asked.UTC(), Attempts: o.Attempts, NextAttempt: o.NextAttempt.UTC(), Place: o.Place}
}

// board is the wallboard's view of st: the agents logged in, by name.
func (st *state) board() boardView {
	v := boardView{Queues: []queueView{}, Agents: []agentView{}, Today: st.today, ARI: []ariLinkView{}}
	for _, q := range st.queues {
		v.Queues = append(v.Queues, queueView{Name: q.name, Waiting: q.waiting, Longest: q.first})
	}
	for _, a := range st.agents {
		if a.State == queue.LoggedOut || a.State == "" {
			continue
		}
		av := agentView{Name: a.ID, State: a.State, Reason: a.Reason, Since: a.Since.UTC(), Queues: a.Queues}
		if a.State == queue.WrapUp {
			av.Until = a.Until.UTC()
		}
		v.Agents = append(v.Agents, av)
	}
	slices.SortFunc(v.Agents, func(a, b agentView) int { return strings.Compare(a.Name, b.Name) })
	for inst, up := range st.ari {
		v.ARI = append(v.ARI, ariLinkView{Instance: inst, Connected: up})
	}
	slices.SortFunc(v.ARI, func(a, b ariLinkView) int { return strings.Compare(a.Instance, b.Instance) })
	return v
}
