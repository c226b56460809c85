package mail

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/jobs"
)

func TestEnqueueDeliversThroughSMTP(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts smtpOptions
	}{
		{"no-auth", smtpOptions{}},
		{"auth", smtpOptions{User: "thot", Password: "s3creto-ñ"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, db *database.DB) {
				srv := startSMTP(t, mode.opts)
				j := startJobs(t, db, NewSMTPSender(smtpConfig(srv)), nil)
				m := NewMailer(j)

				const to = "Íñigo Muñoz <inigo@example.org>"
				if err := enqueue(t, db, m, to, TemplateTest, TestData{RequestedBy: "Begoña Ibáñez"}, "test-mail:1"); err != nil {
					t.Fatalf("EnqueueTx: %v", err)
				}
				waitFor(t, 30*time.Second, "delivery", func() bool { return len(srv.Delivered()) == 1 })

				d := srv.Delivered()[0]
				if d.From != "hps@oficina.example" || len(d.To) != 1 || d.To[0] != "inigo@example.org" {
					t.Errorf("envelope from %q to %v", d.From, d.To)
				}
				if d.User != mode.opts.User {
					t.Errorf("authenticated as %q, want %q", d.User, mode.opts.User)
				}
				p := parseMail(t, d.Data)
				if len(p.From) != 1 || p.From[0].Address != "hps@oficina.example" || p.From[0].Name != "Oficina de Seguridad – Señalización" {
					t.Errorf("From = %v", p.From)
				}
				if len(p.To) != 1 || p.To[0].Address != "inigo@example.org" || p.To[0].Name != "Íñigo Muñoz" {
					t.Errorf("To = %v", p.To)
				}
				if len(p.ReplyTo) != 1 || p.ReplyTo[0].Address != "seguridad@oficina.example" {
					t.Errorf("Reply-To = %v", p.ReplyTo)
				}
				if p.Subject != "Prueba de correo de THOT — configuración correcta, ñ á é" {
					t.Errorf("Subject = %q", p.Subject)
				}
				if date, err := p.Header.Date(); err != nil || time.Since(date) > time.Minute {
					t.Errorf("Date = %v, %v", date, err)
				}
				if got := p.Header.Get("Auto-Submitted"); got != "auto-generated" {
					t.Errorf("Auto-Submitted = %q", got)
				}
				if mt, _, _ := p.Header.ContentType(); mt != "multipart/alternative" {
					t.Errorf("Content-Type = %q", mt)
				}
				if !strings.Contains(p.Parts["text/plain"], "configuración correcta, ñ á é") || !strings.Contains(p.Parts["text/plain"], "Begoña Ibáñez") {
					t.Errorf("text part:\n%s", p.Parts["text/plain"])
				}
				if !strings.Contains(p.Parts["text/html"], "Configuración correcta, ñ á é.") || !strings.Contains(p.Parts["text/html"], "Begoña Ibáñez") {
					t.Errorf("html part:\n%s", p.Parts["text/html"])
				}

				row := rowByKey(t, db, "test-mail:1")
				if p.MessageID != row.MessageID || !strings.HasSuffix(row.MessageID, "@thot") {
					t.Errorf("Message-ID %q, row has %q", p.MessageID, row.MessageID)
				}
				// The row is marked after the relay answered; wait for it.
				waitFor(t, 10*time.Second, "status sent", func() bool { return rowByKey(t, db, "test-mail:1").Status == StatusSent })
				row = rowByKey(t, db, "test-mail:1")
				if row.Attempts != 1 || row.SentAt == nil || row.LastError != "" || row.ToAddr != to {
					t.Errorf("row after send: %+v", row)
				}
			})
		})
	}
}

func TestEnqueueRolledBackSendsNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		srv := startSMTP(t, smtpOptions{})
		j := startJobs(t, db, NewSMTPSender(smtpConfig(srv)), nil)
		m := NewMailer(j)

		errAbort := errors.New("abort")
		err := db.InTx(context.Background(), func(ctx context.Context, tx bun.Tx) error {
			if err := m.EnqueueTx(ctx, tx, "ana@example.org", TemplateTest, TestData{}, "rollback:1"); err != nil {
				return err
			}
			return errAbort
		})
		if !errors.Is(err, errAbort) {
			t.Fatalf("InTx = %v", err)
		}
		if n := countRows(t, db, "mail_messages"); n != 0 {
			t.Errorf("mail_messages has %d rows after rollback", n)
		}
		if n := countRows(t, db, "river_job"); n != 0 {
			t.Errorf("river_job has %d rows after rollback", n)
		}
		// Let the running worker process everything committed so far.
		flush(t, db, m, srv)
		if got := srv.DeliveredTo("ana@example.org"); len(got) != 0 {
			t.Errorf("rolled-back message delivered %d times", len(got))
		}
		if n := countRows(t, db, "river_job"); n != 1 {
			t.Errorf("river_job has %d rows, want only the sentinel's", n)
		}
	})
}

func TestEnqueueSameKeyTwiceDeliversOnce(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		srv := startSMTP(t, smtpOptions{})
		j := startJobs(t, db, NewSMTPSender(smtpConfig(srv)), nil)
		m := NewMailer(j)

		data := sampleData(t, TemplateHPSApproved)
		for i := range 2 {
			if err := enqueue(t, db, m, "ana@example.org", TemplateHPSApproved, data, "hps-approved:42"); err != nil {
				t.Fatalf("enqueue #%d: %v", i+1, err)
			}
		}
		if n := countRows(t, db, "mail_messages"); n != 1 {
			t.Errorf("mail_messages has %d rows", n)
		}
		if n := len(mailJobs(t, db)); n != 1 {
			t.Errorf("%d send jobs", n)
		}
		waitFor(t, 30*time.Second, "delivery", func() bool { return len(srv.DeliveredTo("ana@example.org")) >= 1 })
		flush(t, db, m, srv)
		// After delivery too, the key stays taken.
		if err := enqueue(t, db, m, "ana@example.org", TemplateHPSApproved, data, "hps-approved:42"); err != nil {
			t.Fatalf("enqueue after delivery: %v", err)
		}
		flush(t, db, m, srv)
		if got := srv.DeliveredTo("ana@example.org"); len(got) != 1 {
			t.Errorf("delivered %d times, want 1", len(got))
		}
	})
}

func TestTemporaryFailureIsRetriedAndDeliveredOnce(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		srv := startSMTP(t, smtpOptions{OnData: func(call int, _ []byte) error {
			if call == 1 {
				return errTempFailure
			}
			return nil
		}})
		// An hour's back-off: the retry happens only when the test asks.
		j := startJobs(t, db, NewSMTPSender(smtpConfig(srv)), func(int) time.Duration { return time.Hour })
		m := NewMailer(j)

		if err := enqueue(t, db, m, "ana@example.org", TemplateTest, TestData{}, "retry:1"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "job retryable", func() bool {
			js := mailJobs(t, db)
			return len(js) == 1 && js[0].State == "retryable"
		})
		row := rowByKey(t, db, "retry:1")
		if row.Attempts != 1 || row.Status != StatusQueued || !strings.Contains(row.LastError, "451") {
			t.Errorf("row after failed attempt: status %q attempts %d last_error %q", row.Status, row.Attempts, row.LastError)
		}
		if n := len(srv.Delivered()); n != 0 {
			t.Fatalf("delivered %d after a 451", n)
		}

		jobID := mailJobs(t, db)[0].ID
		if _, err := j.River().JobRetry(context.Background(), jobID); err != nil {
			t.Fatalf("JobRetry: %v", err)
		}
		waitFor(t, 30*time.Second, "delivery after retry", func() bool { return len(srv.Delivered()) == 1 })
		waitFor(t, 10*time.Second, "job completed", func() bool { return mailJobs(t, db)[0].State == "completed" })
		row = rowByKey(t, db, "retry:1")
		if row.Status != StatusSent || row.Attempts != 2 || row.LastError != "" {
			t.Errorf("row after retry: status %q attempts %d last_error %q", row.Status, row.Attempts, row.LastError)
		}
		flush(t, db, m, srv)
		if got, calls := len(srv.DeliveredTo("ana@example.org")), srv.DataCalls(); got != 1 || calls != 3 {
			t.Errorf("delivered %d (want 1), DATA calls %d (want 3: fail, retry, sentinel)", got, calls)
		}
	})
}

