package clearance

import (
	"time"

	"github.com/thot-security/thot/internal/filestore"
	"github.com/thot-security/thot/internal/identity"
)

// Store is the persistence of the clearance domain (sqlstore implements
// it). Each part is declared next to the rules that use it.
type Store interface {
	RequestStore
	TemplateStore
	TokenStore
	KeyStore
	ExpiryStore
	AccessAuditStore
}

// Notice is an e-mail a change sends. The store queues it in the change's
// transaction (platform mailer), so it goes out if and only if the change
// commits; Key makes a retried change mail once.
type Notice struct {
	To       string
	Template string // a mail.Template… name
	Data     any
	Key      string
}

// Config is what the clearance rules take from the configuration.
type Config struct {
	// FrontendURL is the base of links in e-mails (form links, login).
	FrontendURL string
	// ApprovalYears is the default validity of an approved clearance.
	ApprovalYears int
	// ReminderDays are the distances before expiry at which a renewal
	// reminder is sent (default 270, 90, 30).
	ReminderDays []int
	// Location is the office time zone: "today" and due dates are there.
	Location *time.Location
}

// Service applies the clearance rules.
type Service struct {
	store    Store
	files    filestore.Store
	identity *identity.Service
	hasher   *identity.Hasher
	cfg      Config
	now      func() time.Time
}

// NewService returns the clearance service. idsvc and hasher create the
// applicant's account on a public submission.
func NewService(store Store, files filestore.Store, idsvc *identity.Service, hasher *identity.Hasher, cfg Config) *Service {
	if cfg.ApprovalYears <= 0 {
		cfg.ApprovalYears = 5
	}
	if len(cfg.ReminderDays) == 0 {
		cfg.ReminderDays = []int{270, 90, 30}
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	return &Service{store: store, files: files, identity: idsvc, hasher: hasher, cfg: cfg, now: time.Now}
}

// SetClock replaces the clock (tests of expiry and tokens).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Today is the current date in the office time zone, as UTC midnight (the
// form dates are stored in).
func (s *Service) Today() time.Time {
	t := s.now().In(s.cfg.Location)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// Config returns the configuration the service runs with.
func (s *Service) Config() Config { return s.cfg }
