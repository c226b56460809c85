package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	_ "github.com/emersion/go-message/charset" // decode any charset a part declares

	"github.com/thot-security/thot/internal/config"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/jobs"
)

// delivery is one message a test SMTP server accepted.
type delivery struct {
	From string
	To   []string
	User string // authenticated user, "" without AUTH
	Data []byte
	At   time.Time
}

// smtpOptions configure a test SMTP server.
type smtpOptions struct {
	User, Password string // non-empty: AUTH PLAIN required before MAIL
	// OnData runs for every DATA (call counts from 1) after the body was
	// read; a non-nil error rejects the message.
	OnData func(call int, body []byte) error
	// RejectRcpt answers RCPT TO for these addresses with a permanent 550.
	RejectRcpt map[string]bool
	// TLS, when set: STARTTLS offered (or, with Implicit, TLS from the
	// first byte).
	TLS      *tls.Config
	Implicit bool
}

// smtpServer is a real go-smtp server on 127.0.0.1 that keeps what it
// accepts in memory.
type smtpServer struct {
	Host string
	Port int
	opts smtpOptions

	mu        sync.Mutex
	dataCalls int
	delivered []delivery
}

func startSMTP(t *testing.T, opts smtpOptions) *smtpServer {
	t.Helper()
	srv := &smtpServer{opts: opts}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{srv: srv}, nil
	}))
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	s.ReadTimeout = 30 * time.Second
	s.WriteTimeout = 30 * time.Second
	s.MaxMessageBytes = 10 << 20
	var ln net.Listener
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtp listen: %v", err)
	}
	if opts.TLS != nil {
		if opts.Implicit {
			ln = tls.NewListener(ln, opts.TLS)
		} else {
			s.TLSConfig = opts.TLS
		}
	}
	addr := ln.Addr().(*net.TCPAddr)
	srv.Host, srv.Port = "127.0.0.1", addr.Port
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return srv
}

// Delivered returns a copy of the accepted messages.
func (s *smtpServer) Delivered() []delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivery(nil), s.delivered...)
}

// DataCalls counts DATA commands, accepted or not.
func (s *smtpServer) DataCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dataCalls
}

// DeliveredTo returns the accepted messages whose envelope includes rcpt.
func (s *smtpServer) DeliveredTo(rcpt string) []delivery {
	var out []delivery
	for _, d := range s.Delivered() {
		for _, r := range d.To {
			if r == rcpt {
				out = append(out, d)
			}
		}
	}
	return out
}

type smtpSession struct {
	srv  *smtpServer
	user string
	from string
	to   []string
}

