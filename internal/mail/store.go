package mail

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Message statuses (mail_messages.status).
//
//	queued  → waiting for (another) attempt
//	sending → an attempt started; if no job is running, the process died
//	          mid-attempt and the relay may or may not have the message
//	sent    → the relay accepted it; never sent again
//	failed  → the last attempt failed, or the relay refused the recipient
const (
	StatusQueued  = "queued"
	StatusSending = "sending"
	StatusSent    = "sent"
	StatusFailed  = "failed"
)

// maxErrorLen bounds last_error; relay replies can be long and the column
// is for an operator's glance, not a log.
const maxErrorLen = 2000

// messageRow is one mail_messages row. mail owns this table; no other
// package reads or writes it.
type messageRow struct {
	bun.BaseModel `bun:"table:mail_messages"`

	ID             string     `bun:"id,pk"`
	IdempotencyKey string     `bun:"idempotency_key"`
	MessageID      string     `bun:"message_id"`
	Template       string     `bun:"template"`
	ToAddr         string     `bun:"to_addr"`
	ReplyTo        string     `bun:"reply_to"`
	Subject        string     `bun:"subject"`
	BodyText       string     `bun:"body_text"`
	BodyHTML       string     `bun:"body_html"`
	Status         string     `bun:"status"`
	Attempts       int        `bun:"attempts"`
	LastError      string     `bun:"last_error"`
	CreatedAt      time.Time  `bun:"created_at"`
	SentAt         *time.Time `bun:"sent_at"`
}

func (r *messageRow) message() Message {
	return Message{
		To:             r.ToAddr,
		Subject:        r.Subject,
		Text:           r.BodyText,
		HTML:           r.BodyHTML,
		ReplyTo:        r.ReplyTo,
		Template:       r.Template,
		IdempotencyKey: r.IdempotencyKey,
		MessageID:      r.MessageID,
	}
}

// insertMessage adds row unless a row with the same idempotency key exists;
// inserted is false in that case. It runs on tx only: on SQLite the caller's
// transaction holds the one connection.
func insertMessage(ctx context.Context, tx bun.Tx, row *messageRow) (inserted bool, err error) {
	res, err := tx.NewInsert().Model(row).On("CONFLICT (idempotency_key) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("mail: insert message: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("mail: insert message: %w", err)
	}
	return n == 1, nil
}

// loadMessage returns the row with id; sql.ErrNoRows (wrapped) if absent.
func loadMessage(ctx context.Context, db bun.IDB, id string) (*messageRow, error) {
	row := new(messageRow)
	if err := db.NewSelect().Model(row).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("mail: load message %s: %w", id, err)
	}
	return row, nil
}

// markSending records the start of an attempt. It is one autocommitted
// statement, so the attempt is on disk before any byte reaches the relay.
// claimed is false when the row is already sent (nothing to do).
func markSending(ctx context.Context, db bun.IDB, id string) (claimed bool, err error) {
	res, err := db.NewUpdate().Model((*messageRow)(nil)).
		Set("status = ?", StatusSending).
		Set("attempts = attempts + 1").
		Where("id = ?", id).
		Where("status <> ?", StatusSent).
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("mail: mark sending: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("mail: mark sending: %w", err)
	}
	return n == 1, nil
}

// purgedBody replaces the body of a delivered message that carried a
// secret (Sensitive).
const purgedBody = "[Contenido borrado tras el envío: contenía credenciales o un enlace de un solo uso.]"

// markSent records delivery to the relay. A sensitive message's body is
// dropped in the same statement: the outbox is not a second copy of a
// temporary password or a form link.
func markSent(ctx context.Context, db bun.IDB, id string, at time.Time, sensitive bool) error {
	q := db.NewUpdate().Model((*messageRow)(nil)).
		Set("status = ?", StatusSent).
		Set("sent_at = ?", at.UTC()).
		Set("last_error = ''").
		Where("id = ?", id)
	if sensitive {
		q = q.Set("body_text = ?", purgedBody).Set("body_html = ''")
	}
	_, err := q.Exec(ctx)
	if err != nil {
		return fmt.Errorf("mail: mark sent: %w", err)
	}
	return nil
}

// markFailedAttempt records why an attempt failed; final says no further
// attempt will follow (status failed) rather than a retry (status queued).
func markFailedAttempt(ctx context.Context, db bun.IDB, id string, cause error, final bool) error {
	status := StatusQueued
	if final {
		status = StatusFailed
	}
	msg := cause.Error()
	if len(msg) > maxErrorLen {
		// Cut on a rune boundary: PostgreSQL rejects invalid UTF-8.
		msg = strings.ToValidUTF8(msg[:maxErrorLen], "")
	}
	_, err := db.NewUpdate().Model((*messageRow)(nil)).
		Set("status = ?", status).
		Set("last_error = ?", msg).
		Where("id = ?", id).
		Where("status <> ?", StatusSent).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("mail: record failure: %w", err)
	}
	return nil
}
