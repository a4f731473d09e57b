package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/centralino-cup/centralino/callsim"
	"github.com/centralino-cup/centralino/pii"
	"github.com/centralino-cup/centralino/prompts"
)

// kind is what a citizen calls for.
type kind int

const (
	// Before the opening: takes the recall on its own number, or hangs up
	// on hearing the service is closed.
	closedRecall kind = iota
	closedHangUp
	// In hours, by itself: books by NRE and birth date, cancels, moves.
	book
	cancel
	move
	// Asks for an operator and waits for one; or takes the recall when it
	// is offered (the wait passed the two-minute rule); or, having heard
	// its place in the queue, hangs up when its patience (6 to 15 s) runs
	// out.
	operator
	operatorRecall
	operatorAbandon
	// Hangs up at the main menu.
	menuHangUp
)

// mix is the in-hours share of each kind (the rest books).
var mix = []struct {
	k     kind
	share float64
}{{cancel, 0.08}, {move, 0.08}, {operator, 0.22}, {operatorRecall, 0.10}, {operatorAbandon, 0.07}, {menuHangUp, 0.05}}

// citizen is one caller of the morning.
type citizen struct {
	at     time.Duration // from the run's start
	kind   kind
	number string        // national: the caller ID, and the number a recall calls
	talk   time.Duration // with an agent; an impatient caller's patience
}

// plan is the morning's callers, always the same for a size: a tenth out
// of hours before the opening, the rest arriving at random (a Poisson
// process, one every 1.1 s on average) from the opening.
func plan(size int) []citizen {
	rng := rand.New(rand.NewPCG(uint64(size), 0x6d6f726e696e67))
	closed := max(2, size/10)
	open := size - closed
	kinds := make([]kind, 0, size)
	for i := range closed {
		if i%4 == 3 {
			kinds = append(kinds, closedHangUp)
		} else {
			kinds = append(kinds, closedRecall)
		}
	}
	var in []kind
	for _, m := range mix {
		for range max(1, int(float64(open)*m.share)) {
			in = append(in, m.k)
		}
	}
	for len(in) < open {
		in = append(in, book)
	}
	in = in[:open]
	rng.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
	kinds = append(kinds, in...)

	pre := prelude(size)
	out := make([]citizen, size)
	at := pre
	for i, k := range kinds {
		c := citizen{kind: k, number: fmt.Sprintf("349%07d", 1_000_000+i), talk: time.Duration(6+rng.IntN(10)) * time.Second}
		if i < closed {
			// Spread over the prelude, ended before the opening.
			c.at = time.Second + time.Duration(i)*(pre-15*time.Second)/time.Duration(closed)
		} else {
			at += time.Duration(rng.ExpFloat64() * float64(1100*time.Millisecond))
			c.at = at
		}
		out[i] = c
	}
	return out
}

// tally is what the simulator saw.
type tally struct {
	placed, done, selfService, abandoned, recallsAsked atomic.Int64
	// After the morning, from the simulated phones: recall calls received
	// and answered, inbound callers an agent answered.
	recallCalls, recallsAnswered, answered int64
	failures                               atomic.Int64
}

func (t *tally) result() Result {
	return Result{SimCalls: t.placed.Load() + t.recallCalls, SimAnswered: t.answered, SimAbandoned: t.abandoned.Load(),
		SimRecallsRequested: t.recallsAsked.Load(), SimRecallsConnected: t.recallsAnswered, SimBookings: t.selfService.Load()}
}

// codes are the prescriptions and bookings the citizens key.
type codes struct {
	mu                  sync.Mutex
	nres, booked, moved []code
}

type code struct {
	value string
	birth time.Time
}

func (c *codes) take(from *[]code) (code, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(*from) == 0 {
		return code{}, false
	}
	v := (*from)[0]
	*from = (*from)[1:]
	return v, true
}

