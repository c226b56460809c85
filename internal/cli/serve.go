package cli

import (
	"context"
	"fmt"
	"os/signal"
	"syscall"

	"github.com/thot-security/thot/internal/app"
)

func runServe(ctx context.Context, env Env, args []string) error {
	fs := flags(env, "serve", "serve [--no-worker] [--addr host:port]")
	noWorker := fs.Bool("no-worker", false, "do not run background jobs in this process (split deployments)")
	addr := fs.String("addr", "", "listen address (overrides THOT_ADDR)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(env)
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	log := newLogger(cfg, env.Stderr)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	a, err := app.New(ctx, cfg, log, app.Options{HTTP: true, Work: cfg.RunWorker && !*noWorker, Terminal: env.Stderr})
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := app.Listen(cfg)
	if err != nil {
		return err
	}
	if err := a.Run(ctx, ln); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

func runWorker(ctx context.Context, env Env, args []string) error {
	fs := flags(env, "worker", "worker")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(env)
	if err != nil {
		return err
	}
	log := newLogger(cfg, env.Stderr)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg, log, app.Options{HTTP: false, Work: true, Terminal: env.Stderr})
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Run(ctx, nil)
}
