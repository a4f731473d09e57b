package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/clock"
)

// Service applies SPEC §4's agent rules on the shared store.
type Service struct {
	store  *Store
	desks  Desks
	now    clock.Clock
	wrapUp time.Duration
	log    *slog.Logger
}

// Options tune the service.
type Options struct {
	// WrapUp is the pause after each call before the agent is offered the
	// next (0: the default 10 s; negative: none).
	WrapUp time.Duration
	// Desks tells whether an agent's phone is registered; nil: every
	// phone can be rung (tests without Asterisk).
	Desks Desks
	// Clock gives now (required).
	Clock clock.Clock
	Log   *slog.Logger
}

// NewService builds the agent rules over a store.
func NewService(store *Store, o Options) *Service {
	switch {
	case o.WrapUp == 0:
		o.WrapUp = 10 * time.Second
	case o.WrapUp < 0:
		o.WrapUp = 0
	}
	return &Service{store: store, desks: o.Desks, now: clock.Must(o.Clock, "queue service"), wrapUp: o.WrapUp, log: o.Log.With("component", "queue")}
}

// Login registers an agent on a SIP endpoint with the queues (skills) it
// serves; the agent starts paused ("login") until Ready.
func (s *Service) Login(ctx context.Context, agentID, endpoint string, queues []string) error {
	if agentID == "" || strings.Contains(agentID, ":") {
		return fmt.Errorf("%w: agent id %q", ErrInvalid, agentID)
	}
	if !strings.HasPrefix(endpoint, "PJSIP/") && !strings.HasPrefix(endpoint, "Local/") {
		return fmt.Errorf("%w: endpoint %q is not PJSIP/... or Local/...", ErrInvalid, endpoint)
	}
	if len(queues) == 0 {
		return fmt.Errorf("%w: an agent serves at least one queue", ErrInvalid)
	}
	for _, q := range queues {
		if q == "" || strings.ContainsAny(q, ",:") {
			return fmt.Errorf("%w: queue name %q", ErrInvalid, q)
		}
	}
	_, err := s.store.SetAgent(ctx, Transition{AgentID: agentID, To: Paused, From: []AgentState{LoggedOut},
		Endpoint: endpoint, Queues: queues, Reason: "login"}, s.now())
	return err
}

// Ready offers the agent calls; not while its SIP phone is unregistered
// (ErrUnregistered: the agent stays paused, with reason Unregistered).
func (s *Service) Ready(ctx context.Context, agentID string) error {
	a, err := s.store.Agent(ctx, agentID)
	if err != nil {
		return err
	}
	if ok, err := s.registered(ctx, a.Endpoint); err != nil {
		return err
	} else if !ok {
		if _, err := s.store.SetAgent(ctx, Transition{AgentID: agentID, To: Paused, From: []AgentState{Ready, Paused, WrapUp},
			Reason: Unregistered}, s.now()); err != nil && !errors.Is(err, ErrTransition) {
			return err
		}
		return fmt.Errorf("%w: %s", ErrUnregistered, a.Endpoint)
	}
	_, err = s.store.SetAgent(ctx, Transition{AgentID: agentID, To: Ready, From: []AgentState{Paused, WrapUp, Ready}}, s.now())
	return err
}

// Unregistered is the pause reason of an agent whose SIP phone is not
// registered: it is offered no call until it is, and the agent is ready
// again.
const Unregistered = "unregistered"

// registered tells whether endpoint can be rung now.
func (s *Service) registered(ctx context.Context, endpoint string) (bool, error) {
	if s.desks == nil {
		return true, nil
	}
	reg, err := s.desks.Registered(ctx, []string{endpoint})
	if err != nil {
		return false, fmt.Errorf("checking the agent's phone: %w", err)
	}
	return reg[endpoint], nil
}

// dialReason names why an agent's phone was not answered: busy, no
// answer, or failed to ring, because its desk is not registered or for
// another reason.
func (s *Service) dialReason(ctx context.Context, endpoint string, res asterisk.DialResult, err error) string {
	switch {
	case err != nil || res == asterisk.Failed:
		if ok, rerr := s.registered(ctx, endpoint); rerr == nil && !ok {
			return Unregistered
		}
		return "unreachable"
	case res == asterisk.Busy:
		return "busy"
	}
	return "no_answer"
}

