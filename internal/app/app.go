// Package app assembles thot: it opens the database, wires the domain
// services to their stores, registers background workers, and builds the
// HTTP server. The CLI (serve, worker) and end-to-end tests both start
// thot through here, so there is one wiring.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/riverqueue/river"

	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/config"
	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/filestore"
	"github.com/thot-security/thot/internal/httpapi"
	"github.com/thot-security/thot/internal/identity"
	"github.com/thot-security/thot/internal/jobs"
	"github.com/thot-security/thot/internal/mail"
	"github.com/thot-security/thot/internal/sqlstore"
)

// Options tune how the app starts.
type Options struct {
	// HTTP serves the API; false for `thot worker`.
	HTTP bool
	// Work runs background jobs in this process.
	Work bool
	// Terminal receives the one-time generated admin password.
	Terminal io.Writer
}

// App is a running thot.
type App struct {
	Config   *config.Config
	Log      *slog.Logger
	DB       *database.DB
	Store    *sqlstore.Store
	Identity *identity.Service
	Auth     *identity.Auth
	Custody  *custody.Service
	// Clearance is the HPS domain.
	Clearance *clearance.Service
	Files     *filestore.Local
	Jobs      *jobs.Client
	Mailer    *mail.Mailer
	HTTP      *httpapi.Server
	opts      Options
}

