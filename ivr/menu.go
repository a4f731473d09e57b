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
	return s.ask(ctx, question, asterisk.GatherSpec{Max: 1, FirstDigit: s.f.cfg.MenuTimeout}, func(k string) bool {
		return len(k) == 1 && strings.Contains(valid, k)
	})
}

// ask plays question and collects keys with spec until ok accepts them,
// with the same rules as choose. A key sequence starting with `*` repeats.
func (s *session) ask(ctx context.Context, question []string, spec asterisk.GatherSpec, ok func(string) bool) (string, error) {
	failed := 0
	for {
		media := append(append([]string{}, s.lead...), question...)
		s.lead = nil
		keys, err := s.call.Gather(ctx, media, spec)
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

// say plays media to the end; a key pressed meanwhile only cuts it short.
func (s *session) say(ctx context.Context, media ...string) error {
	media = append(append([]string{}, s.lead...), media...)
	s.lead = nil
	_, err := s.call.Gather(ctx, media, asterisk.GatherSpec{})
	return err
}
