package queue

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store keeps queues and agents in Redis, shared by every controller
// instance. Every change that touches more than one key is one Lua script,
// so two instances never see half of it.
//
// Keys (prefix p):
//
//	p:waiting:<queue>   zset of call ids (live callers and wait recalls), score = rank(priority, entered)
//	p:ooh:<queue>       zset of out-of-hours recalls, score = rank(priority, requested)
//	p:call:<id>         hash: queue, lane, score, priority, entered_ms, caller, recall, owner, state, handoff
//	                    (a recall's id is "recall:<n>": recall_id, reason, requested_ms, waited_ms)
//	p:ooh_credit:<q>    the out-of-hours lane's share credit (lua/assign.lua)
//	p:ready:<queue>     zset of ready agent ids, score = idle since (ms)
//	p:agent:<id>        hash: endpoint, state, reason, since_ms, until_ms, queues, call
//	p:agents            set of known agent ids
//	p:ari               hash: instance → "1|<ms>" or "0|<ms>", its ARI link as last reported (instances.go)
//	p:lease:<queue>     hash: holder, agent, token; expires (lua/lib.lua)
//	p:lease_seq         counter of lease tokens
type Store struct {
	rdb    *redis.Client
	prefix string
	// instance owns the recalls this store pairs; share is the
	// out-of-hours lane's share of the agents while callers wait.
	instance string
	share    float64
}

// DefaultRecallShare is the share of the agents paired that out-of-hours
// recalls take while live callers wait (SPEC §5: half).
const DefaultRecallShare = 0.5

// NewStore uses rdb with keys under prefix ("centralino").
func NewStore(rdb *redis.Client, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix, share: DefaultRecallShare}
}

// pairing is the store as an instance pairs with it: recalls it pairs are
// its own to dial, and out-of-hours recalls take share of the agents.
func (s *Store) pairing(instance string, share float64) *Store {
	c := *s
	c.instance, c.share = instance, share
	return &c
}

var (
	// luaLib is prepended to the scripts that pair callers and agents.
	//go:embed lua/lib.lua
	luaLib string
	//go:embed lua/enqueue.lua
	luaEnqueue string
	//go:embed lua/assign.lua
	luaAssign string
	//go:embed lua/agent_state.lua
	luaAgentState string
	//go:embed lua/leave.lua
	luaLeave string
	//go:embed lua/requeue.lua
	luaRequeue string
	//go:embed lua/lease.lua
	luaLease string
	//go:embed lua/claim.lua
	luaClaim string

	scriptEnqueue    = redis.NewScript(luaEnqueue)
	scriptAssign     = redis.NewScript(luaLib + luaAssign)
	scriptAgentState = redis.NewScript(luaLib + luaAgentState)
	scriptLease      = redis.NewScript(luaLib + luaLease)
	scriptClaim      = redis.NewScript(luaLib + luaClaim)
	scriptLeave      = redis.NewScript(luaLeave)
	scriptRequeue    = redis.NewScript(luaRequeue)
	//go:embed lua/recall_enter.lua
	luaRecallEnter string
	//go:embed lua/to_recall.lua
	luaToRecall       string
	scriptRecallEnter = redis.NewScript(luaRecallEnter)
	scriptToRecall    = redis.NewScript(luaToRecall)
)

// rank orders a queue: a higher priority first, then who entered first.
// Priorities are 0..9; milliseconds since 1970 need 41 bits, so the score
// stays exact in a float64.
func rank(priority int, entered time.Time) float64 {
	return float64(9-priority)*1e13 + float64(entered.UnixMilli())
}

// Waiting is a caller in a queue.
type Waiting struct {
	CallID   string
	Queue    string
	Priority int
	// Entered is when the caller first entered the queue; a returning
	// recall keeps its original time.
	Entered time.Time
	Caller  string
	Recall  bool
	// Owner is the controller instance that holds the call's channel.
	Owner string
	// Keyed is what the caller keyed in the IVR (NRE, booking number),
	// for the agent's screen.
	Keyed map[string]string
	// Handoff is why the IVR handed the caller over (Ticket.Reason), for
	// the agent's screen.
	Handoff Reason
}

func (s *Store) key(parts ...string) string {
	k := s.prefix
	for _, p := range parts {
		k += ":" + p
	}
	return k
}

