package ivr

import (
	"context"
	"errors"
	"strings"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/prompts"
)

// errTooManyTries ends a menu after the third failed try.
var errTooManyTries = errors.New("too many failed tries")

// session is one call's state, owned by the goroutine that runs the flow.
type session struct {
	f    *Flow
	call Call
	// lead is played once before the next question (an error message, a
	// read-back) so that `*` repeats only the question.
	lead []string
}

// choose asks a menu question until the caller presses one of valid: `*`
// repeats the question, a timeout or an invalid key is a failed try, and
// the third failed try returns errTooManyTries.
func (s *session) choose(ctx context.Context, question []string, valid string) (string, error) {
	return s.ask(ctx, question, s.menuSpec(0), oneOf(valid))
}

// confirm asks to confirm what said tells (a slot, a booking read back, a
// number keyed) with the choices that follow it, with choose's rules but
// one: no key is taken before said, and any lead before it, has been heard
// to its end (SPEC §3). A key pressed earlier, or typed ahead, is
// discarded and is no failed try; `*` says it again with the choices.
func (s *session) confirm(ctx context.Context, said, choices []string, valid string) (string, error) {
	question := append(append([]string{}, said...), choices...)
	return s.ask(ctx, question, s.menuSpec(len(said)), oneOf(valid))
}

// menuSpec collects one key; the first listen items of the question take
// none (0: every key counts, type-ahead included).
func (s *session) menuSpec(listen int) asterisk.GatherSpec {
	return asterisk.GatherSpec{Max: 1, FirstDigit: s.f.cfg.MenuTimeout, Listen: listen}
}

// oneOf accepts a single key among valid.
func oneOf(valid string) func(string) bool {
	return func(k string) bool { return len(k) == 1 && strings.Contains(valid, k) }
}

// ask plays question and collects keys with spec until ok accepts them,
// with the same rules as choose. A key sequence starting with `*` repeats.
// spec.Listen counts items of question: when it is set, the lead played
// before the question is heard to its end too.
func (s *session) ask(ctx context.Context, question []string, spec asterisk.GatherSpec, ok func(string) bool) (string, error) {
	failed := 0
	for {
		media := append(append([]string{}, s.lead...), question...)
		try := spec
		if try.Listen > 0 {
			try.Listen += len(s.lead)
		}
		s.lead = nil
		keys, err := s.call.Gather(ctx, media, try)
		if err != nil {
			return "", err
		}
		switch {
		case strings.HasPrefix(keys, "*"):
			continue
		case keys == "":
			s.lead = prompts.Sounds("nessuna_scelta")
		case ok(keys):
			return keys, nil
		default:
			// ok may have said why (an invalid number); otherwise the
			// generic message.
			if s.lead == nil {
				s.lead = prompts.Sounds("scelta_non_valida")
			}
		}
		failed++
		if failed >= s.f.cfg.MaxTries {
			s.lead = nil
			return "", errTooManyTries
		}
	}
}

// say plays media to the end. It asks nothing, so a key pressed meanwhile
// has nothing to answer and is discarded: what was done (a booking, a
// recall promised) and the closing prompt are always heard in full, even
// by a caller who pressed a key twice.
func (s *session) say(ctx context.Context, media ...string) error {
	media = append(append([]string{}, s.lead...), media...)
	s.lead = nil
	_, err := s.call.Gather(ctx, media, asterisk.GatherSpec{Listen: len(media)})
	return err
}
