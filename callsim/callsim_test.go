package callsim_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/asterisk/asteristest"
	"github.com/centralino-cup/centralino/callsim"
)

// ivr plays a greeting, asks for a key, confirms it with the matching
// digit, and hangs up: enough to check what the simulator hears and keys.
type ivr struct{ got chan string }

func (i ivr) Handle(ctx context.Context, c *asterisk.Call) {
	defer c.Hangup(context.Background())
	if c.Answer(ctx) != nil {
		return
	}
	k, err := c.Gather(ctx, []string{"sound:beep", "sound:vm-intro"}, asterisk.GatherSpec{Max: 1, FirstDigit: 10 * time.Second})
	if err != nil {
		return
	}
	i.got <- k
	_, _ = c.Play(ctx, "sound:digits/"+k)
}

func (ivr) Recover(context.Context, *asterisk.Call) {}

// place starts the ivr and a simulator and places a call from one to the
// other; got receives the key the ivr took.
func place(t *testing.T) (*callsim.Call, <-chan string, context.Context) {
	t.Helper()
	app := asteristest.App("t-simivr")
	got := make(chan string, 1)
	server := asterisk.New(asteristest.Config(t, app), ivr{got}, prometheus.NewRegistry(), asteristest.Quiet())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	require.NoError(t, server.Start(ctx))
	t.Cleanup(server.Stop)
	sim := callsim.New(asteristest.Config(t, asteristest.App("t-sim")), prometheus.NewRegistry(), asteristest.Quiet())
	require.NoError(t, sim.Start(ctx))
	t.Cleanup(sim.Stop)
	c, err := sim.Place(ctx, app, "sim-stasis", "3471234567")
	require.NoError(t, err)
	t.Cleanup(func() { c.Hangup(context.Background()) })
	return c, got, ctx
}

func TestSimulatedCall(t *testing.T) {
	c, got, ctx := place(t)
	// Key during the second prompt: barge-in.
	_, err := c.WaitPrompt(ctx, "vm-intro", 0)
	require.NoError(t, err)
	require.NoError(t, c.Key(ctx, "7"))
	require.Equal(t, "7", <-got)
	_, err = c.WaitPrompt(ctx, "digits/7", 2)
	require.NoError(t, err)
	select {
	case <-c.Ended():
	case <-ctx.Done():
		t.Fatal("the IVR's hang-up was not seen")
	}
	require.Equal(t, []string{"sound:beep", "sound:vm-intro", "sound:digits/7"}, c.Heard())
	require.Len(t, c.KeysReceived(), 1)
}

// A first-time caller keys once a prompt has played to its end: the
// simulator sees the end, after the prompt's length (vm-intro: about 7 s).
func TestWaitMediaEnd(t *testing.T) {
	c, got, ctx := place(t)
	i, err := c.WaitMediaEnd(ctx, "sound:vm-intro", 0)
	require.NoError(t, err)
	p := c.Prompts()[i]
	require.GreaterOrEqual(t, p.Finished.Sub(p.At), 6*time.Second, "played to its end")
	require.NoError(t, c.KeyEvery(ctx, "4", callsim.FirstTimeKeyPeriod))
	require.Equal(t, "4", <-got)
}