// Enqueue puts a caller in its queue; a call already waiting keeps its
// place (idempotent).
func (s *Store) Enqueue(ctx context.Context, w Waiting) error {
	keys, args, err := s.enqueueArgs(w)
	if err != nil {
		return err
	}
	if err := scriptEnqueue.Run(ctx, s.rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("enqueueing: %w", err)
	}
	return nil
}

func (s *Store) enqueueArgs(w Waiting) ([]string, []any, error) {
	if w.CallID == "" || w.Queue == "" || w.Priority < 0 || w.Priority > 9 || w.Entered.IsZero() {
		return nil, nil, fmt.Errorf("%w: call id, queue, priority 0..9 and entered time are required", ErrInvalid)
	}
	recall := "0"
	if w.Recall {
		recall = "1"
	}
	keyed, err := json.Marshal(w.Keyed)
	if err != nil {
		return nil, nil, fmt.Errorf("enqueueing: %w", err)
	}
	return []string{s.key("waiting", w.Queue), s.key("call", w.CallID)},
		[]any{w.CallID, strconv.FormatFloat(rank(w.Priority, w.Entered), 'f', -1, 64), w.Queue, w.Priority, w.Entered.UnixMilli(), w.Caller, recall, w.Owner, string(keyed),
			string(w.Handoff)}, nil
}

// EnqueueAssign puts a caller in its queue and then pairs the queue's head
// with the longest-idle ready agent, in one round trip to Redis: a caller
// arriving to a free agent costs no second trip before the agent's phone
// rings. Each step is atomic on its own, as Enqueue and Assign are; another
// instance may pair in between, and then this call returns ok=false.
func (s *Store) EnqueueAssign(ctx context.Context, w Waiting, now time.Time) (Assignment, bool, error) {
	keys, args, err := s.enqueueArgs(w)
	if err != nil {
		return Assignment{}, false, err
	}
	var assign *redis.Cmd
	run := func() error {
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			scriptEnqueue.EvalSha(ctx, p, keys, args...)
			assign = scriptAssign.EvalSha(ctx, p, s.assignKeys(w.Queue), s.assignArgs(w.Queue, now)...)
			return nil
		})
		return err
	}
	err = run()
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		// Redis lost its script cache (a restart): load both and redo;
		// enqueueing twice keeps the caller's place.
		if lerr := s.loadScripts(ctx, scriptEnqueue, scriptAssign); lerr != nil {
			return Assignment{}, false, fmt.Errorf("enqueueing: %w", lerr)
		}
		err = run()
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return Assignment{}, false, fmt.Errorf("enqueueing: %w", err)
	}
	return assignment(assign)
}

func (s *Store) loadScripts(ctx context.Context, scripts ...*redis.Script) error {
	for _, sc := range scripts {
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			return fmt.Errorf("loading script: %w", err)
		}
	}
	return nil
}

// CallInfo is what an agent's screen shows of a caller.
type CallInfo struct {
	CallID  string            `json:"call_id"`
	Queue   string            `json:"queue"`
	Caller  string            `json:"caller"`
	Recall  bool              `json:"recall"`
	Entered time.Time         `json:"entered_at"`
	Keyed   map[string]string `json:"keyed"`
	// Handoff is why the IVR handed the caller over (asked, urgent, tries,
	// no_slots); empty for a recall.
	Handoff Reason `json:"handoff,omitempty"`
	// A recall's: its id, why it was asked (wait, out_of_hours), when, and
	// how long the citizen had waited in the queue before asking.
	RecallID     int64     `json:"recall_id,omitempty"`
	RecallReason string    `json:"recall_reason,omitempty"`
	Requested    time.Time `json:"requested_at,omitzero"`
	WaitedBefore float64   `json:"waited_before_s,omitempty"`
	// State is where the caller is; Agent is set from ringing.
	State CallState `json:"-"`
	Agent string    `json:"-"`
	Owner string    `json:"-"`
	// Talk is set once connected (Talking).
	Talk Conversation `json:"-"`
}

// CallState is a caller's state as Redis keeps it (the call hash's
// "state", written by the Lua scripts).
type CallState string

