package mail

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// OutboxSender writes each message as an RFC 5322 .eml file instead of
// sending it: the development default when no relay is configured. The
// bytes are exactly those the SMTP sender would transmit (same builder,
// go-mail's Msg.WriteTo), so any mail client opens them.
type OutboxSender struct {
	dir  string
	from From
	log  *slog.Logger
	now  func() time.Time
}

// NewOutboxSender writes into dir (created 0o700 on first use).
func NewOutboxSender(dir string, from From, log *slog.Logger) *OutboxSender {
	if log == nil {
		log = slog.Default()
	}
	return &OutboxSender{dir: dir, from: from, log: log, now: time.Now}
}

// Dir is where the files go.
func (o *OutboxSender) Dir() string { return o.dir }

// Send writes m to <dir>/<UTC timestamp>-<message id>.eml. The file appears
// complete or not at all (temporary file, then rename), so a reader never
// sees half a message.
func (o *OutboxSender) Send(ctx context.Context, m Message) error {
	now := o.now()
	msg, err := buildMsg(o.from, m, now)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	id := strings.Trim(msg.GetMessageID(), "<>")
	name := now.UTC().Format("20060102T150405.000000000Z") + "-" + safeName(id) + ".eml"
	tmp, err := os.CreateTemp(o.dir, ".tmp-*.eml")
	if err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := msg.WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("mail: outbox: write: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("mail: outbox: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	path := filepath.Join(o.dir, name)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	// Only subject and recipient: bodies may hold temporary passwords.
	o.log.Info("mail written to outbox (no SMTP host configured)", "to", m.To, "subject", m.Subject, "file", name)
	return nil
}

// safeName keeps a Message-ID usable as a file name on every OS.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			return r
		case r == '@':
			return '_'
		}
		return -1
	}, s)
}