// play runs the morning: each citizen at its time, then the ANNULLA reply,
// then the counts from the simulated phones.
func (s *stack) play(ctx context.Context, p []citizen) (*tally, error) {
	t := &tally{}
	cs, err := s.codes(ctx, p)
	if err != nil {
		return nil, err
	}
	for _, c := range p {
		if err := s.sim.Citizen(ctx, c.number, fmt.Sprintf("answer:2:%d", int(c.talk.Seconds()))); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	stopProgress := s.progress(t, len(p))
	var wg sync.WaitGroup
	for _, c := range p {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-time.After(c.at - time.Since(start)):
			case <-ctx.Done():
				return
			}
			if err := s.call1(ctx, c, cs, t); err != nil {
				t.failures.Add(1)
				fmt.Fprintf(s.opts.Out, "\ncitizen %s (%s): %v\n", pii.MaskPhone("+39"+c.number), c.kind, err)
			}
			t.done.Add(1)
		}()
	}
	wg.Wait()
	stopProgress()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.annulla(ctx, p); err != nil {
		return nil, err
	}
	if err := s.settle(ctx); err != nil {
		return nil, err
	}
	for _, c := range p {
		calls, answered, err := s.sim.Recalled(ctx, c.number)
		if err != nil {
			return nil, err
		}
		t.recallCalls += int64(calls)
		if answered {
			t.recallsAnswered++
		}
		if c.kind == operator || c.kind == operatorRecall || c.kind == operatorAbandon {
			if ok, err := s.sim.AgentAnswered(ctx, c.number); err != nil {
				return nil, err
			} else if ok {
				t.answered++
			}
		}
	}
	if n := t.failures.Load(); n > 0 {
		fmt.Fprintf(s.opts.Out, "%d citizens did not get through their call as planned (above)\n", n)
	}
	return t, nil
}

// codes fetches what the citizens will key: unused prescriptions for those
// who book, active bookings for those who cancel or move.
func (s *stack) codes(ctx context.Context, p []citizen) (*codes, error) {
	n := map[kind]int{}
	for _, c := range p {
		n[c.kind]++
	}
	fetch := func(query string, limit int) ([]code, error) {
		rows, err := s.db.Query(ctx, queries.Get(query), pgx.NamedArgs{"now": s.opening, "n": limit})
		if err != nil {
			return nil, fmt.Errorf("demo codes: %w", err)
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (code, error) {
			var c code
			err := r.Scan(&c.value, &c.birth)
			return c, err
		})
	}
	nres, err := fetch("prescriptions", n[book])
	if err != nil {
		return nil, err
	}
	booked, err := fetch("bookings", n[cancel]+n[move])
	if err != nil {
		return nil, err
	}
	if len(nres) < n[book] || len(booked) < n[cancel]+n[move] {
		return nil, fmt.Errorf("the demo database has %d free prescriptions and %d bookings for %d and %d callers: run make demo (its -prepare step)",
			len(nres), len(booked), n[book], n[cancel]+n[move])
	}
	return &codes{nres: nres, booked: booked[:n[cancel]], moved: booked[n[cancel]:]}, nil
}