func (s *smtpSession) AuthMechanisms() []string {
	if s.srv.opts.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != s.srv.opts.User || pass != s.srv.opts.Password {
			return smtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.opts.User != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.srv.opts.RejectRcpt[to] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	s.srv.dataCalls++
	call := s.srv.dataCalls
	s.srv.mu.Unlock()
	if s.srv.opts.OnData != nil {
		if err := s.srv.opts.OnData(call, body); err != nil {
			return err
		}
	}
	s.srv.mu.Lock()
	s.srv.delivered = append(s.srv.delivered, delivery{From: s.from, To: append([]string(nil), s.to...), User: s.user, Data: body, At: time.Now()})
	s.srv.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        { s.from, s.to = "", nil }
func (s *smtpSession) Logout() error { return nil }

// errTempFailure is how a test relay says "not now".
var errTempFailure = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary local problem, try later"}

// smtpConfig points thot's config at srv, with plain TCP and AUTH when srv
// requires it.
func smtpConfig(srv *smtpServer) *config.Config {
	return &config.Config{
		DataDir:       "",
		SMTPHost:      srv.Host,
		SMTPPort:      srv.Port,
		SMTPTLS:       config.TLSNone,
		SMTPUser:      srv.opts.User,
		SMTPPassword:  srv.opts.Password,
		SMTPFromEmail: "hps@oficina.example",
		SMTPFromName:  "Oficina de Seguridad – Señalización",
		SMTPReplyTo:   "seguridad@oficina.example",
		SMTPTimeout:   10 * time.Second,
	}
}

func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// startJobs runs a working jobs client with the mail worker on db; it is
// stopped when the test ends.
func startJobs(t *testing.T, db *database.DB, sender Sender, retry func(int) time.Duration) *jobs.Client {
	t.Helper()
	log := testLogger(t)
	workers := river.NewWorkers()
	if err := Register(workers, WorkerDeps{DB: db, Sender: sender, SMTPTimeout: 10 * time.Second, Retry: retry, Logger: log}); err != nil {
		t.Fatalf("Register: %v", err)
	}
	// 100 ms is the shortest poll River accepts with its default fetch
	// cooldown; SQLite has no LISTEN/NOTIFY, so this is the pickup delay.
	c, err := jobs.New(db, workers, nil, jobs.Config{Work: true, FetchPollInterval: 100 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatalf("jobs.New: %v", err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("jobs start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			t.Errorf("jobs stop: %v", err)
		}
	})
	return c
}

// enqueue queues one message in its own committed transaction.
func enqueue(t *testing.T, db *database.DB, m *Mailer, to, template string, data any, key string) error {
	t.Helper()
	return db.InTx(context.Background(), func(ctx context.Context, tx bun.Tx) error {
		return m.EnqueueTx(ctx, tx, to, template, data, key)
	})
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// flush queues a sentinel message and waits for it: once it has arrived,
// the worker has been running past everything committed before it.
func flush(t *testing.T, db *database.DB, m *Mailer, srv *smtpServer) {
	t.Helper()
	const sentinel = "centinela@example.org"
	before := len(srv.DeliveredTo(sentinel))
	key := "sentinel:" + rand.Text()
	if err := enqueue(t, db, m, sentinel, TemplateTest, TestData{}, key); err != nil {
		t.Fatalf("enqueue sentinel: %v", err)
	}
	waitFor(t, 30*time.Second, "sentinel delivery", func() bool { return len(srv.DeliveredTo(sentinel)) > before })
}

// rowByKey loads the mail_messages row for an idempotency key.
func rowByKey(t *testing.T, db *database.DB, key string) *messageRow {
	t.Helper()
	row := new(messageRow)
	if err := db.NewSelect().Model(row).Where("idempotency_key = ?", key).Scan(context.Background()); err != nil {
		t.Fatalf("load mail row %q: %v", key, err)
	}
	return row
}

func countRows(t *testing.T, db *database.DB, table string) int {
	t.Helper()
	var n int
	if err := db.NewRaw("SELECT count(*) FROM "+table).Scan(context.Background(), &n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

type jobRow struct {
	ID    int64  `bun:"id"`
	State string `bun:"state"`
}

func mailJobs(t *testing.T, db *database.DB) []jobRow {
	t.Helper()
	var rows []jobRow
	if err := db.NewRaw("SELECT id, state FROM river_job WHERE kind = ? ORDER BY id", SendArgs{}.Kind()).Scan(context.Background(), &rows); err != nil {
		t.Fatalf("list jobs: %v", err)
	}
	return rows
}

// parsedMail is a received message decoded the way a mail client would.
type parsedMail struct {
	From, To, ReplyTo []*mail.Address
	Subject           string
	MessageID         string // without angle brackets
	Header            mail.Header
	Parts             map[string]string // content type → decoded UTF-8 body
}

func parseMail(t *testing.T, raw []byte) parsedMail {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, raw)
	}
	var p parsedMail
	p.Header = mr.Header
	if p.From, err = mr.Header.AddressList("From"); err != nil {
		t.Fatalf("From: %v", err)
	}
	if p.To, err = mr.Header.AddressList("To"); err != nil {
		t.Fatalf("To: %v", err)
	}
	if p.ReplyTo, err = mr.Header.AddressList("Reply-To"); err != nil {
		t.Fatalf("Reply-To: %v", err)
	}
	if p.Subject, err = mr.Header.Subject(); err != nil {
		t.Fatalf("Subject: %v", err)
	}
	if p.MessageID, err = mr.Header.MessageID(); err != nil {
		t.Fatalf("Message-ID: %v", err)
	}
	p.Parts = map[string]string{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		h, ok := part.Header.(*mail.InlineHeader)
		if !ok {
			t.Fatalf("unexpected attachment part")
		}
		ct, _, err := h.ContentType()
		if err != nil {
			t.Fatalf("content type: %v", err)
		}
		body, err := io.ReadAll(part.Body)
		if err != nil {
			t.Fatalf("read %s part: %v", ct, err)
		}
		p.Parts[ct] = string(body)
	}
	return p
}

// selfSignedTLS returns a server config for 127.0.0.1 and a client config
// trusting it.
func selfSignedTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	return server, client
}
