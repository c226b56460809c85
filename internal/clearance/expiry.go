package clearance

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/mail"
)

// Expiry runs once a day (a River periodic job at THOT_HPS_EXPIRY_CHECK_TIME
// in THOT_TIMEZONE) and is safe to run any number of times:
//
//   - approved requests whose expires_at is before today become expired
//     (ActorSystem through the state machine and the request store's
//     ApplyTransition: locked, audited as "system", status e-mail);
//   - for each distance in Config.ReminderDays (default 270, 90, 30) a
//     request gets at most one renewal reminder, recorded in hps_reminders
//     in the transaction that queues the e-mail (its primary key makes a
//     concurrent run send nothing twice). A reminder is due when
//     days_left ≤ distance and not yet sent; when several are due at once
//     (the first run, a clearance approved with little time left, days
//     the job did not run) only the most urgent is sent and the larger
//     distances are recorded as sent with it — one e-mail, not three.
//
// Each reminder carries a single-use renewal form link: a public form
// token (tokens.go: same value format, hashing and URL) for the
// applicant's e-mail, type renovacion, valid 72 h.

// ExpiryStore is the persistence of the expiry job.
type ExpiryStore interface {
	// ApprovedExpiringBefore lists the ids of approved requests whose
	// expires_at is before day.
	ApprovedExpiringBefore(ctx context.Context, day time.Time) ([]string, error)
	// ReminderCandidates lists approved requests expiring on or after from
	// and on or before to, with the distances already reminded.
	ReminderCandidates(ctx context.Context, from, to time.Time) ([]ReminderCandidate, error)
	// SendReminder records the distances of rem as sent, stores its
	// renewal token and queues its e-mail, in one transaction. sent is
	// false (and nothing is written) when the most urgent distance was
	// already recorded by someone else.
	SendReminder(ctx context.Context, rem Reminder) (sent bool, err error)
}

// ReminderCandidate is an approved request near its expiry.
type ReminderCandidate struct {
	Request Request // User loaded
	Sent    []int   // distances already reminded
}

// Reminder is one reminder to send.
type Reminder struct {
	RequestID string
	// Days are the distances it settles; Days[0] is the one it is for.
	Days []int
	// Token is the renewal form link's token row (Token.ID set), stored
	// with TokenHash.
	Token     Token
	TokenHash string
	Notice    Notice
}

// ExpiryReport says what a run did.
type ExpiryReport struct {
	Expired   int
	Reminders int
}

// renewalLinkTTL is how long a reminder's renewal form link is valid.
const renewalLinkTTL = 72 * time.Hour

// RunExpiry marks expired clearances and sends due reminders (see above).
func (s *Service) RunExpiry(ctx context.Context) (ExpiryReport, error) {
	var rep ExpiryReport
	today := s.Today()
	ids, err := s.store.ApprovedExpiringBefore(ctx, today)
	if err != nil {
		return rep, err
	}
	for _, id := range ids {
		_, err := s.store.ApplyTransition(ctx, id, func(cur *Request) (*Request, []Notice, error) {
			if cur.Status != Approved || !cur.IsExpired(today) {
				return nil, nil, errUnchanged // renewed or changed meanwhile
			}
			if err := CheckTransition(ActorSystem, cur.Status, Expired); err != nil {
				return nil, nil, err
			}
			next := s.Apply(cur, Expired, nil, TransitionInput{})
			n := StatusNotice(next, cur.Status)
			if d, ok := n.Data.(mail.HPSStatusData); ok {
				d.Comments = "Su habilitación caducó el " + cur.ExpiresAt.Format("02/01/2006") + ". Solicite la renovación para recuperarla."
				n.Data = d
			}
			return next, []Notice{n}, nil
		})
		switch {
		case err == nil:
			rep.Expired++
		case errors.Is(err, errUnchanged), errs.Is(err, errs.KindNotFound):
		default:
			return rep, err
		}
	}

	days := slices.Clone(s.cfg.ReminderDays)
	slices.Sort(days)
	if len(days) == 0 {
		return rep, nil
	}
	cands, err := s.store.ReminderCandidates(ctx, today, today.AddDate(0, 0, days[len(days)-1]))
	if err != nil {
		return rep, err
	}
	for i := range cands {
		rem, ok, err := s.reminderFor(&cands[i], today, days)
		if err != nil {
			return rep, err
		}
		if !ok {
			continue
		}
		sent, err := s.store.SendReminder(ctx, rem)
		if err != nil {
			return rep, err
		}
		if sent {
			rep.Reminders++
		}
	}
	return rep, nil
}

// DueReminders returns the distances due for a clearance daysLeft from
// expiry, given those already sent: every distance ≥ daysLeft not yet
// sent, most urgent (smallest) first. days is sorted ascending.
func DueReminders(daysLeft int, days, sent []int) []int {
	var due []int
	for _, d := range days {
		if daysLeft <= d && !slices.Contains(sent, d) {
			due = append(due, d)
		}
	}
	return due
}

// reminderFor builds the reminder a candidate is due, if any.
func (s *Service) reminderFor(c *ReminderCandidate, today time.Time, days []int) (Reminder, bool, error) {
	r := &c.Request
	if r.ExpiresAt == nil {
		return Reminder{}, false, nil
	}
	left := int(r.ExpiresAt.Sub(today).Hours() / 24)
	due := DueReminders(left, days, c.Sent)
	if len(due) == 0 {
		return Reminder{}, false, nil
	}
	to := r.Email
	if r.User != nil && r.User.Email != "" {
		to = r.User.Email // the account e-mail, as every HPS notice
	}
	rem := Reminder{RequestID: r.ID, Days: due}
	link := strings.TrimRight(s.cfg.FrontendURL, "/") + "/"
	// The token must name who asked for it: the applicant themselves
	// (legacy), else whoever approved or submitted the request.
	by := r.UserID
	if by == nil {
		by = r.ApprovedByID
	}
	if by == nil {
		by = r.SubmittedByID
	}
	if by != nil {
		tok := newTokenValue()
		now := s.now().UTC()
		rem.Token = Token{ID: uuid.NewString(), Prefix: tok[:tokenPrefixLen], Email: strings.ToLower(to), RequestedByID: *by, Purpose: "renovacion",
			FormType: Solicitud, RequestType: Renewal, ExpiresAt: now.Add(renewalLinkTTL), CreatedAt: now, UpdatedAt: now}
		rem.TokenHash = HashToken(tok)
		link = s.FormURL(&rem.Token, tok)
	}
	rem.Notice = Notice{To: to, Template: mail.TemplateHPSExpiryReminder,
		Data: mail.HPSExpiryReminderData{Name: r.ApplicantName(), DocumentNumber: r.DocumentNumber, ExpiresAt: *r.ExpiresAt,
			DaysLeft: left, RenewalURL: link},
		Key: "hps-reminder:" + r.ID + ":" + strconv.Itoa(due[0])}
	return rem, true, nil
}