// Caller states in Redis.
const (
	// StateWaiting: in its queue's waiting set.
	StateWaiting CallState = "waiting"
	// StateRinging: paired with an agent whose phone rings.
	StateRinging CallState = "ringing"
	// StateConnected: talking to the agent (out of the queue).
	StateConnected CallState = "connected"
)

// Conversation is what a controller taking over after a restart needs of
// a caller connected to an agent.
type Conversation struct {
	CallerChannel string
	AgentChannel  string
	Bridge        string
	Connected     time.Time
	// Recall: the caller's side is a recall's citizen, a channel of the
	// controller's own, which a controller taking over resumes as it does
	// the agent's leg (Resume).
	Recall bool
}

// Call reads a caller's details (waiting or connected).
func (s *Store) Call(ctx context.Context, callID string) (CallInfo, error) {
	m, err := s.rdb.HGetAll(ctx, s.key("call", callID)).Result()
	if err != nil {
		return CallInfo{}, fmt.Errorf("reading call: %w", err)
	}
	if len(m) == 0 {
		return CallInfo{}, ErrNotWaiting
	}
	ms, _ := strconv.ParseInt(m["entered_ms"], 10, 64)
	c := CallInfo{CallID: callID, Queue: m["queue"], Caller: m["caller"], Recall: m["recall"] == "1", Entered: time.UnixMilli(ms).UTC(),
		Handoff: Reason(m["handoff"]), State: CallState(m["state"]), Agent: m["agent"], Owner: m["owner"]}
	if c.RecallID, _ = strconv.ParseInt(m["recall_id"], 10, 64); c.RecallID != 0 {
		c.RecallReason = m["reason"]
		req, _ := strconv.ParseInt(m["requested_ms"], 10, 64)
		c.Requested = time.UnixMilli(req).UTC()
		waited, _ := strconv.ParseInt(m["waited_ms"], 10, 64)
		c.WaitedBefore = time.Duration(waited * int64(time.Millisecond)).Seconds()
	}
	if m["agent_channel"] != "" {
		ms, _ := strconv.ParseInt(m["connected_ms"], 10, 64)
		c.Talk = Conversation{CallerChannel: m["caller_channel"], AgentChannel: m["agent_channel"], Bridge: m["bridge"],
			Connected: time.UnixMilli(ms).UTC()}
	}
	if m["keyed"] != "" {
		_ = json.Unmarshal([]byte(m["keyed"]), &c.Keyed)
	}
	return c, nil
}

// Agents reads every known agent (logged out ones too) in one round trip
// (a pipeline), in no particular order.
func (s *Store) Agents(ctx context.Context) ([]Agent, error) { return s.agents(ctx) }