// call1 is one citizen's call.
func (s *stack) call1(ctx context.Context, c citizen, cs *codes, t *tally) error {
	ctx, cancelCall := context.WithTimeout(ctx, 4*time.Minute)
	defer cancelCall()
	did, dialContext := s.cfg.ARI.Application, "sim-stasis"
	if did == "centralino" {
		did, dialContext = "800466222", "from-trunk" // through the numero verde's DID
	}
	var k code
	switch c.kind {
	case book:
		k, _ = cs.take(&cs.nres)
	case cancel:
		k, _ = cs.take(&cs.booked)
	case move:
		k, _ = cs.take(&cs.moved)
	}
	call, err := s.sim.Place(ctx, did, dialContext, c.number)
	if err != nil {
		return err
	}
	t.placed.Add(1)
	defer call.Hangup(context.Background())
	v := &voice{call: call}
	birth := k.birth.Format("02012006")
	switch c.kind {
	case closedRecall:
		if err := v.ask(ctx, "offerta_richiamata", "1"); err != nil {
			return err
		}
		if err := v.hear(ctx, "arrivederci"); err != nil {
			return err
		}
		// "La richiameremo presto", or from a day: the recall is taken.
		if heard := v.call.Heard(); slices.Contains(heard, prompts.Sound("richiamata_presto")) || slices.Contains(heard, prompts.Sound("richiamata_da")) {
			t.recallsAsked.Add(1)
		}
		return v.ended(ctx)
	case closedHangUp:
		return v.hear(ctx, "servizio_chiuso")
	case menuHangUp:
		return v.hear(ctx, "menu_principale")
	case book:
		err = v.steps(ctx, "1", "digita_nre", k.value[5:], "digita_data_nascita", birth, "scelta_appuntamento", "1", "prenotazione_confermata", "")
	case cancel:
		err = v.steps(ctx, "2", "digita_numero_prenotazione", k.value, "digita_data_nascita", birth, "conferma_disdetta", "1", "disdetta_confermata", "")
	case move:
		err = v.steps(ctx, "3", "digita_numero_prenotazione", k.value, "digita_data_nascita", birth, "conferma_spostamento", "1",
			"scelta_appuntamento", "1", "spostamento_confermato", "")
	default:
		return s.queued(ctx, c, v, t)
	}
	if err != nil {
		return err
	}
	t.selfService.Add(1)
	return v.ended(ctx)
}

// queued is a caller who asks for an operator.
func (s *stack) queued(ctx context.Context, c citizen, v *voice, t *tally) error {
	if err := v.ask(ctx, "menu_principale", "0"); err != nil {
		return err
	}
	wctx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	wait := func(media string, end bool) <-chan error {
		ch := make(chan error, 1)
		go func() {
			var err error
			if end {
				_, err = v.call.WaitMediaEnd(wctx, prompts.Sound(media), v.next)
			} else {
				_, err = v.call.WaitMedia(wctx, prompts.Sound(media), v.next)
			}
			ch <- err
		}()
		return ch
	}
	offered, placed, accepted := wait("offerta_richiamata_attesa", true), wait("posizione_in_coda", false), wait("richiamata_accettata", false)
	var gaveUp <-chan time.Time
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-offered:
			offered = nil // once: then it waits for an agent, or for its recall
			if err == nil && c.kind == operatorRecall {
				// Taken unless an agent's phone rings for it meanwhile.
				if err := v.call.Key(ctx, "1"); err != nil {
					return err
				}
			}
		case err := <-accepted:
			accepted = nil
			if err == nil {
				t.recallsAsked.Add(1)
				return v.ended(ctx)
			}
		case err := <-placed:
			placed = nil // the first announcement of its place
			if err == nil && c.kind == operatorAbandon {
				gaveUp = time.After(c.talk) // its patience
			}
		case <-gaveUp:
			if answered, err := s.sim.AgentAnswered(ctx, c.number); err != nil || answered {
				gaveUp = nil // an agent was quicker: the next tick talks
				continue
			}
			t.abandoned.Add(1)
			return v.call.Hangup(ctx)
		case <-tick.C:
			answered, err := s.sim.AgentAnswered(ctx, c.number)
			if err != nil {
				return err
			}
			if !answered {
				continue
			}
			stopWaiting()
			select {
			case <-time.After(c.talk):
			case <-v.call.Ended():
				return nil
			}
			return v.call.Hangup(ctx)
		case <-v.call.Ended():
			return fmt.Errorf("the call ended in the queue (heard %v)", v.call.Heard())
		}
	}
}

// voice follows one call's prompts in order.
type voice struct {
	call *callsim.Call
	next int
}

// hear waits for a prompt of the catalogue.
func (v *voice) hear(ctx context.Context, id string) error {
	i, err := v.call.WaitMedia(ctx, prompts.Sound(id), v.next)
	if err != nil {
		return err
	}
	v.next = i + 1
	return nil
}

// ask waits for a question and keys the answer (with barge-in: as soon
// as it begins; the menus that confirm take no key before what they
// confirm has been said, so the answer waits for the choices).
func (v *voice) ask(ctx context.Context, id, keys string) error {
	if err := v.hear(ctx, id); err != nil {
		return err
	}
	return v.call.Key(ctx, keys)
}