func TestPermanentRecipientRefusalIsNotRetried(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		srv := startSMTP(t, smtpOptions{RejectRcpt: map[string]bool{"nadie@example.org": true}})
		j := startJobs(t, db, NewSMTPSender(smtpConfig(srv)), nil)
		m := NewMailer(j)
		if err := enqueue(t, db, m, "nadie@example.org", TemplateTest, TestData{}, "refused:1"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "job cancelled", func() bool {
			js := mailJobs(t, db)
			return len(js) == 1 && js[0].State == "cancelled"
		})
		row := rowByKey(t, db, "refused:1")
		if row.Status != StatusFailed || row.Attempts != 1 || !strings.Contains(row.LastError, "550") {
			t.Errorf("row: status %q attempts %d last_error %q", row.Status, row.Attempts, row.LastError)
		}
	})
}

func TestEnqueueRejectsInvalidAddress(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		m := NewMailer(nil) // never reaches the job insert
		for _, to := range []string{"", "no-es-un-correo", "ana@", "a@b.example, c@d.example", "ana@example.org\r\nBcc: x@example.org"} {
			err := enqueue(t, db, m, to, TemplateTest, TestData{}, "bad:"+to)
			e, ok := errs.As(err)
			if !ok || e.Kind != errs.KindInvalid || e.Fields["email"] == nil {
				t.Errorf("to %q: err = %v, want invalid email field", to, err)
			}
		}
		err := enqueue(t, db, m, "ana@example.org", "nope", TestData{}, "bad-template")
		if err == nil || errs.KindOf(err) != errs.KindInternal {
			t.Errorf("unknown template: err = %v", err)
		}
		if n := countRows(t, db, "mail_messages"); n != 0 {
			t.Errorf("%d rows inserted", n)
		}
	})
}

func TestEnqueueMessageReplyTo(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		srv := startSMTP(t, smtpOptions{})
		j := startJobs(t, db, NewSMTPSender(smtpConfig(srv)), nil)
		m := NewMailer(j)
		msg, err := Render(TemplateTest, TestData{})
		if err != nil {
			t.Fatal(err)
		}
		msg.To, msg.ReplyTo, msg.IdempotencyKey = "ana@example.org", "Jefa de Equipo <jefa@example.org>", "reply-to:1"
		if err := db.InTx(context.Background(), func(ctx context.Context, tx bun.Tx) error { return m.EnqueueMessageTx(ctx, tx, msg) }); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "delivery", func() bool { return len(srv.Delivered()) == 1 })
		p := parseMail(t, srv.Delivered()[0].Data)
		if len(p.ReplyTo) != 1 || p.ReplyTo[0].Address != "jefa@example.org" {
			t.Errorf("Reply-To = %v", p.ReplyTo)
		}
	})
}