// agents reads every known agent in one round trip (a pipeline).
func (s *Store) agents(ctx context.Context) ([]Agent, error) {
	ids, err := s.rdb.SMembers(ctx, s.key("agents")).Result()
	if err != nil {
		return nil, fmt.Errorf("listing agents: %w", err)
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.key("agent", id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading agents: %w", err)
	}
	out := make([]Agent, 0, len(ids))
	for i, id := range ids {
		if m := cmds[i].Val(); len(m) > 0 {
			out = append(out, agentFrom(id, m))
		}
	}
	return out, nil
}

// Serving counts the agents of a queue logged in and not paused (ready,
// ringing, busy, or in wrap-up), for the wait estimate.
func (s *Store) Serving(ctx context.Context, queue string) (int, error) {
	all, err := s.agents(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range all {
		switch a.State {
		case Ready, Ringing, Busy, WrapUp:
			if slices.Contains(a.Queues, queue) {
				n++
			}
		}
	}
	return n, nil
}

// AgentStates counts the known agents by state.
func (s *Store) AgentStates(ctx context.Context) (map[AgentState]int, error) {
	all, err := s.agents(ctx)
	if err != nil {
		return nil, err
	}
	counts := map[AgentState]int{}
	for _, a := range all {
		counts[a.State]++
	}
	return counts, nil
}

// HandleTime is the queue's average handled-call time (an exponentially
// weighted mean, weight 0.2), def when nothing was handled yet.
func (s *Store) HandleTime(ctx context.Context, queue string, def time.Duration) (time.Duration, error) {
	v, err := s.rdb.Get(ctx, s.key("aht", queue)).Int64()
	if errors.Is(err, redis.Nil) {
		return def, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading handle time: %w", err)
	}
	return time.Duration(v) * time.Millisecond, nil
}

// ObserveHandleTime folds one handled call into the queue's mean.
func (s *Store) ObserveHandleTime(ctx context.Context, queue string, d, def time.Duration) error {
	cur, err := s.HandleTime(ctx, queue, def)
	if err != nil {
		return err
	}
	next := time.Duration(0.8*float64(cur) + 0.2*float64(d))
	return s.rdb.Set(ctx, s.key("aht", queue), next.Milliseconds(), 0).Err()
}

// Heartbeat says this instance is alive for ttl.
func (s *Store) Heartbeat(ctx context.Context, instance string, ttl time.Duration) error {
	return s.rdb.Set(ctx, s.key("instance", instance), "1", ttl).Err()
}

// ReleaseOrphans frees agents left ringing or busy by an instance that
// died (its heartbeat expired): ringing ones are ready again, busy ones go
// to wrap-up, unless talking (non-nil) says their conversation's leg is
// still up, waiting for a controller to take it over. It returns the
// agents released.
func (s *Store) ReleaseOrphans(ctx context.Context, now time.Time, wrapUp time.Duration, talking func(agentChannel string) bool) ([]string, error) {
	all, err := s.agents(ctx)
	if err != nil {
		return nil, err
	}
	var released []string
	for _, a := range all {
		if a.State != Ringing && a.State != Busy {
			continue
		}
		id := a.ID
		call, err := s.rdb.HMGet(ctx, s.key("call", a.CallID), "owner", "agent_channel").Result()
		if err != nil {
			// Not knowing the owner is not knowing it died: release nobody.
			return released, fmt.Errorf("reading agent %s's call: %w", id, err)
		}
		owner, _ := call[0].(string)
		if owner != "" {
			alive, err := s.rdb.Exists(ctx, s.key("instance", owner)).Result()
			if err != nil || alive == 1 {
				continue
			}
		}
		if leg, _ := call[1].(string); a.State == Busy && leg != "" && talking != nil && talking(leg) {
			continue
		}
		t := Transition{AgentID: id, To: Ready, From: []AgentState{Ringing}}
		if a.State == Busy {
			t = Transition{AgentID: id, To: WrapUp, From: []AgentState{Busy}, Until: now.Add(wrapUp)}
		}
		if _, err := s.SetAgent(ctx, t, now); err == nil {
			released = append(released, id)
		}
	}
	return released, nil
}

// Lease is an instance's right to ring a queue's longest-idle ready agent
// the moment a caller arrives, confirming it with Claim meanwhile: no
// round trip to Redis before the agent's phone rings. One instance holds
// a queue's lease at a time, and only while nobody waits in the queue;
// the agent stays ready for everyone, and whoever pairs it first revokes
// the lease (the holder hears "revoke|<queue>|<token>" on its instance
// channel). Until is when the holder stops trusting it, short of Redis's
// expiry.
type Lease struct {
	Queue, Agent, Endpoint, Token string
	Until                         time.Time
}

// leaseMargin: a lease is trusted for its time to live less this, so the
// holder never rings on one Redis has let expire.
const leaseMargin = 2 * time.Second

// AcquireLease gives instance the lease of queue for ttl, or renews it;
// ok=false when another instance holds it, callers are waiting or no
// agent is free.
func (s *Store) AcquireLease(ctx context.Context, queue, instance string, now time.Time, ttl time.Duration) (Lease, bool, error) {
	v, ok, err := replyStrings(scriptLease.Run(ctx, s.rdb, []string{s.key("lease", queue)}, s.prefix, queue, instance,
		now.UnixMilli(), ttl.Milliseconds()), 3, "acquiring lease")
	if !ok || err != nil {
		return Lease{}, false, err
	}
	return Lease{Queue: queue, Agent: v[0], Endpoint: v[1], Token: v[2], Until: now.Add(ttl - leaseMargin)}, true, nil
}

// Claim confirms a lease's use for a new caller w, whose agent's phone
// the holder (w.Owner) is already ringing: the caller is recorded ringing
// that agent, as Assign pairs them. ok=false when the lease was revoked
// meanwhile, the agent is no longer available or a caller waiting ranks
// ahead: nothing changed, and the holder must hang up its ring. next is the
// queue's next lease for the holder, if hasNext.
func (s *Store) Claim(ctx context.Context, w Waiting, l Lease, now time.Time, ttl time.Duration) (ok bool, next Lease, hasNext bool, err error) {
	keys, args, err := s.enqueueArgs(w)
	if err != nil {
		return false, Lease{}, false, err
	}
	if l.Queue != w.Queue {
		return false, Lease{}, false, fmt.Errorf("%w: lease of queue %q for a caller of %q", ErrInvalid, l.Queue, w.Queue)
	}
	v, err := scriptClaim.Run(ctx, s.rdb, []string{keys[0], keys[1], s.key("lease", w.Queue)},
		append(append([]any{s.prefix}, args...), l.Agent, l.Token, now.UnixMilli(), ttl.Milliseconds())...).Slice()
	if err != nil {
		return false, Lease{}, false, fmt.Errorf("claiming lease: %w", err)
	}
	if len(v) != 4 {
		return false, Lease{}, false, fmt.Errorf("claiming lease: unexpected reply %v", v)
	}
	ok = v[0] == int64(1)
	if a, _ := v[1].(string); a != "" {
		ep, _ := v[2].(string)
		tok, _ := v[3].(string)
		next, hasNext = Lease{Queue: w.Queue, Agent: a, Endpoint: ep, Token: tok, Until: now.Add(ttl - leaseMargin)}, true
	}
	return ok, next, hasNext, nil
}

// Publish sends an assignment to the instance that owns the call.
func (s *Store) Publish(ctx context.Context, a Assignment) error {
	return s.rdb.Publish(ctx, s.key("owner", a.Owner), a.CallID+"|"+a.AgentID+"|"+a.Endpoint).Err()
}

// Subscribe receives the assignments of this instance's calls.
func (s *Store) Subscribe(ctx context.Context, owner string) *redis.PubSub {
	return s.rdb.Subscribe(ctx, s.key("owner", owner))
}

// Position is the caller's 1-based place in its queue, 0 when not waiting.
func (s *Store) Position(ctx context.Context, queue, callID string) (int, error) {
	r, err := s.rdb.ZRank(ctx, s.key("waiting", queue), callID).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading position: %w", err)
	}
	return int(r) + 1, nil
}

// Waiting lists a queue in order.
func (s *Store) Waiting(ctx context.Context, queue string) ([]string, error) {
	ids, err := s.rdb.ZRange(ctx, s.key("waiting", queue), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("listing queue: %w", err)
	}
	return ids, nil
}

// FirstEntered is when the caller waiting longest among ids (a queue's
// Waiting) first entered; recalls' entries are not callers on the line
// and are skipped. ok=false with no caller.
func (s *Store) FirstEntered(ctx context.Context, ids []string) (first time.Time, ok bool, err error) {
	cmds := make([]*redis.StringCmd, 0, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			if !strings.HasPrefix(id, "recall:") {
				cmds = append(cmds, p.HGet(ctx, s.key("call", id), "entered_ms"))
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return time.Time{}, false, fmt.Errorf("reading entry times: %w", err)
	}
	for _, c := range cmds {
		ms, err := c.Int64()
		if err != nil {
			continue // left meanwhile
		}
		if t := time.UnixMilli(ms).UTC(); !ok || t.Before(first) {
			first, ok = t, true
		}
	}
	return first, ok, nil
}

// Leave removes a caller (abandoned, recall accepted) and returns how long
// they waited since first entering.
func (s *Store) Leave(ctx context.Context, callID string, now time.Time) (time.Duration, error) {
	return s.leave(ctx, callID, now, "0")
}

// connected takes a caller out of the queue keeping its details for the
// agent's screen.
func (s *Store) connected(ctx context.Context, callID string, now time.Time) (time.Duration, error) {
	return s.leave(ctx, callID, now, "1")
}

func (s *Store) leave(ctx context.Context, callID string, now time.Time, keep string) (time.Duration, error) {
	v, err := scriptLeave.Run(ctx, s.rdb, []string{s.key("call", callID)}, s.prefix, callID, keep).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, ErrNotWaiting
	}
	if err != nil {
		return 0, fmt.Errorf("leaving queue: %w", err)
	}
	return now.Sub(time.UnixMilli(v)), nil
}

// talkTTL is how long a conversation's details outlive its start, as the
// connected call's hash (leave.lua).
const talkTTL = 24 * time.Hour

// Talking records a connected caller's conversation on its call, and the
// agent's leg as leading back to it (Leg).
func (s *Store) Talking(ctx context.Context, callID string, t Conversation) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.key("call", callID), "caller_channel", t.CallerChannel, "agent_channel", t.AgentChannel,
			"bridge", t.Bridge, "connected_ms", t.Connected.UnixMilli())
		p.Set(ctx, s.key("leg", t.AgentChannel), callID, talkTTL)
		if t.Recall {
			p.Set(ctx, s.key("leg", t.CallerChannel), callID, talkTTL)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording conversation: %w", err)
	}
	return nil
}

