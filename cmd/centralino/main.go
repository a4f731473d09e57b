// Command centralino is the daemon: the numero verde's call flow on ARI,
// the agent queues, SMS, the booking core's HTTP API and the metrics
// (package app assembles them). SIGTERM drains live calls, then stops;
// SIGINT stops now. Calls not drained stay in Asterisk and are recovered
// by the next instance.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/centralino-cup/centralino/app"
	"github.com/centralino-cup/centralino/clock"
	"github.com/centralino-cup/centralino/config"
)

func main() {
	path := flag.String("config", "", "YAML configuration file (empty: built-in defaults)")
	flag.Parse()
	cfg, err := config.Load(*path, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "centralino:", err)
		os.Exit(2)
	}
	log := cfg.Log.Logger(os.Stderr)
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	if err := app.Run(cfg, clock.Wall(), log, signals); err != nil {
		log.Error("centralino stopped", "err", err)
		os.Exit(1)
	}
}
