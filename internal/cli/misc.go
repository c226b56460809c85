package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"

	"github.com/thot-security/thot/internal/buildinfo"
	"github.com/thot-security/thot/internal/config"
	"github.com/thot-security/thot/internal/httpapi"
)

func runConfig(ctx context.Context, env Env, args []string) error {
	fs := flags(env, "config", "config check")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || fs.Arg(0) != "check" {
		fmt.Fprintln(env.Stderr, "Usage: thot config check")
		return errUsage
	}
	cfg, err := config.Load(env.Getenv)
	if err != nil {
		fmt.Fprintf(env.Stdout, "configuration INVALID:\n%v\n", err)
		return fmt.Errorf("invalid configuration")
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tVALUE\tFROM")
	for _, s := range cfg.Settings() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, s.Value, s.Source)
	}
	tw.Flush()
	fmt.Fprintln(env.Stdout, "configuration OK")
	return nil
}

func runOpenAPI(ctx context.Context, env Env, args []string) error {
	fs := flags(env, "openapi", "openapi > docs/openapi.json")
	if err := parse(fs, args); err != nil {
		return err
	}
	b, err := OpenAPIDocument()
	if err != nil {
		return err
	}
	_, err = env.Stdout.Write(b)
	return err
}

// OpenAPIDocument renders the API description without a database.
func OpenAPIDocument() ([]byte, error) {
	cfg, err := config.Load(func(k string) (string, bool) {
		if k == "THOT_ENV_FILE" {
			return "", true
		}
		return "", false
	})
	if err != nil {
		return nil, err
	}
	s := httpapi.New(httpapi.Deps{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return s.OpenAPIJSON()
}

func runVersion(ctx context.Context, env Env, args []string) error {
	fs := flags(env, "version", "version")
	if err := parse(fs, args); err != nil {
		return err
	}
	v, c := buildinfo.Get()
	fmt.Fprintf(env.Stdout, "thot %s (%s)\n", v, c)
	return nil
}
