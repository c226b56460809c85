// Command legacyclients runs the real legacy frontends (cryptotrace's
// Next.js app and hps-system's React app, built from a checkout of the
// legacy repository) against a thot built from this tree, drives them in
// headless Chromium and reports, per page and flow, what failed: requests
// answered with an error, console errors, uncaught exceptions, pages stuck
// loading or blank, and failed steps.
//
// It is kept out of the thot binary and the unit tests; see README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"syscall"
	"time"
)

// options are the command line.
type options struct {
	legacy      string // legacy checkout (repository root)
	thotDir     string // thot source tree
	workDir     string // build cache and runs
	outDir      string // this run's report and screenshots
	summary     string // markdown summary to write (optional)
	label       string // label for the summary ("before", "after")
	databaseURL string // PostgreSQL for thot (empty: SQLite)
	chromium    string
	only        *regexp.Regexp
	settle      time.Duration
	shortTokens time.Duration // access-token lifetime of the session phase
	headful     bool
	keep        bool // leave the servers running after the checks (until Ctrl-C)
	ports       ports
	render      string // only turn this report.json into the summary
}

func main() {
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "legacyclients:", err)
		os.Exit(2)
	}
	if opts.render != "" {
		if err := renderSummary(opts.render, opts.summary); err != nil {
			fmt.Fprintln(os.Stderr, "legacyclients:", err)
			os.Exit(2)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failed, err := run(ctx, opts)
	if err != nil {
		slog.Error("run failed", "err", err)
		os.Exit(2)
	}
	if failed > 0 {
		os.Exit(1)
	}
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("legacyclients", flag.ContinueOnError)
	o := &options{}
	cache, _ := os.UserCacheDir()
	fs.StringVar(&o.legacy, "legacy", "", "path of a checkout of the legacy repository (branch development), required")
	fs.StringVar(&o.thotDir, "thot", "", "thot source tree (default: the module root above the current directory)")
	fs.StringVar(&o.workDir, "work", filepath.Join(cache, "thot-legacyclients"), "work directory: frontend builds (cached) and runs")
	fs.StringVar(&o.outDir, "out", "", "report directory (default: WORK/runs/<time>)")
	fs.StringVar(&o.summary, "summary", "", "also write a markdown summary to this file")
	fs.StringVar(&o.label, "label", "", "label of this run in the summary (e.g. before, after)")
	fs.StringVar(&o.databaseURL, "database-url", "", "run thot on this PostgreSQL database (its schema is dropped first); default SQLite")
	fs.StringVar(&o.chromium, "chromium", "/usr/bin/chromium", "Chromium binary")
	only := fs.String("only", "", "run only the checks whose \"client/name\" matches this regexp")
	fs.DurationVar(&o.settle, "settle", 12*time.Second, "longest wait for a page to finish loading")
	fs.DurationVar(&o.shortTokens, "short-token", 20*time.Second, "access-token lifetime of the session checks (refresh across time)")
	fs.BoolVar(&o.headful, "headful", false, "show the browser window")
	fs.BoolVar(&o.keep, "keep", false, "keep thot and the frontends running after the checks, until interrupted")
	fs.StringVar(&o.render, "render", "", "write the -summary of an earlier run's report.json and exit (no browser)")
	o.ports = defaultPorts()
	fs.IntVar(&o.ports.thot, "port-thot", o.ports.thot, "thot's port")
	fs.IntVar(&o.ports.cryptotrace, "port-cryptotrace", o.ports.cryptotrace, "cryptotrace frontend's port (a change rebuilds it)")
	fs.IntVar(&o.ports.hps, "port-hps", o.ports.hps, "hps frontend's port (a change rebuilds it)")
	fs.IntVar(&o.ports.ocr, "port-ocr", o.ports.ocr, "OCR stub's port")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.render != "" {
		if o.summary == "" {
			return nil, errors.New("-render needs -summary")
		}
		return o, nil
	}
	if o.legacy == "" {
		return nil, errors.New("-legacy is required (see README.md for how to make the checkout)")
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			return nil, fmt.Errorf("-only: %w", err)
		}
		o.only = re
	}
	if o.thotDir == "" {
		dir, err := moduleRoot()
		if err != nil {
			return nil, err
		}
		o.thotDir = dir
	}
	if o.outDir == "" {
		o.outDir = filepath.Join(o.workDir, "runs", time.Now().Format("20060102-150405"))
	}
	return o, nil
}

