package asterisk

import (
	"context"
	"errors"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/rid"
)

// GatherSpec bounds a digit collection.
type GatherSpec struct {
	// Max digits; zero plays the media only and returns the key that
	// interrupted it, if any.
	Max int
	// FirstDigit is the wait for the first key once the media is over.
	FirstDigit time.Duration
	// InterDigit is the wait between keys.
	InterDigit time.Duration
	// Terminator ends the collection ("#"), "" for none; it is not
	// returned.
	Terminator string
	// Listen is how many of the leading media items take no key: they
	// are heard to their end, and a key pressed before the last of them
	// has finished playing is discarded, type-ahead included (keys
	// pressed before the media started). The items after them, and the
	// wait once the media is over, take keys with barge-in as usual. Zero
	// takes every key, type-ahead included. A menu that confirms
	// something sets it to the items that say what is confirmed, so that
	// no answer is taken before the question has been heard.
	Listen int
}

// Play plays media in order; a key stops it (barge-in) and is returned.
func (call *Call) Play(ctx context.Context, media ...string) (string, error) {
	return call.Gather(ctx, media, GatherSpec{})
}

// Gather plays media in order with barge-in, then collects keys until Max
// digits, the terminator, or a timeout; "" means nothing was pressed. Keys
// pressed before the media started (type-ahead) count, unless spec.Listen
// says the first items are to be heard first.
func (call *Call) Gather(ctx context.Context, media []string, spec GatherSpec) (string, error) {
	cl, err := call.client.current()
	if err != nil {
		return "", err
	}
	var (
		digits  string
		playing string // playback in progress
		started int    // media items started so far
		queue   = media
		timer   *time.Timer
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	// startNext starts the next media item; false when none is left.
	startNext := func() (bool, error) {
		for len(queue) > 0 {
			uri := queue[0]
			queue = queue[1:]
			id := rid.New(rid.Playback)
			start := time.Now()
			_, err := cl.Channel().Play(ari.NewKey(ari.ChannelKey, call.id), id, uri)
			call.client.observe("play", start)
			if err != nil {
				return false, translate(err, "playing "+uri)
			}
			playing = id
			started++
			return true, nil
		}
		playing = ""
		return false, nil
	}
	stopPlaying := func() {
		if playing == "" {
			return
		}
		start := time.Now()
		_ = cl.Playback().Stop(ari.NewKey(ari.PlaybackKey, playing))
		call.client.observe("playback_stop", start)
		playing, queue = "", nil
	}
	wait := func(d time.Duration) {
		if timer == nil {
			timer = time.NewTimer(d)
			return
		}
		timer.Reset(d)
	}
	more, err := startNext()
	if err != nil {
		return "", err
	}
	if !more {
		if spec.Max == 0 {
			return "", nil
		}
		wait(spec.FirstDigit)
	}
	for {
		var timeout <-chan time.Time
		if timer != nil && playing == "" {
			timeout = timer.C
		}
		e, err := call.nextOrTimeout(ctx, timeout)
		if errors.Is(err, errTimeout) {
			return digits, nil
		}
		if err != nil {
			stopPlaying()
			return digits, err
		}
		switch ev := e.(type) {
		case *ari.PlaybackFinished:
			if ev.Playback.ID != playing {
				continue // a playback we stopped, or an older one
			}
			more, err := startNext()
			if err != nil {
				return digits, err
			}
			if !more {
				if spec.Max == 0 {
					return "", nil
				}
				wait(spec.FirstDigit)
			}
		case *ari.ChannelDtmfReceived:
			if playing != "" && started <= spec.Listen {
				// Pressed before the items to be heard were over (or
				// before the media began): the call's events come in
				// order, so its PlaybackFinished has not come yet.
				continue
			}
			stopPlaying()
			if spec.Max == 0 {
				return ev.Digit, nil
			}
			if spec.Terminator != "" && ev.Digit == spec.Terminator {
				return digits, nil
			}
			digits += ev.Digit
			if len(digits) >= spec.Max {
				return digits, nil
			}
			wait(spec.InterDigit)
		case *ari.StasisEnd, *ari.ChannelHangupRequest, *ari.ChannelDestroyed:
			return digits, ErrChannelGone
		}
	}
}

var errTimeout = errors.New("timeout")

// nextOrTimeout waits for the call's next event or the timer.
func (call *Call) nextOrTimeout(ctx context.Context, timeout <-chan time.Time) (ari.Event, error) {
	if timeout == nil {
		return call.next(ctx)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type res struct {
		e   ari.Event
		err error
	}
	// The mailbox wait is cancelled when the timer fires first; an event
	// taken by then is not lost because get only takes one when it
	// returns it.
	done := make(chan res, 1)
	go func() {
		e, err := call.next(wctx)
		done <- res{e, err}
	}()
	select {
	case r := <-done:
		return r.e, r.err
	case <-timeout:
		cancel()
		r := <-done
		if r.err == nil {
			return r.e, nil // an event won the race: use it
		}
		return nil, errTimeout
	}
}
