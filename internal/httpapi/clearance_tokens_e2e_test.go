package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	gomsg "github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
	"github.com/riverqueue/river"

	_ "github.com/emersion/go-message/charset" // decode any charset a part declares

	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/config"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/identity"
	"github.com/thot-security/thot/internal/jobs"
	"github.com/thot-security/thot/internal/mail"
)

// The public submission end to end: a real SMTP server in the process, a
// working River client sending through it, a transfer template, and the
// HTTP stack. (The SMTP fixture follows internal/mail/fixtures_test.go.)

// hpstokSMTP is a go-smtp server on 127.0.0.1 keeping what it accepts.
type hpstokSMTP struct {
	host string
	port int

	mu        sync.Mutex
	delivered []hpstokDelivery
}

type hpstokDelivery struct {
	to   []string
	data []byte
}

func hpstokStartSMTP(t *testing.T) *hpstokSMTP {
	t.Helper()
	srv := &hpstokSMTP{}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &hpstokSession{srv: srv}, nil }))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 30*time.Second, 30*time.Second
	s.MaxMessageBytes = 10 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtp listen: %v", err)
	}
	srv.host, srv.port = "127.0.0.1", ln.Addr().(*net.TCPAddr).Port
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return srv
}

func (s *hpstokSMTP) to(rcpt string) []hpstokDelivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []hpstokDelivery
	for _, d := range s.delivered {
		for _, r := range d.to {
			if r == rcpt {
				out = append(out, d)
			}
		}
	}
	return out
}

type hpstokSession struct {
	srv *hpstokSMTP
	to  []string
}

func (s *hpstokSession) AuthMechanisms() []string             { return nil }
func (s *hpstokSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *hpstokSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *hpstokSession) Reset()        { s.to = nil }
func (s *hpstokSession) Logout() error { return nil }
func (s *hpstokSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	s.srv.delivered = append(s.srv.delivered, hpstokDelivery{to: append([]string(nil), s.to...), data: b})
	s.srv.mu.Unlock()
	return nil
}

// hpstokText decodes a received message's text/plain part and subject.
func hpstokText(t *testing.T, raw []byte) (subject, text string) {
	t.Helper()
	mr, err := gomsg.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	subject, _ = mr.Header.Subject()
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("part: %v", err)
		}
		if h, ok := p.Header.(*gomsg.InlineHeader); ok {
			if ct, _, _ := h.ContentType(); ct == "text/plain" {
				b, _ := io.ReadAll(p.Body)
				text = string(b)
			}
		}
	}
	return subject, text
}

// hpstokSendMail makes w's mail go out through srv: a working River client
// with the mail worker on an SMTP sender, stopped when the test ends.
func hpstokSendMail(t *testing.T, w *hpstokWorld, db *database.DB, srv *hpstokSMTP) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := &config.Config{SMTPHost: srv.host, SMTPPort: srv.port, SMTPTLS: config.TLSNone,
		SMTPFromEmail: "hps@oficina.example", SMTPFromName: "Oficina de Seguridad", SMTPTimeout: 10 * time.Second}
	workers := river.NewWorkers()
	if err := mail.Register(workers, mail.WorkerDeps{DB: db, Sender: mail.NewSMTPSender(cfg), SMTPTimeout: 10 * time.Second, Logger: log}); err != nil {
		t.Fatal(err)
	}
	jc, err := jobs.New(db, workers, nil, jobs.Config{Work: true, FetchPollInterval: 100 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := jc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := jc.Stop(ctx); err != nil {
			t.Errorf("jobs stop: %v", err)
		}
	})
	w.store.SetMailer(mail.NewMailer(jc))
}

