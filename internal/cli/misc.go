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
	fs := flags(env, "config", "config check|docs  (docs prints the README configuration table)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 1 && fs.Arg(0) == "docs" {
		config.WriteMarkdownTable(env.Stdout)
		return nil
	}
	if fs.NArg() != 1 || fs.Arg(0) != "check" {
		fmt.Fprintln(env.Stderr, "Usage: thot config check|docs")
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
	fs := flags(env, "openapi", "openapi [--routes] > docs/openapi.json")
	routes := fs.Bool("routes", false, "print the route table of docs/api.md instead")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *routes {
		s, err := docServer()
		if err != nil {
			return err
		}
		s.WriteRouteTable(env.Stdout)
		return nil
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
	s, err := docServer()
	if err != nil {
		return nil, err
	}
	return s.OpenAPIJSON()
}

// RouteTable renders docs/api.md's route table without a database.
func RouteTable(w io.Writer) error {
	s, err := docServer()
	if err != nil {
		return err
	}
	s.WriteRouteTable(w)
	return nil
}

// docServer builds the HTTP server from defaults only, to describe it.
func docServer() (*httpapi.Server, error) {
	cfg, err := config.Load(func(k string) (string, bool) {
		if k == "THOT_ENV_FILE" {
			return "", true
		}
		return "", false
	})
	if err != nil {
		return nil, err
	}
	return httpapi.New(httpapi.Deps{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}), nil
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
