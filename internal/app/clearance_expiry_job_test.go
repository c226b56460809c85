package app_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/app"
)

// expiryJobArgs names the worker registered by app.registerWorkers (the
// periodic job inserts the same kind daily at THOT_HPS_EXPIRY_CHECK_TIME).
type expiryJobArgs struct{}

func (expiryJobArgs) Kind() string { return "clearance.expiry" }

// TestExpiryJobRuns: a "clearance.expiry" job, run by the app's own River
// workers, marks an approved clearance past its date as expired.
func TestExpiryJobRuns(t *testing.T) {
	cfg := loadConfig(t, map[string]string{"THOT_DATA_DIR": t.TempDir(), "THOT_HPS_EXPIRY_CHECK_TIME": "06:45"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{Work: true, Terminal: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, nil) }()

	id := uuid.NewString()
	now := time.Now().UTC()
	expired := time.Date(now.Year(), now.Month(), now.Day()-3, 0, 0, 0, 0, time.UTC)
	if _, err := a.DB.NewRaw(`INSERT INTO hps_requests (id, request_type, status, form_type, document_type, document_number, birth_date,
	first_name, first_last_name, nationality, birth_place, email, phone, expires_at, created_at, updated_at)
	VALUES (?, 'new', 'approved', 'solicitud', '206', '12345678Z', ?, 'Ana', 'Ruiz', '1', 'Soria', 'ana@example.org', '600000000', ?, ?, ?)`,
		id, time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), expired, now, now).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.DB.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := a.Jobs.InsertTx(ctx, tx, expiryJobArgs{}, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var status string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := a.DB.NewRaw("SELECT status FROM hps_requests WHERE id = ?", id).Scan(ctx, &status); err != nil {
			t.Fatal(err)
		}
		if status == "expired" {
			break
		}
	}
	if status != "expired" {
		t.Fatalf("status %q after the expiry job, want expired", status)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
