package mail

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/thot-security/thot/internal/config"
)

func TestOutboxSenderWritesParseableEML(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "outbox")
	cfg := &config.Config{SMTPFromEmail: "hps@oficina.example", SMTPFromName: "Oficina de Seguridad", SMTPReplyTo: "seguridad@oficina.example"}
	o := NewOutboxSender(dir, FromConfig(cfg), testLogger(t))

	msg, err := Render(TemplateCredentials, sampleData(t, TemplateCredentials))
	if err != nil {
		t.Fatal(err)
	}
	msg.To = "Íñigo Muñoz <inigo@example.org>"
	msg.MessageID = messageID("credentials:7", "0190b1e2-0000-7000-8000-000000000000")
	if err := o.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}

	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("outbox dir mode %v, want 0700", st.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("outbox holds %d entries, want 1 (no temp files left)", len(entries))
	}
	name := entries[0].Name()
	local := strings.TrimSuffix(msg.MessageID, "@thot")
	if !regexp.MustCompile(`^\d{8}T\d{6}\.\d{9}Z-` + local + `_thot\.eml$`).MatchString(name) {
		t.Errorf("file name %q", name)
	}
	info, _ := entries[0].Info()
	if info.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", info.Mode().Perm())
	}
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	p := parseMail(t, raw)
	if p.Subject != "Bienvenido al sistema HPS – sus credenciales de acceso" {
		t.Errorf("Subject = %q", p.Subject)
	}
	if p.MessageID != msg.MessageID {
		t.Errorf("Message-ID = %q, want %q", p.MessageID, msg.MessageID)
	}
	if len(p.From) != 1 || p.From[0].Address != "hps@oficina.example" || len(p.To) != 1 || p.To[0].Name != "Íñigo Muñoz" {
		t.Errorf("From %v To %v", p.From, p.To)
	}
	if !strings.Contains(p.Parts["text/plain"], "Contraseña temporal: Xk3p9QmA2bZr") || !strings.Contains(p.Parts["text/html"], "Xk3p9QmA2bZr") {
		t.Errorf("parts: %v", p.Parts)
	}
	// RFC 5322 line endings, as on the wire.
	if !strings.Contains(string(raw), "\r\n") {
		t.Errorf("file lacks CRLF line endings")
	}
}

func TestNewSenderPicksByConfig(t *testing.T) {
	cfg := &config.Config{DataDir: t.TempDir(), SMTPPort: 587, SMTPTLS: config.TLSStartTLS}
	o, ok := NewSender(cfg, nil).(*OutboxSender)
	if !ok || o.Dir() != cfg.OutboxDir() {
		t.Errorf("without SMTP host: %T, want *OutboxSender in %s", NewSender(cfg, nil), cfg.OutboxDir())
	}
	cfg.SMTPHost = "smtp.example.org"
	if _, ok := NewSender(cfg, nil).(*SMTPSender); !ok {
		t.Errorf("with SMTP host: %T, want *SMTPSender", NewSender(cfg, nil))
	}
}

// TestSMTPSenderTLSModes checks the config → go-mail TLS mapping against
// a real TLS server: STARTTLS and implicit TLS with AUTH, and that
// STARTTLS is mandatory (no silent fallback to plain text).
func TestSMTPSenderTLSModes(t *testing.T) {
	serverTLS, clientTLS := selfSignedTLS(t)
	msg, err := Render(TemplateTest, TestData{})
	if err != nil {
		t.Fatal(err)
	}
	msg.To = "ana@example.org"

	for _, c := range []struct {
		name     string
		mode     string
		implicit bool
	}{
		{"starttls", config.TLSStartTLS, false},
		{"implicit", config.TLSImplicit, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := startSMTP(t, smtpOptions{User: "thot", Password: "clave", TLS: serverTLS, Implicit: c.implicit})
			cfg := smtpConfig(srv)
			cfg.SMTPTLS = c.mode
			s := NewSMTPSender(cfg)
			s.tlsConfig = clientTLS
			if err := s.Send(context.Background(), msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if d := srv.Delivered(); len(d) != 1 || d[0].User != "thot" {
				t.Fatalf("delivered %+v", d)
			}
		})
	}

	t.Run("starttls-required", func(t *testing.T) {
		srv := startSMTP(t, smtpOptions{}) // no TLS offered
		cfg := smtpConfig(srv)
		cfg.SMTPTLS = config.TLSStartTLS
		s := NewSMTPSender(cfg)
		s.tlsConfig = clientTLS
		if err := s.Send(context.Background(), msg); err == nil || IsPermanent(err) {
			t.Errorf("Send without STARTTLS = %v, want a retryable error", err)
		}
		if n := len(srv.Delivered()); n != 0 {
			t.Errorf("delivered %d in clear text", n)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		srv := startSMTP(t, smtpOptions{OnData: func(int, []byte) error { time.Sleep(3 * time.Second); return nil }})
		cfg := smtpConfig(srv)
		cfg.SMTPTimeout = 500 * time.Millisecond
		start := time.Now()
		err := NewSMTPSender(cfg).Send(context.Background(), msg)
		if err == nil {
			t.Fatalf("Send succeeded despite a stalled relay")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Send took %s with a 500ms timeout", d)
		}
	})
}