// Leg reads the call whose agent's leg is channelID; ErrNotWaiting when
// the channel is no agent's leg.
func (s *Store) Leg(ctx context.Context, channelID string) (CallInfo, error) {
	id, err := s.rdb.Get(ctx, s.key("leg", channelID)).Result()
	if errors.Is(err, redis.Nil) {
		return CallInfo{}, ErrNotWaiting
	}
	if err != nil {
		return CallInfo{}, fmt.Errorf("reading leg: %w", err)
	}
	return s.Call(ctx, id)
}

// Own makes instance the owner of a call (its heartbeat keeps the call's
// agent from being released as an orphan).
func (s *Store) Own(ctx context.Context, callID, instance string) error {
	return s.rdb.HSet(ctx, s.key("call", callID), "owner", instance).Err()
}

// TalkEnded forgets the channels of a conversation that ended (the call's
// details stay for the agent's screen).
func (s *Store) TalkEnded(ctx context.Context, callID, agentChannel string) error {
	caller, err := s.rdb.HGet(ctx, s.key("call", callID), "caller_channel").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("forgetting conversation: %w", err)
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, s.key("call", callID), "caller_channel", "agent_channel", "bridge", "connected_ms")
		p.Del(ctx, s.key("leg", agentChannel))
		if caller != "" {
			p.Del(ctx, s.key("leg", caller)) // a recall's citizen
		}
		return nil
	})
	return err
}

