package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/centralino-cup/centralino/clock"
	"github.com/centralino-cup/centralino/config"
	"github.com/centralino-cup/centralino/demo"
	"github.com/centralino-cup/centralino/hours"
	"github.com/centralino-cup/centralino/postgres"
)

// runDemo is make run and make demo: -prepare makes the demo's database
// (and its prompts, for the sandbox to load); then the morning.
func runDemo(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	size := fs.Int("size", envInt("DEMO_SIZE", 200), "citizens who call (DEMO_SIZE)")
	keep := fs.Bool("keep", false, "keep the stack running after the report, until Ctrl-C (make run)")
	prepare := fs.Bool("prepare", false, "make the demo's database afresh and render its prompts, then stop")
	dbName := fs.String("db", "centralino_demo", "the demo's database (emptied by -prepare)")
	redisDB := fs.Int("redis-db", 1, "the demo's Redis database (emptied at every run)")
	dir := fs.String("dir", filepath.Join(os.TempDir(), "centralino-demo"), "where the demo's credentials and the daemon's log go")
	out := fs.String("prompts", "deploy/sounds/generated/it/centralino", "directory of the rendered prompts")
	studio := fs.String("studio", "deploy/sounds/studio", "studio recordings that replace generated prompts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *size < 10 {
		return fmt.Errorf("demo: -size %d: at least 10 citizens", *size)
	}
	url, err := postgres.EnsureDatabase(ctx, cfg.Database.URL, *dbName)
	if err != nil {
		return err
	}
	sched, err := hours.New(cfg.IVR.Hours)
	if err != nil {
		return err
	}
	day := demo.NextMonday(clock.Wall()(), sched)
	if *prepare {
		db, err := postgres.Open(ctx, url, 4)
		if err != nil {
			return err
		}
		defer db.Close()
		return demo.Prepare(ctx, db, day, *out, *studio, log)
	}
	cfg.Database.URL = url
	cfg.Redis.URL, err = withRedisDB(cfg.Redis.URL, *redisDB)
	if err != nil {
		return err
	}
	_, err = demo.Run(ctx, demo.Options{Size: *size, Keep: *keep, Config: cfg, Day: day, Dir: *dir, Out: os.Stdout})
	if errors.Is(err, context.Canceled) {
		return errors.New("demo interrupted before its report; everything it started is stopped")
	}
	return err
}

// withRedisDB is a Redis URL with another database number.
func withRedisDB(raw string, db int) (string, error) {
	i := strings.LastIndex(raw, "/")
	if !strings.HasPrefix(raw, "redis://") || i < len("redis://") {
		return "", fmt.Errorf("redis.url %q: want redis://host:port[/db]", raw)
	}
	if strings.Count(raw[len("redis://"):], "/") == 0 {
		return raw + "/" + strconv.Itoa(db), nil
	}
	return raw[:i+1] + strconv.Itoa(db), nil
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}
