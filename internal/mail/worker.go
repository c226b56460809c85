package mail

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/thot-security/thot/internal/database"
)

// WorkerDeps is what the send worker needs.
type WorkerDeps struct {
	DB     *database.DB
	Sender Sender
	// SMTPTimeout is the relay timeout (config SMTPTimeout); the job's
	// timeout is derived from it.
	SMTPTimeout time.Duration
	// Retry, when set, gives the delay before attempt+1 after a failed
	// attempt; nil keeps River's back-off (attempt⁴ seconds: 1 s, 16 s,
	// 81 s, … about 4 h over the 10 attempts).
	Retry  func(attempt int) time.Duration
	Logger *slog.Logger
}

// Register adds the send worker to workers. Insert-only processes
// (jobs.Config.Work false) must register it too: River refuses to insert a
// job whose kind its client does not know.
func Register(workers *river.Workers, d WorkerDeps) error {
	if d.DB == nil || d.Sender == nil {
		return errors.New("mail: Register needs DB and Sender")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return river.AddWorkerSafely(workers, &SendWorker{deps: d})
}

// SendWorker sends one queued message per job.
type SendWorker struct {
	river.WorkerDefaults[SendArgs]
	deps WorkerDeps
}

// Timeout bounds one attempt. go-mail sets its connection deadline to the
// SMTP timeout at dial and extends it once before the transaction, so an
// attempt can take up to twice the SMTP timeout; the margin covers the
// database writes around it. River's rescuer also reads this: it leaves a
// "running" mail job alone until Timeout has passed since the attempt
// began, even when jobs.Config.RescueAfter is shorter, so a slow but live
// attempt is not started a second time. The cost is that after a crash a
// mail job waits max(RescueAfter, Timeout), plus up to one rescuer
// interval (30 s), before it runs again.
func (w *SendWorker) Timeout(*river.Job[SendArgs]) time.Duration {
	t := w.deps.SMTPTimeout
	if t <= 0 {
		t = 30 * time.Second
	}
	return 2*t + 10*time.Second
}

// NextRetry implements river.Worker; zero keeps the client's policy.
func (w *SendWorker) NextRetry(job *river.Job[SendArgs]) time.Time {
	if w.deps.Retry == nil {
		return time.Time{}
	}
	return time.Now().Add(w.deps.Retry(job.Attempt))
}

// Work sends the message unless it was already sent. The order of writes
// is what makes a retried job safe:
//
//  1. status 'sent' → done, nothing is sent twice;
//  2. 'sending', attempts+1 is committed before connecting to the relay;
//  3. success → 'sent' (its own statement, retried briefly on error);
//  4. failure → last_error recorded, status back to 'queued' (or 'failed'
//     after the last attempt), and the error returned so River retries.
func (w *SendWorker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	id := job.Args.MessageID
	row, err := loadMessage(ctx, w.deps.DB.DB, id)
	if errors.Is(err, sql.ErrNoRows) {
		// Inserted in the same transaction as the job, so this cannot
		// happen unless someone deleted the row: nothing left to send.
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if row.Status == StatusSent {
		return nil
	}
	claimed, err := markSending(ctx, w.deps.DB.DB, id)
	if err != nil {
		return err
	}
	if !claimed {
		return nil // became 'sent' since we loaded it
	}

	sendErr := w.deps.Sender.Send(ctx, row.message())

	// Bookkeeping must survive the job's context ending (timeout, shutdown)
	// right after the relay answered: losing 'sent' means sending again.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	log := w.deps.Logger.With("mail_id", id, "template", row.Template, "attempt", job.Attempt)

	if sendErr == nil {
		if err := retryBrief(bctx, func() error { return markSent(bctx, w.deps.DB.DB, id, time.Now(), Sensitive(row.Template)) }); err != nil {
			// Delivered but not recorded. Returning the error would have
			// River send it again; completing the job leaves the row in
			// 'sending', which an operator can read as "probably sent".
			log.Error("mail sent but not marked sent", "err", err)
			return nil
		}
		log.Info("mail sent")
		return nil
	}

	final := IsPermanent(sendErr) || job.Attempt >= job.MaxAttempts
	if err := markFailedAttempt(bctx, w.deps.DB.DB, id, sendErr, final); err != nil {
		log.Error("recording mail failure", "err", err)
	}
	if IsPermanent(sendErr) {
		log.Warn("mail refused permanently", "err", sendErr)
		return river.JobCancel(sendErr)
	}
	return fmt.Errorf("mail send (attempt %d of %d): %w", job.Attempt, job.MaxAttempts, sendErr)
}

// retryBrief runs f up to three times, a second apart: enough to ride out
// a SQLite lock or a PostgreSQL fail-over blip.
func retryBrief(ctx context.Context, f func() error) error {
	var err error
	for i := range 3 {
		if i > 0 {
			select {
			case <-ctx.Done():
				return errors.Join(err, ctx.Err())
			case <-time.After(time.Second):
			}
		}
		if err = f(); err == nil {
			return nil
		}
	}
	return err
}