// Requeue puts a caller whose agent did not answer back in its queue with
// its original rank: it is served before anyone who entered later.
func (s *Store) Requeue(ctx context.Context, callID string) error {
	err := scriptRequeue.Run(ctx, s.rdb, []string{s.key("call", callID)}, s.prefix, callID).Err()
	if errors.Is(err, redis.Nil) {
		return ErrNotWaiting
	}
	if err != nil {
		return fmt.Errorf("requeueing: %w", err)
	}
	return nil
}

// Assignment pairs the head of a queue with the agent who has been idle
// longest.
type Assignment struct {
	CallID   string
	AgentID  string
	Endpoint string
	// Owner is the controller instance holding the caller's channel, or,
	// for a recall, dialling it.
	Owner string
	// RecallID is set when the head was a recall: the agent is reserved
	// for it, and its owner dials it (RecallDialler).
	RecallID int64
}

// Assign takes the head caller of queue and the longest-idle ready agent
// with that skill, marks both "ringing", and returns them; ok=false when
// either is missing. An agent in wrap-up whose wrap-up has ended counts as
// ready.
func (s *Store) Assign(ctx context.Context, queue string, now time.Time) (Assignment, bool, error) {
	return assignment(scriptAssign.Run(ctx, s.rdb, s.assignKeys(queue), s.assignArgs(queue, now)...))
}

func (s *Store) assignKeys(queue string) []string {
	return []string{s.key("waiting", queue), s.key("ready", queue), s.key("ooh", queue)}
}

func (s *Store) assignArgs(queue string, now time.Time) []any {
	return []any{s.prefix, now.UnixMilli(), queue, s.instance, s.share}
}