// New opens and prepares everything, but serves nothing yet.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, opts Options) (*App, error) {
	if opts.Terminal == nil {
		opts.Terminal = os.Stderr
	}
	if _, err := cfg.EnsureSigningKey(); err != nil {
		return nil, err
	}
	db, err := database.Open(ctx, database.Options{URL: dbURL(cfg), SQLitePath: cfg.SQLitePath(), MaxConns: cfg.DBMaxConns})
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Log: log, DB: db, opts: opts}
	if err := a.prepareSchema(ctx); err != nil {
		db.Close()
		return nil, err
	}
	a.Store = sqlstore.New(db)
	hasher := identity.NewHasher(cfg.PasswordIter)
	a.Identity = identity.NewService(a.Store, hasher)
	a.Auth = identity.NewAuth(a.Store, a.Store, hasher, identity.NewTokens(cfg.SecretKey, cfg.AccessTokenTTL, cfg.RefreshTokenTTL))
	a.Auth.RotateRefresh = cfg.RotateRefresh
	a.Custody = custody.NewService(a.Store)
	if a.Files, err = filestore.NewLocal(cfg.FilesDir()); err != nil {
		db.Close()
		return nil, err
	}
	if a.Clearance, err = newClearance(cfg, a.Store, a.Files, a.Identity, hasher); err != nil {
		db.Close()
		return nil, err
	}

	workers := river.NewWorkers()
	periodic, err := a.registerWorkers(workers)
	if err != nil {
		db.Close()
		return nil, err
	}
	a.Jobs, err = jobs.New(db, workers, periodic, jobs.Config{
		Work:            opts.Work,
		EmailWorkers:    cfg.QueueEmailWorkers,
		AnalysisWorkers: cfg.QueueAnalysis,
		DefaultWorkers:  cfg.QueueDefault,
		Logger:          log,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	a.Mailer = mail.NewMailer(a.Jobs)
	a.Store.SetMailer(a.Mailer)
	if opts.HTTP {
		a.HTTP = httpapi.New(httpapi.Deps{Config: cfg, DB: db, Jobs: a.Jobs, Logger: log, Auth: a.Auth, Identity: a.Identity,
			Custody: a.Custody, Files: a.Files, Clearance: a.Clearance})
	}
	if err := a.bootstrapAdmin(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

// newClearance builds the HPS service from the configuration (validated
// at load, so the parses cannot fail here but are checked anyway).
func newClearance(cfg *config.Config, store *sqlstore.Store, files *filestore.Local, idsvc *identity.Service, hasher *identity.Hasher) (*clearance.Service, error) {
	loc, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return nil, err
	}
	days, err := cfg.ReminderDays()
	if err != nil {
		return nil, err
	}
	return clearance.NewService(store, files, idsvc, hasher, clearance.Config{
		FrontendURL: cfg.FrontendURL, ApprovalYears: cfg.HPSApprovalYears, ReminderDays: days, Location: loc,
	}), nil
}

func dbURL(cfg *config.Config) string {
	if cfg.IsSQLite() {
		return ""
	}
	return cfg.DatabaseURL
}

// prepareSchema migrates, or with auto-migration off refuses to run on an
// out-of-date schema (a half-deployed upgrade must not serve traffic).
func (a *App) prepareSchema(ctx context.Context) error {
	if a.Config.AutoMigrate {
		res, err := a.DB.Migrate(ctx)
		if err != nil {
			return err
		}
		if len(res) > 0 {
			a.Log.Info("database migrated", "steps", len(res), "engine", a.DB.Engine)
		}
		return nil
	}
	ok, err := a.DB.Current(ctx)
	if err != nil {
		return fmt.Errorf("checking schema: %w", err)
	}
	if !ok {
		return errors.New("database schema is out of date and THOT_AUTO_MIGRATE=false: run `thot migrate up` first")
	}
	return nil
}

// bootstrapAdmin creates the first administrator on an empty database.
// A generated password is written once to the terminal, never to the log.
func (a *App) bootstrapAdmin(ctx context.Context) error {
	u, generated, err := a.Identity.EnsureAdmin(ctx, a.Config.AdminEmail, a.Config.AdminPassword)
	if err != nil {
		return fmt.Errorf("creating the first administrator: %w", err)
	}
	if u == nil {
		return nil
	}
	a.Log.Info("first administrator created", "email", u.Email, "user_id", u.ID)
	if generated != "" {
		fmt.Fprintf(a.opts.Terminal, "\n"+
			"  *** First administrator created. This password is shown only once. ***\n"+
			"      e-mail:   %s\n      username: %s\n      password: %s\n"+
			"  Change it with: thot user set-password %s\n\n", u.Email, u.Username, generated, u.Email)
	}
	return nil
}

// registerWorkers adds every domain's workers and returns the periodic
// jobs. Workers are registered even in insert-only processes: River only
// inserts job kinds its client knows.
func (a *App) registerWorkers(workers *river.Workers) ([]*river.PeriodicJob, error) {
	if err := mail.Register(workers, mail.WorkerDeps{
		DB: a.DB, Sender: mail.NewSender(a.Config, a.Log), SMTPTimeout: a.Config.SMTPTimeout, Logger: a.Log,
	}); err != nil {
		return nil, err
	}
	river.AddWorker(workers, &pruneTokensWorker{app: a})
	river.AddWorker(workers, &hpsExpiryWorker{app: a})
	loc, err := time.LoadLocation(a.Config.TimeZone)
	if err != nil {
		return nil, err
	}
	expHour, expMinute, err := a.Config.ExpiryCheckAt()
	if err != nil {
		return nil, err
	}
	return []*river.PeriodicJob{
		river.NewPeriodicJob(jobs.Daily{Hour: 3, Minute: 30, Location: loc},
			func() (river.JobArgs, *river.InsertOpts) { return pruneTokensArgs{}, nil },
			&river.PeriodicJobOpts{ID: "identity.prune_tokens"}),
		river.NewPeriodicJob(jobs.Daily{Hour: expHour, Minute: expMinute, Location: loc},
			func() (river.JobArgs, *river.InsertOpts) { return hpsExpiryArgs{}, nil },
			&river.PeriodicJobOpts{ID: "clearance.expiry"}),
	}, nil
}

// hpsExpiryArgs runs the daily HPS expiry check: approved clearances past
// their date become expired, and renewal reminders go out at the
// configured distances (clearance.Service.RunExpiry; safe to repeat, so a
// retried or doubled run sends nothing twice).
type hpsExpiryArgs struct{}

func (hpsExpiryArgs) Kind() string { return "clearance.expiry" }

type hpsExpiryWorker struct {
	river.WorkerDefaults[hpsExpiryArgs]
	app *App
}

func (w *hpsExpiryWorker) Work(ctx context.Context, job *river.Job[hpsExpiryArgs]) error {
	rep, err := w.app.Clearance.RunExpiry(ctx)
	if err == nil {
		w.app.Log.Info("HPS expiry check", "expired", rep.Expired, "reminders", rep.Reminders)
	}
	return err
}

// pruneTokensArgs runs the daily clean-up of expired token rows.
type pruneTokensArgs struct{}

func (pruneTokensArgs) Kind() string { return "identity.prune_tokens" }

type pruneTokensWorker struct {
	river.WorkerDefaults[pruneTokensArgs]
	app *App
}

func (w *pruneTokensWorker) Work(ctx context.Context, job *river.Job[pruneTokensArgs]) error {
	n, err := w.app.Auth.Prune(ctx)
	if err == nil {
		w.app.Log.Info("pruned expired tokens", "rows", n)
	}
	return err
}

// Run serves until ctx is cancelled, then shuts down gracefully: HTTP stops
// accepting and finishes in-flight requests, then running jobs get the
// rest of the grace period before being cancelled and handed back.
func (a *App) Run(ctx context.Context, ln net.Listener) error {
	if a.HTTP != nil {
		if err := a.HTTP.Start(ctx); err != nil {
			return err
		}
	}
	// Jobs run on their own context so that Ctrl-C does not kill a job
	// mid-way; Stop below decides when they end.
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	if err := a.Jobs.Start(jobCtx); err != nil {
		return err
	}
	var serveErr error
	if a.HTTP != nil && ln != nil {
		a.Log.Info("listening", "addr", ln.Addr().String(), "engine", a.DB.Engine, "worker", a.Jobs.Working())
		serveErr = a.HTTP.Serve(ctx, ln)
	} else {
		a.Log.Info("worker running", "engine", a.DB.Engine)
		<-ctx.Done()
	}
	a.Log.Info("shutting down")
	stopCtx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancel()
	if err := a.Jobs.Stop(stopCtx); err != nil {
		a.Log.Warn("stopping jobs", "err", err)
	}
	return serveErr
}

// Close releases the database.
func (a *App) Close() error { return a.DB.Close() }

// Listen opens the configured address.
func Listen(cfg *config.Config) (net.Listener, error) {
	var lc net.ListenConfig
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	return ln, nil
}
