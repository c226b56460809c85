package app_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/app"
	"github.com/thot-security/thot/internal/config"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/mail"
)

func loadConfig(t *testing.T, env map[string]string) *config.Config {
	t.Helper()
	full := map[string]string{"THOT_ENV_FILE": "", "THOT_PASSWORD_ITERATIONS": "1000", "THOT_SHUTDOWN_TIMEOUT": "5s"}
	for k, v := range env {
		full[k] = v
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := full[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// engineEnv returns the environment selecting each engine under test.
func engineEnv(t *testing.T) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{"sqlite": {"THOT_DATA_DIR": t.TempDir()}}
	if os.Getenv(dbtest.EnvURL) != "" {
		out["postgres"] = map[string]string{"THOT_DATA_DIR": t.TempDir(), "DATABASE_URL": dbtest.PostgresURL(t)}
	}
	return out
}

// TestServeEndToEnd starts thot as `serve` does: fresh database, first
// admin printed once, HTTP answering, a mail job delivered to the outbox,
// graceful stop; then a restart that creates no second admin.
func TestServeEndToEnd(t *testing.T) {
	for engine, env := range engineEnv(t) {
		t.Run(engine, func(t *testing.T) {
			cfg := loadConfig(t, env)
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			var term bytes.Buffer
			ctx, cancel := context.WithCancel(context.Background())
			a, err := app.New(ctx, cfg, log, app.Options{HTTP: true, Work: true, Terminal: &term})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(term.String(), "password: ") || !strings.Contains(term.String(), "admin@thot.local") {
				t.Fatalf("first start did not show the admin password once:\n%s", term.String())
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- a.Run(ctx, ln) }()
			base := "http://" + ln.Addr().String()

			resp, err := http.Get(base + "/readyz")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("/readyz: %v %v", resp, err)
			}
			resp.Body.Close()

			err = a.DB.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
				return a.Mailer.EnqueueTx(ctx, tx, "ana@example.org", mail.TemplateTest, mail.TestData{}, "e2e-test-1")
			})
			if err != nil {
				t.Fatal(err)
			}
			outbox := cfg.OutboxDir()
			deadline := time.Now().Add(15 * time.Second)
			var files []string
			for time.Now().Before(deadline) {
				files, _ = filepath.Glob(filepath.Join(outbox, "*.eml"))
				if len(files) > 0 {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if len(files) != 1 {
				t.Fatalf("outbox has %d messages, want 1", len(files))
			}
			b, _ := os.ReadFile(files[0])
			if !bytes.Contains(b, []byte("ana@example.org")) {
				t.Errorf("outbox message lacks the recipient:\n%s", b)
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
			a.Close()

			term.Reset()
			a2, err := app.New(context.Background(), cfg, log, app.Options{HTTP: true, Terminal: &term})
			if err != nil {
				t.Fatal(err)
			}
			defer a2.Close()
			if term.Len() != 0 {
				t.Errorf("restart printed again:\n%s", term.String())
			}
			users, err := a2.Identity.ListUsers(context.Background())
			if err != nil || len(users) != 1 {
				t.Errorf("users after restart: %d %v", len(users), err)
			}
		})
	}
}

func TestRefusesOutdatedSchemaWithoutAutoMigrate(t *testing.T) {
	cfg := loadConfig(t, map[string]string{"THOT_DATA_DIR": t.TempDir(), "THOT_AUTO_MIGRATE": "false"})
	_, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{HTTP: true})
	if err == nil || !strings.Contains(err.Error(), "thot migrate") {
		t.Fatalf("err = %v, want a refusal pointing at `thot migrate`", err)
	}
}