// assignment reads assign.lua's reply.
func assignment(cmd *redis.Cmd) (Assignment, bool, error) {
	v, ok, err := replyStrings(cmd, 5, "assigning")
	if !ok || err != nil {
		return Assignment{}, false, err
	}
	a := Assignment{CallID: v[0], AgentID: v[1], Endpoint: v[2], Owner: v[3]}
	if v[4] != "" {
		if a.RecallID, err = strconv.ParseInt(v[4], 10, 64); err != nil {
			return Assignment{}, false, fmt.Errorf("assigning: recall id %q", v[4])
		}
	}
	return a, true, nil
}

// replyStrings reads a script's reply of n strings (doing what, for
// errors); ok=false when the script returned false.
func replyStrings(cmd *redis.Cmd, n int, what string) ([]string, bool, error) {
	v, err := cmd.StringSlice()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", what, err)
	}
	if len(v) != n {
		return nil, false, fmt.Errorf("%s: unexpected reply %v", what, v)
	}
	return v, true, nil
}

// AgentState is an agent's state (SPEC §4).
type AgentState string

// Agent states.
const (
	LoggedOut AgentState = "logged_out"
	Ready     AgentState = "ready"
	Paused    AgentState = "paused"
	Ringing   AgentState = "ringing"
	Busy      AgentState = "busy"
	WrapUp    AgentState = "wrap_up"
)

// Agent is an agent as stored.
type Agent struct {
	ID       string
	Endpoint string
	State    AgentState
	Reason   string
	Since    time.Time
	// Until is when a wrap-up ends (zero in the other states).
	Until  time.Time
	Queues []string
	CallID string
}

// Transition is an agent state change, checked atomically against the
// current state.
type Transition struct {
	AgentID string
	To      AgentState
	// From lists the states the change is allowed from.
	From []AgentState
	// Endpoint and Queues are set at login.
	Endpoint string
	Queues   []string
	Reason   string
	CallID   string
	// Until is when a wrap-up ends.
	Until time.Time
	// OnCall, when set, allows the change only while the agent's current
	// call is this one.
	OnCall string
}

// SetAgent applies t at now and returns the state before it.
func (s *Store) SetAgent(ctx context.Context, t Transition, now time.Time) (AgentState, error) {
	from := make([]string, len(t.From))
	for i, f := range t.From {
		from[i] = string(f)
	}
	until := int64(0)
	if !t.Until.IsZero() {
		until = t.Until.UnixMilli()
	}
	v, err := scriptAgentState.Run(ctx, s.rdb, []string{s.key("agent", t.AgentID), s.key("agents")},
		s.prefix, t.AgentID, string(t.To), strings.Join(from, ","), t.Endpoint, strings.Join(t.Queues, ","), t.Reason, t.CallID, now.UnixMilli(), until, t.OnCall).Result()
	if err != nil {
		// Only the script's own refusals are about the state; anything
		// else (read-only during a failover, out of memory, loading) is
		// Redis failing, and must not pass for "not allowed".
		var rerr redis.Error
		if errors.As(err, &rerr) {
			if msg, ok := strings.CutPrefix(rerr.Error(), "TRANSITION "); ok {
				return "", fmt.Errorf("%w: %s", ErrTransition, msg)
			}
		}
		return "", fmt.Errorf("changing agent state: %w", err)
	}
	prev, _ := v.(string)
	return AgentState(prev), nil
}

// Agent reads one agent.
func (s *Store) Agent(ctx context.Context, id string) (Agent, error) {
	m, err := s.rdb.HGetAll(ctx, s.key("agent", id)).Result()
	if err != nil {
		return Agent{}, fmt.Errorf("reading agent: %w", err)
	}
	if len(m) == 0 {
		return Agent{}, ErrUnknownAgent
	}
	return agentFrom(id, m), nil
}

// agentFrom reads an agent's hash.
func agentFrom(id string, m map[string]string) Agent {
	since, _ := strconv.ParseInt(m["since_ms"], 10, 64)
	var until time.Time
	if ms, _ := strconv.ParseInt(m["until_ms"], 10, 64); ms > 0 {
		until = time.UnixMilli(ms)
	}
	return Agent{ID: id, Endpoint: m["endpoint"], State: AgentState(m["state"]), Reason: m["reason"],
		Since: time.UnixMilli(since), Until: until, CallID: m["call"],
		Queues: strings.FieldsFunc(m["queues"], func(r rune) bool { return r == ',' })}
}