// PauseUnregistered pauses the ready agents (or in wrap-up) whose SIP
// phone is not registered, and returns them: a desk that stopped
// registering is not rung.
func (s *Service) PauseUnregistered(ctx context.Context) ([]string, error) {
	if s.desks == nil {
		return nil, nil
	}
	agents, err := s.store.agents(ctx)
	if err != nil {
		return nil, err
	}
	var offered []Agent
	var endpoints []string
	for _, a := range agents {
		if a.State == Ready || a.State == WrapUp {
			offered = append(offered, a)
			endpoints = append(endpoints, a.Endpoint)
		}
	}
	if len(offered) == 0 {
		return nil, nil
	}
	reg, err := s.desks.Registered(ctx, endpoints)
	if err != nil {
		return nil, fmt.Errorf("checking the agents' phones: %w", err)
	}
	var paused []string
	for _, a := range offered {
		if reg[a.Endpoint] {
			continue
		}
		_, err := s.store.SetAgent(ctx, Transition{AgentID: a.ID, To: Paused, From: []AgentState{Ready, WrapUp}, Reason: Unregistered}, s.now())
		switch {
		case errors.Is(err, ErrTransition): // rung or logged out meanwhile
		case err != nil:
			return paused, err
		default:
			paused = append(paused, a.ID)
		}
	}
	return paused, nil
}

// Pause stops offering the agent calls, with a reason.
func (s *Service) Pause(ctx context.Context, agentID, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("%w: a pause needs a reason", ErrInvalid)
	}
	_, err := s.store.SetAgent(ctx, Transition{AgentID: agentID, To: Paused, From: []AgentState{Ready, WrapUp, Paused}, Reason: reason}, s.now())
	return err
}

// Logout ends the agent's session; not while on a call.
func (s *Service) Logout(ctx context.Context, agentID string) error {
	_, err := s.store.SetAgent(ctx, Transition{AgentID: agentID, To: LoggedOut, From: []AgentState{Ready, WrapUp, Paused}}, s.now())
	return err
}

// NoAnswer: the agent did not answer in time (or the phone was busy or
// unregistered). The agent is paused, not retried in a loop, and the
// caller goes back to its place at the head of the queue.
func (s *Service) NoAnswer(ctx context.Context, a Assignment, reason string) error {
	if _, err := s.store.SetAgent(ctx, Transition{AgentID: a.AgentID, To: Paused, From: []AgentState{Ringing}, Reason: reason}, s.now()); err != nil {
		return err
	}
	return s.store.Requeue(ctx, a.CallID)
}

// Connected: the agent answered; the caller leaves the queue. It returns
// how long the caller waited since first entering.
func (s *Service) Connected(ctx context.Context, a Assignment) (time.Duration, error) {
	now := s.now()
	if _, err := s.store.SetAgent(ctx, Transition{AgentID: a.AgentID, To: Busy, From: []AgentState{Ringing}, CallID: a.CallID}, now); err != nil {
		return 0, err
	}
	return s.store.connected(ctx, a.CallID, now)
}

// CallEnded puts the agent who was talking on callID in wrap-up; the
// agent is offered calls again when it ends (or earlier with Ready). An
// agent already past that call (both sides of a conversation report its
// end) is left alone: ErrTransition.
func (s *Service) CallEnded(ctx context.Context, agentID, callID string) error {
	now := s.now()
	_, err := s.store.SetAgent(ctx, Transition{AgentID: agentID, To: WrapUp, From: []AgentState{Busy}, Until: now.Add(s.wrapUp),
		OnCall: callID}, now)
	return err
}

// Freed offers calls again, at once, to an agent taken by a recall whose
// citizen did not answer (only while on that call).
func (s *Service) Freed(ctx context.Context, a Assignment) error {
	_, err := s.store.SetAgent(ctx, Transition{AgentID: a.AgentID, To: Ready, From: []AgentState{Busy}, OnCall: a.CallID}, s.now())
	return err
}

// Release gives back an agent whose assigned caller was already gone
// (only while ringing for that caller).
func (s *Service) Release(ctx context.Context, a Assignment) error {
	_, err := s.store.SetAgent(ctx, Transition{AgentID: a.AgentID, To: Ready, From: []AgentState{Ringing}, OnCall: a.CallID}, s.now())
	return err
}
