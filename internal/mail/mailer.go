package mail

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/jobs"
)

// Message is one rendered e-mail. Render fills Subject, Text, HTML and
// Template; EnqueueTx fills the rest.
type Message struct {
	To      string // one address, optionally with a display name
	Subject string
	Text    string
	HTML    string // may be empty: the message is then text/plain only
	// ReplyTo overrides the configured Reply-To for this message.
	ReplyTo  string
	Template string
	// IdempotencyKey identifies the message among all thot ever sends
	// ("hps-approved:<request id>"); enqueuing the same key twice queues
	// one message.
	IdempotencyKey string
	// MessageID is the RFC 5322 Message-ID without angle brackets; every
	// attempt to send this message uses the same one. Empty means the
	// sender makes up a random one (ad-hoc sends outside the queue).
	MessageID string
}

// SendArgs is the River job that sends one queued message.
type SendArgs struct {
	MessageID string `json:"message_id"` // mail_messages.id, not the RFC 5322 Message-ID
}

// Kind implements river.JobArgs.
func (SendArgs) Kind() string { return "mail.send" }

// InsertOpts puts mail on its own queue, so a slow relay does not hold up
// other work, and makes a second job for the same message a no-op.
func (SendArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueEmail, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// JobInserter enqueues a job inside a transaction; *jobs.Client is one.
type JobInserter interface {
	InsertTx(ctx context.Context, tx bun.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

var _ JobInserter = (*jobs.Client)(nil)

// Mailer queues outgoing mail. Queuing is transactional: the message is
// sent if and only if the caller's transaction commits.
type Mailer struct {
	jobs JobInserter
	now  func() time.Time
}

// NewMailer returns a Mailer that enqueues send jobs through j.
func NewMailer(j JobInserter) *Mailer {
	return &Mailer{jobs: j, now: time.Now}
}

// EnqueueTx renders template with data for to and queues it in tx.
// idempotencyKey should name the event that causes the mail
// ("hps-approved:42"), so that a retried request does not mail twice: a
// key already queued (or sent) makes EnqueueTx a no-op returning nil. An
// empty key disables that protection (a random key is used). An invalid
// address is an errs.KindInvalid error on field "email".
func (m *Mailer) EnqueueTx(ctx context.Context, tx bun.Tx, to, template string, data any, idempotencyKey string) error {
	msg, err := Render(template, data)
	if err != nil {
		return err
	}
	msg.To = to
	msg.IdempotencyKey = idempotencyKey
	return m.EnqueueMessageTx(ctx, tx, msg)
}

// EnqueueMessageTx queues an already rendered message in tx, for callers
// that set more than EnqueueTx does (ReplyTo). Rules as for EnqueueTx.
func (m *Mailer) EnqueueMessageTx(ctx context.Context, tx bun.Tx, msg Message) error {
	to, err := validAddress(msg.To)
	if err != nil {
		return errs.Field("email", "Enter a valid email address.")
	}
	replyTo := ""
	if strings.TrimSpace(msg.ReplyTo) != "" {
		if replyTo, err = validAddress(msg.ReplyTo); err != nil {
			return errs.Field("reply_to", "Enter a valid email address.")
		}
	}
	if msg.Subject == "" || msg.Text == "" {
		return fmt.Errorf("mail: message without subject or text (template %q)", msg.Template)
	}
	key := msg.IdempotencyKey
	if key == "" {
		key = "random:" + rand.Text()
	}
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	row := &messageRow{
		ID:             id.String(),
		IdempotencyKey: key,
		MessageID:      messageID(key, id.String()),
		Template:       msg.Template,
		ToAddr:         to,
		ReplyTo:        replyTo,
		Subject:        msg.Subject,
		BodyText:       msg.Text,
		BodyHTML:       msg.HTML,
		Status:         StatusQueued,
		CreatedAt:      m.now().UTC(),
	}
	inserted, err := insertMessage(ctx, tx, row)
	if err != nil {
		return err
	}
	if !inserted {
		// Queued before (by a committed or an in-flight transaction; in
		// the latter case the unique index made us wait for it). Its own
		// job sends it.
		return nil
	}
	if _, err := m.jobs.InsertTx(ctx, tx, SendArgs{MessageID: row.ID}, nil); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	return nil
}

// validAddress accepts exactly one RFC 5322 address and returns it as the
// caller wrote it, trimmed (the display name is kept for the To header).
func validAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return "", err
	}
	// ParseAddress accepts "user@host" without a dot and quoted local
	// parts; relays reject addresses without a domain part after @.
	at := strings.LastIndexByte(a.Address, '@')
	if at <= 0 || at == len(a.Address)-1 {
		return "", fmt.Errorf("no domain")
	}
	return s, nil
}

// messageID derives the Message-ID of a queued message. It depends on the
// idempotency key and on the row's random id: the same for every attempt
// at this message, but different for a later message that reuses a key
// after a database reset — some providers (Gmail) silently drop a message
// whose Message-ID they have already seen.
func messageID(key, rowID string) string {
	sum := sha256.Sum256([]byte(key + "\x00" + rowID))
	return hex.EncodeToString(sum[:16]) + "@thot"
}
