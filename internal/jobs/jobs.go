// Package jobs runs thot's durable background work on River, on SQLite and
// PostgreSQL from one code path (database/sql, *sql.Tx).
//
// Domain packages add their workers to a *river.Workers (river.AddWorker)
// and their periodic jobs to the list passed to New; they enqueue with
// InsertTx inside the transaction of the write that causes the job, so the
// job exists if and only if the write committed.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/database"
)

// The queues thot uses, as the legacy Celery workers had them.
const (
	QueueEmail    = "email"
	QueueAnalysis = "analysis"
	QueueDefault  = river.QueueDefault
)

// Config sets how jobs run in this process.
type Config struct {
	// Work enables job execution. When false the client only inserts (the
	// `serve --no-worker` half of a split deployment).
	Work bool
	// Concurrency per queue; missing queues get 1.
	EmailWorkers, AnalysisWorkers, DefaultWorkers int
	// JobTimeout bounds one attempt; workers may override with Timeout().
	JobTimeout time.Duration
	// RescueAfter returns a job left running by a crashed process to the
	// queue after this long. Must exceed every worker's timeout.
	RescueAfter time.Duration
	// FetchPollInterval is how often queues are polled when no
	// notification arrives (SQLite always polls).
	FetchPollInterval time.Duration
	Logger            *slog.Logger
}

// Client wraps the River client.
type Client struct {
	river   *river.Client[*sql.Tx]
	work    bool
	log     *slog.Logger
	started bool
}

// New builds a client for db with the given workers and periodic jobs.
func New(db *database.DB, workers *river.Workers, periodic []*river.PeriodicJob, cfg Config) (*Client, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if workers == nil {
		workers = river.NewWorkers()
	}
	rc := &river.Config{
		Logger:               cfg.Logger.With("component", "river"),
		Workers:              workers,
		JobTimeout:           orDur(cfg.JobTimeout, time.Minute),
		RescueStuckJobsAfter: orDur(cfg.RescueAfter, 5*time.Minute),
		FetchPollInterval:    orDur(cfg.FetchPollInterval, time.Second),
		MaxAttempts:          10,
		// A job that panics or fails is retried with River's exponential
		// back-off (attempt^4 seconds); the error is logged here.
		ErrorHandler: &errorHandler{log: cfg.Logger},
	}
	if cfg.Work {
		rc.Queues = map[string]river.QueueConfig{
			QueueEmail:    {MaxWorkers: max(cfg.EmailWorkers, 1)},
			QueueAnalysis: {MaxWorkers: max(cfg.AnalysisWorkers, 1)},
			QueueDefault:  {MaxWorkers: max(cfg.DefaultWorkers, 1)},
		}
		rc.PeriodicJobs = periodic
	}
	if rc.FetchPollInterval < 100*time.Millisecond {
		// River refuses a poll interval below the fetch cooldown.
		rc.FetchCooldown = rc.FetchPollInterval
	}
	rc.JobStuckThreshold = rc.JobTimeout + 10*time.Second
	if rc.RescueStuckJobsAfter < rc.JobTimeout {
		rc.RescueStuckJobsAfter = rc.JobTimeout + time.Minute
	}
	c, err := river.NewClient(db.RiverDriver(), rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Client{river: c, work: cfg.Work, log: cfg.Logger}, nil
}

func orDur(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Start begins working the queues (no-op for an insert-only client).
func (c *Client) Start(ctx context.Context) error {
	if !c.work {
		return nil
	}
	if err := c.river.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	c.started = true
	return nil
}

// Stop lets running jobs finish until ctx is done, then cancels them; a
// cancelled job is handed back to the queue by River and retried later.
func (c *Client) Stop(ctx context.Context) error {
	if !c.started {
		return nil
	}
	err := c.river.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		c.log.Warn("jobs: grace period over, cancelling running jobs")
		hard, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return c.river.StopAndCancel(hard)
	}
	return err
}

// InsertTx enqueues a job inside tx; it runs only if tx commits.
func (c *Client) InsertTx(ctx context.Context, tx bun.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := c.river.InsertTx(ctx, tx.Tx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return res, nil
}

// River exposes the underlying client (riverui, tests).
func (c *Client) River() *river.Client[*sql.Tx] { return c.river }

// Working reports whether this process executes jobs.
func (c *Client) Working() bool { return c.work }

type errorHandler struct{ log *slog.Logger }

func (h *errorHandler) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	h.log.Warn("job failed", "kind", job.Kind, "id", job.ID, "attempt", job.Attempt, "max_attempts", job.MaxAttempts, "err", err)
	return nil
}

func (h *errorHandler) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	h.log.Error("job panicked", "kind", job.Kind, "id", job.ID, "attempt", job.Attempt, "panic", fmt.Sprint(panicVal), "trace", trace)
	return nil
}
