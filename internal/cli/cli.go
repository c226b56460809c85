// Package cli is thot's command line: serve (default), worker, migrate,
// user, config, openapi and version, each with --help. Commands read the
// configuration from the environment (see internal/config) and print to
// the writers they are given, so tests can run them in-process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/thot-security/thot/internal/config"
)

// Env is what a command runs with.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv config.Getenv
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env Env, args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"serve", "run the HTTP API and background jobs (default)", runServe},
		{"worker", "run background jobs only, no HTTP", runWorker},
		{"migrate", "apply (up) or list (status) database migrations", runMigrate},
		{"user", "create, set-password, list users", runUser},
		{"config", "check: print the effective configuration, secrets masked", runConfig},
		{"openapi", "print the OpenAPI 3.1 document", runOpenAPI},
		{"version", "print the version", runVersion},
	}
}

// errUsage marks a usage error (exit code 2).
var errUsage = errors.New("usage")

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, env Env) int {
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		usage(env.Stdout)
		return 0
	}
	if name == "help" {
		usage(env.Stdout)
		return 0
	}
	for _, c := range commands {
		if c.name == name {
			err := c.run(ctx, env, args)
			switch {
			case err == nil || errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			default:
				fmt.Fprintf(env.Stderr, "thot %s: %v\n", name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(env.Stderr, "thot: unknown command %q\n\n", name)
	usage(env.Stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "thot — custody of cryptographic material and HPS clearances, one binary.")
	fmt.Fprintln(w, "\nUsage: thot [command] [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nConfiguration comes from the environment (and ./.env); see README.md or `thot config check`.")
	fmt.Fprintln(w, "Run `thot <command> --help` for a command's flags.")
}

// flags makes a FlagSet whose --help prints to stdout and whose errors are
// usage errors.
func flags(env Env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("thot "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fs.SetOutput(env.Stdout)
		fmt.Fprintf(env.Stdout, "Usage: thot %s\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

// loadConfig reads and validates the configuration.
func loadConfig(env Env) (*config.Config, error) {
	cfg, err := config.Load(env.Getenv)
	if err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

// newLogger builds the process logger from the configuration.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(cfg.LogLevel) {
	case "debug":
		level = slog.LevelDebug
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.ToLower(cfg.LogFormat) == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// OSEnv is the real process environment.
func OSEnv() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.LookupEnv}
}
