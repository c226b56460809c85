package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/database"
)

// The expiry job's persistence (clearance.ExpiryStore). Reminders are
// recorded in hps_reminders, whose primary key (request_id, days) is what
// makes "at most one reminder per request and distance" hold across
// concurrent runs: the e-mail is queued in the transaction that inserts
// the row, and a run that finds the row already there sends nothing.

// ApprovedExpiringBefore implements clearance.ExpiryStore.
func (s *Store) ApprovedExpiringBefore(ctx context.Context, day time.Time) ([]string, error) {
	var ids []string
	if err := s.db.NewRaw("SELECT id FROM hps_requests WHERE status = 'approved' AND expires_at < ? ORDER BY expires_at, id",
		*dateUTC(&day)).Scan(ctx, &ids); err != nil && !isNoRows(err) {
		return nil, database.Translate(err)
	}
	return ids, nil
}

type reminderSentRow struct {
	RequestID string `bun:"request_id"`
	Days      int    `bun:"days"`
}

// ReminderCandidates implements clearance.ExpiryStore: the requests in one
// statement, the distances already sent for them in another.
func (s *Store) ReminderCandidates(ctx context.Context, from, to time.Time) ([]clearance.ReminderCandidate, error) {
	f, t := *dateUTC(&from), *dateUTC(&to)
	var rows []requestViewRow
	if err := s.db.NewRaw(s.requestViewSQL()+" WHERE h.status = 'approved' AND h.expires_at >= ? AND h.expires_at <= ? ORDER BY h.expires_at, h.id",
		f, t).Scan(ctx, &rows); err != nil && !isNoRows(err) {
		return nil, database.Translate(err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	var sent []reminderSentRow
	if err := s.db.NewRaw(`SELECT r.request_id, r.days FROM hps_reminders AS r JOIN hps_requests AS h ON h.id = r.request_id
WHERE h.status = 'approved' AND h.expires_at >= ? AND h.expires_at <= ?`, f, t).Scan(ctx, &sent); err != nil && !isNoRows(err) {
		return nil, database.Translate(err)
	}
	byID := map[string][]int{}
	for _, r := range sent {
		byID[r.RequestID] = append(byID[r.RequestID], r.Days)
	}
	out := make([]clearance.ReminderCandidate, len(rows))
	for i := range rows {
		r := rows[i].view()
		out[i] = clearance.ReminderCandidate{Request: *r, Sent: byID[r.ID]}
	}
	return out, nil
}

// errReminderTaken rolls back a reminder another run already sent.
var errReminderTaken = errors.New("reminder already sent")

// SendReminder implements clearance.ExpiryStore.
func (s *Store) SendReminder(ctx context.Context, rem clearance.Reminder) (bool, error) {
	if len(rem.Days) == 0 {
		return false, nil
	}
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		now := time.Now().UTC()
		for i, d := range rem.Days {
			res, err := tx.NewRaw("INSERT INTO hps_reminders (request_id, days, sent_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
				rem.RequestID, d, now).Exec(ctx)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 && i == 0 {
				return errReminderTaken
			}
		}
		entry := map[string]any{"days": rem.Days, "to": rem.Notice.To}
		if rem.TokenHash != "" {
			t := rem.Token
			row := &tokenRow{ID: t.ID, TokenHash: rem.TokenHash, TokenPrefix: t.Prefix, Email: t.Email, RequestedByID: t.RequestedByID,
				Purpose: t.Purpose, FormType: string(t.FormType), RequestType: string(t.RequestType),
				ExpiresAt: t.ExpiresAt.UTC(), CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC()}
			if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
				return err
			}
			na := tokenAudit(row)
			na["renews_request_id"] = rem.RequestID
			if err := writeAudit(ctx, tx, audit.Entry{Action: audit.ActionCreate, TableName: "hps_tokens", RecordID: t.ID, NewValues: na}); err != nil {
				return err
			}
			entry["renewal_link_id"] = t.ID
		}
		if err := writeAudit(ctx, tx, audit.Entry{Action: audit.ActionCreate, TableName: "hps_reminders", RecordID: rem.RequestID,
			NewValues: entry}); err != nil {
			return err
		}
		return s.enqueueNotices(ctx, tx, []clearance.Notice{rem.Notice})
	})
	if errors.Is(err, errReminderTaken) {
		return false, nil
	}
	if err != nil {
		return false, database.Translate(err)
	}
	return true, nil
}