func TestHPSPublicSubmitEndToEnd(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		w := newHpstokWorld(t, db, nil)
		srv := hpstokStartSMTP(t)
		hpstokSendMail(t, w, db, srv)

		// The deputy's transfer template (active), and the chief's, which
		// the deputy's link must not use.
		pdf, err := os.ReadFile("../clearance/testdata/transfer_form.pdf")
		if err != nil {
			t.Fatal(err)
		}
		active, name, typ := true, "Traslado suplente", clearance.TemplateSuplente
		tpl, err := w.clear.CreateTemplate(ctx, clearance.TemplateInput{Name: &name, TemplateType: &typ, Active: &active}, pdf)
		if err != nil {
			t.Fatal(err)
		}
		name2, typ2 := "Traslado jefe", clearance.TemplateJefe
		if _, err := w.clear.CreateTemplate(ctx, clearance.TemplateInput{Name: &name2, TemplateType: &typ2, Active: &active}, pdf); err != nil {
			t.Fatal(err)
		}

		// The deputy sends a transfer link; its e-mail arrives.
		l := w.link(t, w.suplente, map[string]any{"email": "traslado@example.org", "form_type": "traslado", "purpose": "Proyecto Ñandú"})
		hpstokWaitFor(t, 30*time.Second, "form-link mail", func() bool { return len(srv.to("traslado@example.org")) == 1 })
		_, linkText := hpstokText(t, srv.to("traslado@example.org")[0].data)
		if !strings.Contains(linkText, l.URL) {
			t.Fatalf("form-link mail lacks %s:\n%s", l.URL, linkText)
		}

		// The applicant sends the form (the FastAPI route, as deployed
		// frontends do).
		r := w.call("POST", "/api/v1/hps/public?token="+l.Token+"&hps_type=traslado", "", hpstokForm("traslado@example.org", "12345678Z"))
		hpstokExpect(t, "submit", r, 201, `"user_created":true`, `"type":"traslado"`, `"request_type":"transfer"`, `"status":"pending"`)
		for _, leak := range []string{"password", "contraseña"} {
			if strings.Contains(strings.ToLower(r.body), leak) {
				t.Fatalf("answer mentions %q: %s", leak, r.body)
			}
		}
		id := decode[map[string]any](t, r)["id"].(string)

		// The account.
		u := hpstokAccount(t, db, "traslado@example.org")
		if u.Role != identity.RoleMember || u.TeamID != w.team || !u.MustChangePassword {
			t.Fatalf("account: %+v", u)
		}

		// The filled transfer form, from the deputy's template.
		req, err := w.store.RequestByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if req.TemplateID == nil || *req.TemplateID != tpl.ID || req.FilledPDF == "" {
			t.Fatalf("request template %v (want %d), filled %q", req.TemplateID, tpl.ID, req.FilledPDF)
		}
		rc, _, err := w.files.Open(ctx, req.FilledPDF)
		if err != nil {
			t.Fatal(err)
		}
		filled, _ := io.ReadAll(rc)
		rc.Close()
		fields, err := clearance.ExtractFields(filled)
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]string{"Nombre": "BEGOÑA", "Apellidos": "NÚÑEZ IBÁÑEZ", "DNI": "12345678Z",
			"Fecha de nacimiento": "14/03/1985", "LugarNacimiento": "LOGROÑO", "Email": "traslado@example.org"} {
			if fields[k] != want {
				t.Errorf("field %q = %q, want %q", k, fields[k], want)
			}
		}

		// The credentials e-mail arrives with the login URL and the
		// temporary password, which logs in.
		hpstokWaitFor(t, 30*time.Second, "credentials mail", func() bool { return len(srv.to("traslado@example.org")) == 2 })
		var credText string
		for _, d := range srv.to("traslado@example.org") {
			if subj, text := hpstokText(t, d.data); strings.Contains(subj, "credenciales") {
				credText = text
			}
		}
		if !strings.Contains(credText, "https://thot.example.org/login") || !strings.Contains(credText, "traslado@example.org") {
			t.Fatalf("credentials mail:\n%s", credText)
		}
		temp := hpstokTempPassword(t, credText)
		if strings.Contains(r.body, temp) {
			t.Fatal("the answer carries the temporary password")
		}
		hpstokExpect(t, "login", w.call("POST", "/api/token/", "", map[string]any{"username": "traslado@example.org", "password": temp}), 200, `"access"`)

		// The link is spent.
		hpstokExpect(t, "again", w.call("POST", "/api/v1/hps/public?token="+l.Token+"&hps_type=traslado", "", hpstokForm("traslado@example.org", "12345678Z")), 401)
	})
}

// hpstokWaitFor polls cond until it holds or the deadline passes.
func hpstokWaitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
