package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/jobs"
)

// markArgs is a job that records that it ran.
type markArgs struct {
	Label string `json:"label"`
}

func (markArgs) Kind() string { return "test.mark" }

type markWorker struct {
	river.WorkerDefaults[markArgs]
	mu   sync.Mutex
	runs map[string]int
}

func (w *markWorker) Work(ctx context.Context, job *river.Job[markArgs]) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.runs[job.Args.Label]++
	return nil
}

func (w *markWorker) count(label string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.runs[label]
}

func startClient(t *testing.T, db *database.DB, w *markWorker) *jobs.Client {
	t.Helper()
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	c, err := jobs.New(db, workers, nil, jobs.Config{
		Work: true, FetchPollInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Stop(ctx)
	})
	return c
}

func jobCount(t *testing.T, db *database.DB, state string) int {
	t.Helper()
	var n int
	q := "SELECT count(*) FROM river_job"
	args := []any{}
	if state != "" {
		q += " WHERE state = ?"
		args = append(args, state)
	}
	if err := db.NewRaw(q, args...).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTransactionalEnqueue(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		w := &markWorker{runs: map[string]int{}}
		c := startClient(t, db, w)

		rollback := errors.New("rolled back on purpose")
		err := db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			if _, err := c.InsertTx(ctx, tx, markArgs{Label: "rolled-back"}, nil); err != nil {
				return err
			}
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatalf("InTx = %v", err)
		}
		err = db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			_, err := c.InsertTx(ctx, tx, markArgs{Label: "committed"}, nil)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		deadline := time.Now().Add(20 * time.Second)
		for w.count("committed") == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if got := w.count("committed"); got != 1 {
			t.Fatalf("committed job ran %d times, want 1", got)
		}
		// Give the queue several more fetch rounds to (wrongly) run
		// anything else, then check nothing did.
		for i := 0; i < 10; i++ {
			time.Sleep(50 * time.Millisecond)
		}
		if got := w.count("committed"); got != 1 {
			t.Errorf("committed job ran %d times, want exactly 1", got)
		}
		if got := w.count("rolled-back"); got != 0 {
			t.Errorf("rolled-back job ran %d times, want 0", got)
		}
		if n := jobCount(t, db, ""); n != 1 {
			t.Errorf("river_job has %d rows, want only the committed job", n)
		}
		deadline = time.Now().Add(5 * time.Second)
		for jobCount(t, db, "completed") != 1 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := jobCount(t, db, "completed"); n != 1 {
			t.Errorf("completed jobs = %d, want 1", n)
		}
	})
}

func TestInsertOnlyClientDoesNotWork(t *testing.T) {
	db := dbtest.SQLite(t)
	w := &markWorker{runs: map[string]int{}}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	c, err := jobs.New(db, workers, nil, jobs.Config{Work: false})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := c.InsertTx(ctx, tx, markArgs{Label: "queued"}, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if w.count("queued") != 0 {
		t.Fatal("an insert-only client ran a job")
	}
	if n := jobCount(t, db, "available"); n != 1 {
		t.Fatalf("available jobs = %d, want 1", n)
	}
}

func TestDailyScheduleFollowsMadridTime(t *testing.T) {
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Skip("no tzdata")
	}
	d := jobs.Daily{Hour: 7, Minute: 30, Location: madrid}
	tests := []struct{ now, want string }{
		{"2026-11-27T05:00:00Z", "2026-11-27T06:30:00Z"}, // winter, CET = UTC+1
		{"2026-11-27T06:30:00Z", "2026-11-28T06:30:00Z"}, // exactly at: next day
		{"2026-07-01T04:00:00Z", "2026-07-01T05:30:00Z"}, // summer, CEST = UTC+2
		{"2026-03-28T12:00:00Z", "2026-03-29T05:30:00Z"}, // across the DST change
	}
	for _, tt := range tests {
		now, _ := time.Parse(time.RFC3339, tt.now)
		want, _ := time.Parse(time.RFC3339, tt.want)
		if got := d.Next(now); !got.Equal(want) {
			t.Errorf("Next(%s) = %s, want %s", tt.now, got.UTC().Format(time.RFC3339), tt.want)
		}
	}
}