// TestWorkerLastAttemptAndSentRow drives SendWorker.Work directly (no
// River scheduling) to reach the cases a live queue takes hours to hit.
func TestWorkerLastAttemptAndSentRow(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		var failing atomic.Bool
		failing.Store(true)
		srv := startSMTP(t, smtpOptions{OnData: func(int, []byte) error {
			if failing.Load() {
				return errTempFailure
			}
			return nil
		}})
		deps := WorkerDeps{DB: db, Sender: NewSMTPSender(smtpConfig(srv)), Logger: testLogger(t)}
		// An insert-only client (Work false): River still insists that
		// the kind is registered.
		workers := river.NewWorkers()
		if err := Register(workers, deps); err != nil {
			t.Fatal(err)
		}
		inserter, err := jobs.New(db, workers, nil, jobs.Config{})
		if err != nil {
			t.Fatal(err)
		}
		m := NewMailer(inserter)
		if err := enqueue(t, db, m, "ana@example.org", TemplateTest, TestData{}, "last:1"); err != nil {
			t.Fatal(err)
		}
		row := rowByKey(t, db, "last:1")
		w := &SendWorker{deps: deps}
		job := func(attempt int) *river.Job[SendArgs] {
			return &river.Job[SendArgs]{JobRow: &rivertype.JobRow{Attempt: attempt, MaxAttempts: 10}, Args: SendArgs{MessageID: row.ID}}
		}

		if err := w.Work(context.Background(), job(9)); err == nil {
			t.Fatal("Work succeeded against a failing relay")
		}
		if r := rowByKey(t, db, "last:1"); r.Status != StatusQueued {
			t.Errorf("after attempt 9 of 10: status %q, want queued", r.Status)
		}
		if err := w.Work(context.Background(), job(10)); err == nil {
			t.Fatal("Work succeeded against a failing relay")
		}
		if r := rowByKey(t, db, "last:1"); r.Status != StatusFailed || r.Attempts != 2 || !strings.Contains(r.LastError, "451") {
			t.Errorf("after the last attempt: status %q attempts %d last_error %q", r.Status, r.Attempts, r.LastError)
		}

		// An operator retries the discarded job once the relay is back.
		failing.Store(false)
		if err := w.Work(context.Background(), job(1)); err != nil {
			t.Fatalf("Work: %v", err)
		}
		if r := rowByKey(t, db, "last:1"); r.Status != StatusSent {
			t.Errorf("status %q, want sent", r.Status)
		}
		// A sent row is never sent again, whatever River asks.
		calls := srv.DataCalls()
		if err := w.Work(context.Background(), job(2)); err != nil {
			t.Fatalf("Work on a sent row: %v", err)
		}
		if srv.DataCalls() != calls || len(srv.Delivered()) != 1 {
			t.Errorf("sent row was sent again")
		}
		if r := rowByKey(t, db, "last:1"); r.Attempts != 3 {
			t.Errorf("attempts = %d, want 3 (no attempt for the sent row)", r.Attempts)
		}
	})
}

// TestSensitiveBodiesPurgedAfterDelivery: a message carrying a temporary
// password is delivered whole, and then its body is gone from
// mail_messages; an ordinary message keeps its body.
func TestSensitiveBodiesPurgedAfterDelivery(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		srv := startSMTP(t, smtpOptions{})
		j := startJobs(t, db, NewSMTPSender(smtpConfig(srv)), nil)
		m := NewMailer(j)
		creds := CredentialsData{Name: "Ana", LoginURL: "https://thot.example.org/login", Username: "ana@example.org",
			Email: "ana@example.org", TemporaryPassword: "Xk7-temporal-9Q"}
		if err := enqueue(t, db, m, "ana@example.org", TemplateCredentials, creds, "creds:ana"); err != nil {
			t.Fatal(err)
		}
		if err := enqueue(t, db, m, "ana@example.org", TemplateHPSApproved, sampleData(t, TemplateHPSApproved), "approved:ana"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "delivery", func() bool { return len(srv.DeliveredTo("ana@example.org")) >= 2 })
		flush(t, db, m, srv)
		var got bool
		for _, d := range srv.DeliveredTo("ana@example.org") {
			got = got || strings.Contains(parseMail(t, d.Data).Parts["text/plain"], "Xk7-temporal-9Q")
		}
		if !got {
			t.Fatal("the delivered credentials mail lacks the temporary password")
		}
		row := rowByKey(t, db, "creds:ana")
		if row.Status != StatusSent || row.BodyText != purgedBody || row.BodyHTML != "" || strings.Contains(row.Subject, "Xk7") {
			t.Errorf("credentials row after delivery: status %s, body %q, html %d bytes", row.Status, row.BodyText, len(row.BodyHTML))
		}
		if row := rowByKey(t, db, "approved:ana"); row.Status != StatusSent || row.BodyText == purgedBody || row.BodyText == "" {
			t.Errorf("ordinary row after delivery: status %s, body %q", row.Status, row.BodyText)
		}
	})
}