// steps keys the main menu's choice, then answers each question in turn
// (a last one with no keys is only heard).
func (v *voice) steps(ctx context.Context, choice string, qa ...string) error {
	if err := v.ask(ctx, "menu_principale", choice); err != nil {
		return err
	}
	for i := 0; i+1 < len(qa); i += 2 {
		var err error
		if qa[i+1] == "" {
			err = v.hear(ctx, qa[i])
		} else {
			err = v.ask(ctx, qa[i], qa[i+1])
		}
		if err != nil {
			return fmt.Errorf("at %s: %w", qa[i], err)
		}
	}
	return nil
}

// ended waits for the IVR to hang up.
func (v *voice) ended(ctx context.Context) error {
	select {
	case <-v.call.Ended():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (k kind) String() string {
	return [...]string{"closed, recall", "closed, hangs up", "books", "cancels", "moves", "operator", "operator, takes the recall",
		"operator, hangs up", "hangs up at the menu"}[k]
}

// annulla has the first citizen who booked reply ANNULLA to its
// confirmation, through the stand-in (signed as Twilio signs), and waits
// for the booking to be cancelled.
func (s *stack) annulla(ctx context.Context, p []citizen) error {
	for _, c := range p {
		if c.kind != book {
			continue
		}
		phone := "+39" + c.number
		var number, status string
		if err := s.db.QueryRow(ctx, queries.Get("ivr_booking"), pgx.NamedArgs{"phone": phone}).Scan(&number, &status); err != nil {
			continue // this one did not book
		}
		if !s.texted(ctx, phone) {
			continue
		}
		err := s.standin.Post(s.base+"/webhooks/twilio/inbound", map[string]string{"MessageSid": "SM" + hexToken(16),
			"AccountSid": s.cfg.SMS.AccountSID, "From": phone, "To": s.cfg.SMS.From, "Body": "ANNULLA"})
		if err != nil {
			return fmt.Errorf("the ANNULLA reply: %w", err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if err := s.db.QueryRow(ctx, queries.Get("ivr_booking"), pgx.NamedArgs{"phone": phone}).Scan(&number, &status); err == nil && status == "cancelled" {
				fmt.Fprintf(s.opts.Out, "%s replied ANNULLA to its confirmation: booking %s cancelled\n", pii.MaskPhone(phone), pii.MaskCode(number))
				return nil
			}
			time.Sleep(200 * time.Millisecond)
		}
		return fmt.Errorf("the ANNULLA from %s did not cancel its booking", pii.MaskPhone(phone))
	}
	fmt.Fprintln(s.opts.Out, "nobody booked with a confirmation sent: no ANNULLA reply")
	return nil
}

// texted waits (up to 20 s) for the stand-in to have a message to phone.
func (s *stack) texted(ctx context.Context, phone string) bool {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		for _, m := range s.standin.Messages() {
			if m.To == phone {
				return true
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// progress prints a line of where the morning is: in place on a terminal,
// every ten seconds otherwise.
func (s *stack) progress(t *tally, total int) (stop func()) {
	tty := false
	if f, ok := s.opts.Out.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	every := 10 * time.Second
	if tty {
		every = time.Second
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	line := func() string {
		return fmt.Sprintf("%s  calls %d/%d placed, %d over · by themselves %d · recalls asked %d · hung up waiting %d · SMS %d",
			s.now().In(s.opening.Location()).Format("15:04:05"), t.placed.Load(), total, t.done.Load(), t.selfService.Load(),
			t.recallsAsked.Load(), t.abandoned.Load(), len(s.standin.Messages()))
	}
	go func() {
		defer close(finished)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				if tty {
					fmt.Fprintf(s.opts.Out, "\r%s\033[K", line())
				} else {
					fmt.Fprintln(s.opts.Out, line())
				}
			case <-done:
				if tty {
					fmt.Fprintf(s.opts.Out, "\r%s\033[K\n", line())
				} else {
					fmt.Fprintln(s.opts.Out, line())
				}
				return
			}
		}
	}()
	return func() { close(done); <-finished }
}
