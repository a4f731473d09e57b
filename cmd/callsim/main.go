// Command callsim simulates citizens on the real Asterisk: one scripted
// call into the numero verde, or the ARI benchmark.
//
//	callsim call [-did 800466222] [-context from-trunk] [-caller 3471234567] [-keys "1,0123456789,31011980"]
//	callsim bench-ari [-levels 50,100,200,300,400,500]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/callsim"
	"github.com/centralino-cup/centralino/config"
)

func main() {
	cfgPath := flag.String("config", "", "YAML configuration file (for ARI)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: callsim [-config FILE] call|bench-ari [flags]")
	}
	flag.Parse()
	cfg, err := config.Load(*cfgPath, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "callsim:", err)
		os.Exit(2)
	}
	log := cfg.Log.Logger(os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ari := asterisk.Config{URL: cfg.ARI.URL, WebsocketURL: cfg.ARI.WebsocketURL, User: cfg.ARI.User,
		Password: cfg.ARI.Password, RequestTimeout: cfg.ARI.RequestTimeout}
	args := flag.Args()
	if len(args) == 0 {
		flag.Usage()
		os.Exit(2)
	}
	switch args[0] {
	case "call":
		err = call(ctx, ari, log, args[1:])
	case "bench-ari":
		err = benchARI(ctx, ari, log, args[1:])
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "callsim:", err)
		os.Exit(1)
	}
}

func call(ctx context.Context, ari asterisk.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	did := fs.String("did", "800466222", "number dialled")
	dialContext := fs.String("context", "from-trunk", "dialplan context")
	caller := fs.String("caller", "3471234567", "caller ID presented (empty: withheld)")
	keys := fs.String("keys", "", "comma-separated key groups, each keyed after the previous prompt ends, e.g. 1,0123456789")
	pause := fs.Duration("pause", 2*time.Second, "pause before each key group")
	hold := fs.Duration("hold", 10*time.Second, "how long to stay after the last keys")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ari.Application = "callsim-" + uuid.NewString()[:8]
	sim := callsim.New(ari, prometheus.NewRegistry(), log)
	if err := sim.Start(ctx); err != nil {
		return err
	}
	defer sim.Stop()
	c, err := sim.Place(ctx, *did, *dialContext, *caller)
	if err != nil {
		return err
	}
	defer c.Hangup(context.Background())
	for _, group := range strings.Split(*keys, ",") {
		if group == "" {
			continue
		}
		time.Sleep(*pause)
		if err := c.Key(ctx, group); err != nil {
			return err
		}
	}
	select {
	case <-time.After(*hold):
	case <-c.Ended():
	case <-ctx.Done():
	}
	for _, p := range c.Prompts() {
		fmt.Printf("%s %s\n", p.At.Format("15:04:05.000"), p.Media)
	}
	return nil
}

func benchARI(ctx context.Context, ari asterisk.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("bench-ari", flag.ContinueOnError)
	levels := fs.String("levels", "50,100,200,300,400,500,600,800,1000", "concurrent call counts to try, in order")
	goal := fs.Duration("goal", 30*time.Millisecond, "DTMF→next prompt p99 a level must meet")
	spread := fs.Duration("spread", 10*time.Second, "window in which each held caller keys once, at random (a menu prompt's length)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var ls []int
	for _, s := range strings.Split(*levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return errors.New("levels must be positive integers")
		}
		ls = append(ls, n)
	}
	ari.Application = "bench-ivr-" + uuid.NewString()[:8]
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute) // bounded, stops by itself
	defer cancel()
	_, err := callsim.BenchARI(ctx, ari, callsim.BenchOptions{Levels: ls, GoalP99: *goal, Placers: 40, Spread: *spread}, log.With("bench", "ari"), os.Stdout)
	return err
}