// moduleRoot finds the directory of thot's go.mod above the current one.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "cmd", "thot")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("thot source tree not found above the current directory: pass -thot")
		}
		dir = parent
	}
}

// run builds and starts everything, runs the checks and writes the
// report. It returns how many checks failed.
func run(ctx context.Context, o *options) (int, error) {
	for _, d := range []string{o.workDir, o.outDir, filepath.Join(o.outDir, "screenshots")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return 0, err
		}
	}
	co, err := openCheckout(o.legacy)
	if err != nil {
		return 0, err
	}
	ports := o.ports
	procs := &procGroup{logDir: o.outDir}
	defer procs.stopAll()

	slog.Info("building thot", "tree", o.thotDir)
	bin, err := buildThot(ctx, o.thotDir, o.workDir)
	if err != nil {
		return 0, err
	}
	for _, fe := range frontends(ports) {
		slog.Info("building frontend (cached)", "client", fe.name)
		if err := buildFrontend(ctx, co, fe, o.workDir, o.outDir); err != nil {
			return 0, err
		}
	}

	th := &thotServer{bin: bin, addr: ports.thotAddr(), dataDir: filepath.Join(o.outDir, "thot-data"), databaseURL: o.databaseURL,
		cors: []string{ports.cryptotraceURL(), ports.hpsURL()}, procs: procs}
	if err := th.start(ctx, nil); err != nil {
		return 0, err
	}
	fx, err := seed(ctx, newAPI(ports.thotURL()), o.thotDir, o.outDir)
	if err != nil {
		return 0, fmt.Errorf("seeding thot: %w", err)
	}
	fx.hpsURL = ports.hpsURL()
	if err := startFrontends(ctx, procs, o.workDir, ports); err != nil {
		return 0, err
	}
	stopOCR, err := startOCRStub(ports.ocrAddr())
	if err != nil {
		return 0, err
	}
	defer stopOCR()

	br, err := newBrowser(ctx, o.chromium, filepath.Join(o.outDir, "chromium-profile"), o.headful)
	if err != nil {
		return 0, err
	}
	defer br.close()

	r := &runner{o: o, br: br, ports: ports, fx: fx, shots: filepath.Join(o.outDir, "screenshots")}
	r.runAll(ctx, checks(fx))
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}

	// Session checks need short-lived access tokens: restart thot on the
	// same data with a short lifetime.
	if sc := sessionChecks(fx); r.wants(sc) {
		slog.Info("restarting thot with short access tokens", "lifetime", o.shortTokens)
		if err := th.restart(ctx, map[string]string{"THOT_ACCESS_TOKEN_MINUTES": fmt.Sprint(o.shortTokens.Minutes())}); err != nil {
			return 0, err
		}
		fx.tokenLifetime = o.shortTokens
		r.runAll(ctx, sc)
	}

	rep := r.report(co, o)
	if err := rep.write(o); err != nil {
		return 0, err
	}
	rep.printTable(os.Stdout)
	fmt.Printf("\nreport: %s\n", filepath.Join(o.outDir, "report.json"))
	if o.keep {
		fmt.Printf("servers kept running (cryptotrace %s, hps %s, thot %s); Ctrl-C to stop\n", ports.cryptotraceURL(), ports.hpsURL(), ports.thotURL())
		<-ctx.Done()
	}
	return rep.failed(), nil
}
