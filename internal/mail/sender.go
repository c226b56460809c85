package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/thot-security/thot/internal/config"
)

// Sender hands one message to the outside world. A nil error means the
// message left thot (a relay accepted it, or the .eml file is on disk).
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// From is who thot's mail comes from.
type From struct {
	Name    string // display name, may be empty
	Address string
	ReplyTo string // default Reply-To, may be empty
}

// FromConfig reads the sender identity from cfg.
func FromConfig(cfg *config.Config) From {
	return From{Name: cfg.SMTPFromName, Address: cfg.FromAddress(), ReplyTo: cfg.SMTPReplyTo}
}

// NewSender returns the SMTP sender when a relay is configured, otherwise
// the outbox sender (development: mail lands as .eml files).
func NewSender(cfg *config.Config, log *slog.Logger) Sender {
	if cfg.SMTPConfigured() {
		return NewSMTPSender(cfg)
	}
	return NewOutboxSender(cfg.OutboxDir(), FromConfig(cfg), log)
}

// buildMsg turns m into the MIME message both senders emit:
// multipart/alternative (text, then HTML) in UTF-8 quoted-printable, with
// the stable Message-ID.
func buildMsg(from From, m Message, now time.Time) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	var err error
	if from.Name != "" {
		err = msg.FromFormat(from.Name, from.Address)
	} else {
		err = msg.From(from.Address)
	}
	if err != nil {
		return nil, fmt.Errorf("mail: from address %q: %w", from.Address, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, permanent(fmt.Errorf("mail: recipient: %w", err))
	}
	replyTo := m.ReplyTo
	if replyTo == "" {
		replyTo = from.ReplyTo
	}
	if replyTo != "" {
		if err := msg.ReplyTo(replyTo); err != nil {
			return nil, fmt.Errorf("mail: reply-to %q: %w", replyTo, err)
		}
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(now)
	if m.MessageID != "" {
		msg.SetMessageIDWithValue(m.MessageID)
	} else {
		msg.SetMessageID()
	}
	msg.SetUserAgent("THOT")
	// RFC 3834: tells autoresponders (out-of-office) not to answer.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// SMTPSender delivers through the configured relay with go-mail.
type SMTPSender struct {
	host     string
	port     int
	tlsMode  string
	user     string
	password string
	timeout  time.Duration
	from     From
	// tlsConfig overrides go-mail's default (tests trust a local CA).
	tlsConfig *tls.Config
}

// NewSMTPSender returns a sender for cfg's relay.
func NewSMTPSender(cfg *config.Config) *SMTPSender {
	return &SMTPSender{
		host:     cfg.SMTPHost,
		port:     cfg.SMTPPort,
		tlsMode:  cfg.SMTPTLS,
		user:     cfg.SMTPUser,
		password: cfg.SMTPPassword,
		timeout:  cfg.SMTPTimeout,
		from:     FromConfig(cfg),
	}
}

// client builds a go-mail client per send: a Client mutates its auth state
// while authenticating, so one shared by concurrent workers would race.
func (s *SMTPSender) client() (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithPort(s.port)}
	switch s.tlsMode {
	case config.TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case config.TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default: // config.TLSStartTLS; config validation rejects anything else
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.tlsConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(s.tlsConfig))
	}
	if s.timeout > 0 {
		opts = append(opts, gomail.WithTimeout(s.timeout))
	}
	if s.user != "" {
		// PLAIN or LOGIN, whichever the relay offers (Exchange often only
		// LOGIN). go-mail refuses both over an unencrypted connection to
		// anything but localhost, so TLSNone with a password only works
		// for a relay on the same host.
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.user), gomail.WithPassword(s.password))
	}
	return gomail.NewClient(s.host, opts...)
}

// Send delivers m. A relay's permanent refusal of the recipient is marked
// permanent (retrying cannot help); everything else may be retried.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	msg, err := buildMsg(s.from, m, time.Now())
	if err != nil {
		return err
	}
	c, err := s.client()
	if err != nil {
		return fmt.Errorf("mail: smtp client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && se.Reason == gomail.ErrSMTPRcptTo && !se.IsTemp() {
			return permanent(fmt.Errorf("mail: smtp %s:%d: %w", s.host, s.port, err))
		}
		return fmt.Errorf("mail: smtp %s:%d: %w", s.host, s.port, err)
	}
	return nil
}

// permanentError marks a failure that no retry can fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err: err} }

// IsPermanent reports whether err says retrying the send is pointless.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
