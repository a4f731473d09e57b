package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// A recall waits in its queue as an entry of its own ("recall:<id>"),
// with no instance holding a channel: the instance that pairs it with an
// agent dials it (RecallDialler). A wait recall is in the live callers'
// lane at the place the caller had; an out-of-hours recall is in the
// out-of-hours lane, ranked by when it was asked, and takes at most the
// configured share of the agents while callers wait (lua/assign.lua).

// Lane is where a recall waits in its queue.
type Lane string

// Lanes.
const (
	// LaneLive: with the callers, by priority and first entry.
	LaneLive Lane = "waiting"
	// LaneOutOfHours: out-of-hours recalls, by when they were asked.
	LaneOutOfHours Lane = "ooh"
)

// RecallCallID is a recall's entry in its queue.
func RecallCallID(id int64) string { return "recall:" + strconv.FormatInt(id, 10) }

// RecallEntry is a recall whose time has come.
type RecallEntry struct {
	ID       int64
	Queue    string
	Lane     Lane
	Priority int
	// Rank is the time the entry ranks by: when the caller first entered
	// the queue (live lane), when the recall was asked (out of hours).
	Rank time.Time
	// Phone is the number to call back (E.164).
	Phone     string
	Reason    string
	Requested time.Time
	// WaitedBefore is how long the caller waited in the queue before
	// asking (wait recalls).
	WaitedBefore time.Duration
	Keyed        map[string]string
}

// EnterRecall puts a recall in its queue; one already there keeps its
// place, and one being dialled is not entered again (ok=false for both).
func (s *Store) EnterRecall(ctx context.Context, r RecallEntry) (bool, error) {
	if r.ID == 0 || r.Queue == "" || r.Priority < 0 || r.Priority > 9 || r.Rank.IsZero() || (r.Lane != LaneLive && r.Lane != LaneOutOfHours) {
		return false, fmt.Errorf("%w: recall id, queue, lane, priority 0..9 and rank time are required", ErrInvalid)
	}
	keyed, err := json.Marshal(r.Keyed)
	if err != nil {
		return false, fmt.Errorf("entering recall: %w", err)
	}
	id := RecallCallID(r.ID)
	n, err := scriptRecallEnter.Run(ctx, s.rdb, []string{s.key(string(r.Lane), r.Queue), s.key("call", id)},
		id, strconv.FormatFloat(rank(r.Priority, r.Rank), 'f', -1, 64), r.Queue, r.Priority, r.Rank.UnixMilli(), r.Phone,
		string(keyed), r.ID, r.Reason, r.Requested.UnixMilli(), string(r.Lane), r.WaitedBefore.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("entering recall: %w", err)
	}
	return n == 1, nil
}

// ToRecall passes a waiting caller's place to its recall (the caller
// accepted the offer and hangs up). ok=false when the caller was no
// longer waiting (it was just paired): the recall enters on its own.
func (s *Store) ToRecall(ctx context.Context, queue, callID string, recallID int64, now time.Time) (bool, error) {
	id := RecallCallID(recallID)
	n, err := scriptToRecall.Run(ctx, s.rdb, []string{s.key("waiting", queue), s.key("call", callID), s.key("call", id), s.key("ooh", queue)},
		callID, id, recallID, now.UnixMilli()).Int()
	if err != nil {
		return false, fmt.Errorf("keeping the place for the recall: %w", err)
	}
	return n == 1, nil
}

// DropRecall takes a recall out of its queue (cancelled, expired, served
// meanwhile, or an attempt over).
func (s *Store) DropRecall(ctx context.Context, id int64) error {
	if _, err := s.leave(ctx, RecallCallID(id), time.Time{}, "0"); err != nil && !errors.Is(err, ErrNotWaiting) {
		return err
	}
	return nil
}

// RecallsWaiting reports which of the recalls ids wait in their queue (or
// are being dialled): those missing were lost (a Redis restart) and must
// enter again.
func (s *Store) RecallsWaiting(ctx context.Context, ids []int64) (map[int64]bool, error) {
	cmds := make([]*redis.IntCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Exists(ctx, s.key("call", RecallCallID(id)))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("looking up recalls: %w", err)
	}
	out := make(map[int64]bool, len(ids))
	for i, id := range ids {
		out[id] = cmds[i].Val() == 1
	}
	return out, nil
}

// Turn is where a waiting entry stands: its 1-based position in its lane
// and its estimated wait (0, 0 when it does not wait).
type Turn struct {
	Position int
	Wait     time.Duration
}

// RecallTurns is the turn of each recall of queue waiting in the live
// lane, by recall id, with the estimate callers hear (EstimateWait).
func (s *Store) RecallTurns(ctx context.Context, queue string, aht time.Duration) (map[int64]Turn, error) {
	ids, err := s.Waiting(ctx, queue)
	if err != nil {
		return nil, err
	}
	serving, err := s.Serving(ctx, queue)
	if err != nil {
		return nil, err
	}
	aht, err = s.HandleTime(ctx, queue, aht)
	if err != nil {
		return nil, err
	}
	out := map[int64]Turn{}
	for i, id := range ids {
		if n, ok := strings.CutPrefix(id, "recall:"); ok {
			rid, err := strconv.ParseInt(n, 10, 64)
			if err == nil {
				out[rid] = Turn{Position: i + 1, Wait: EstimateWait(i+1, serving, aht)}
			}
		}
	}
	return out, nil
}

// Forward moves a waiting recall to the head of its lane (a manager
// brought it forward); ok=false when it does not wait.
func (s *Store) Forward(ctx context.Context, id int64) (bool, error) {
	ck := s.key("call", RecallCallID(id))
	v, err := s.rdb.HMGet(ctx, ck, "queue", "lane", "state").Result()
	if err != nil {
		return false, fmt.Errorf("bringing recall forward: %w", err)
	}
	q, _ := v[0].(string)
	lane, _ := v[1].(string)
	if q == "" || v[2] != string(StateWaiting) {
		return false, nil
	}
	score := strconv.FormatFloat(rank(9, time.UnixMilli(0)), 'f', -1, 64)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAddXX(ctx, s.key(lane, q), redis.Z{Score: rank(9, time.UnixMilli(0)), Member: RecallCallID(id)})
		p.HSet(ctx, ck, "score", score, "priority", 9)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("bringing recall forward: %w", err)
	}
	return true, nil
}

// RecallPlaces is the 1-based place of each recall that waits in its
// lane (those not waiting are absent).
func (s *Store) RecallPlaces(ctx context.Context, ids []int64) (map[int64]int, error) {
	hashes := make([]*redis.SliceCmd, len(ids))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			hashes[i] = p.HMGet(ctx, s.key("call", RecallCallID(id)), "queue", "lane", "state")
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("placing recalls: %w", err)
	}
	ranks := map[int64]*redis.IntCmd{}
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			v := hashes[i].Val()
			q, _ := v[0].(string)
			lane, _ := v[1].(string)
			if q != "" && v[2] == string(StateWaiting) {
				ranks[id] = p.ZRank(ctx, s.key(lane, q), RecallCallID(id))
			}
		}
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("placing recalls: %w", err)
	}
	out := make(map[int64]int, len(ranks))
	for id, r := range ranks {
		if n, err := r.Result(); err == nil {
			out[id] = int(n) + 1
		}
	}
	return out, nil
}
