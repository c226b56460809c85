// Package config loads thot's one configuration struct from the environment.
//
// Every setting has a THOT_* name and, where the legacy Django or FastAPI
// services had one meaning the same thing, the legacy names as aliases (the
// first one set wins, THOT_* first). Secrets may also come from NAME_FILE.
// An optional .env file is read first; real environment variables win.
// Load validates; nothing else in thot reads the environment.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Environments.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
	EnvTest        = "test"
)

// SMTP TLS modes.
const (
	TLSStartTLS = "starttls" // STARTTLS required (port 587)
	TLSImplicit = "tls"      // implicit TLS (port 465)
	TLSNone     = "none"     // plain, for local relays
)

// Config is everything thot can be told from outside.
type Config struct {
	Env string

	// HTTP
	Addr            string
	MetricsAddr     string // empty: /metrics on the main listener
	PublicURL       string // how clients reach this server (links to /api/...)
	FrontendURL     string
	HPSSystemURL    string
	AllowedHosts    []string
	CORSOrigins     []string
	CORSAllowAll    bool
	CORSCredentials bool
	MaxBodyBytes    int64
	MaxUploadBytes  int64
	RequestTimeout  time.Duration
	ShutdownTimeout time.Duration
	TrustProxy      bool

	// Storage
	DataDir     string
	DatabaseURL string // postgres://… ; empty means SQLite under DataDir
	AutoMigrate bool
	Replicas    int
	DBMaxConns  int

	// Auth
	SecretKey       string
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	// RotateRefresh: a refresh returns a new refresh token and blacklists
	// the presented one. Off by default (SimpleJWT's default): the legacy
	// frontends keep the refresh token of their login.
	RotateRefresh bool
	AdminEmail    string
	AdminPassword string
	PasswordIter  int

	// Jobs
	RunWorker         bool
	QueueEmailWorkers int
	QueueAnalysis     int
	QueueDefault      int
	TimeZone          string

	// HPS clearances
	HPSApprovalYears   int
	HPSReminderDays    []string
	HPSExpiryCheckTime string
	HPSPublicRateLimit int

	// Browser extension: networks whose keyless requests the extension
	// routes answer (transitional; empty = an API key is always needed).
	ExtensionTrustedNetworks []string

	// Mail out
	SMTPHost      string
	SMTPPort      int
	SMTPUser      string
	SMTPPassword  string
	SMTPTLS       string
	SMTPFromEmail string
	SMTPFromName  string
	SMTPReplyTo   string
	SMTPTimeout   time.Duration

	// Mail in
	IMAPHost     string
	IMAPPort     int
	IMAPUser     string
	IMAPPassword string
	IMAPMailbox  string

	// LLM
	OpenAIAPIKey      string
	OpenAIBaseURL     string
	OpenAIModel       string
	OpenAIMaxTokens   int
	OpenAITemperature float64

	// Logging
	LogLevel  string
	LogFormat string

	// sources records, per option name, which variable supplied it.
	sources map[string]string
}

// Getenv looks up one variable; os.LookupEnv fits.
type Getenv func(string) (string, bool)

// Load reads the configuration from getenv (and from a .env file named by
// THOT_ENV_FILE, default ".env", when present), applies defaults and
// validates it.
func Load(getenv Getenv) (*Config, error) {
	env, err := withDotEnv(getenv)
	if err != nil {
		return nil, err
	}
	c := &Config{sources: map[string]string{}}
	var errs []error
	for _, o := range options {
		raw, from, err := lookup(env, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if from == "" {
			raw = o.def
			from = "default"
		}
		if err := o.set(c, raw); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", nameOr(from, o.names[0]), err))
			continue
		}
		c.sources[o.names[0]] = from
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	smtpTLSFromLegacy(env, c)
	c.derive(env)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func nameOr(from, name string) string {
	if from == "" || from == "default" {
		return name
	}
	return from
}

// lookup finds the first set name (or NAME_FILE for secrets).
func lookup(env Getenv, o option) (val, from string, err error) {
	for _, n := range o.names {
		if v, ok := env(n); ok && v != "" {
			return v, n, nil
		}
		if o.secret {
			if p, ok := env(n + "_FILE"); ok && p != "" {
				b, err := os.ReadFile(p)
				if err != nil {
					return "", "", fmt.Errorf("%s_FILE: %w", n, err)
				}
				return strings.TrimRight(string(b), "\r\n"), n + "_FILE", nil
			}
		}
	}
	return "", "", nil
}

// derive fills values that depend on others.
func (c *Config) derive(env Getenv) {
	if c.IMAPUser == "" {
		c.IMAPUser = c.SMTPUser
	}
	if c.IMAPPassword == "" {
		c.IMAPPassword = c.SMTPPassword
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	c.FrontendURL = strings.TrimRight(c.FrontendURL, "/")
}

// Validate checks the configuration; production refuses unsafe settings.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch c.Env {
	case EnvDevelopment, EnvProduction, EnvTest:
	default:
		bad("THOT_ENV: must be development, production or test, got %q", c.Env)
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql" && u.Scheme != "sqlite" && u.Scheme != "file") {
			bad("DATABASE_URL: must be postgres://…, postgresql://… or sqlite:///path")
		}
	}
	switch c.SMTPTLS {
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		bad("THOT_SMTP_TLS: must be starttls, tls or none, got %q", c.SMTPTLS)
	}
	if c.SMTPPort <= 0 || c.SMTPPort > 65535 {
		bad("SMTP_PORT: out of range")
	}
	if c.AccessTokenTTL <= 0 {
		bad("ACCESS_TOKEN_EXPIRE_MINUTES: must be positive")
	}
	if c.MaxBodyBytes <= 0 || c.MaxUploadBytes <= 0 {
		bad("THOT_MAX_BODY_BYTES and THOT_MAX_UPLOAD_BYTES must be positive")
	}
	if c.Replicas < 1 {
		bad("THOT_REPLICAS: must be at least 1")
	}
	if c.PasswordIter < 600_000 && c.Env == EnvProduction {
		bad("THOT_PASSWORD_ITERATIONS: must be at least 600000 in production")
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		bad("THOT_TIMEZONE: %v", err)
	}
	if c.HPSApprovalYears < 1 || c.HPSApprovalYears > 20 {
		bad("THOT_HPS_APPROVAL_YEARS: must be between 1 and 20")
	}
	if _, err := c.ReminderDays(); err != nil {
		bad("THOT_HPS_REMINDER_DAYS: %v", err)
	}
	if _, _, err := c.ExpiryCheckAt(); err != nil {
		bad("THOT_HPS_EXPIRY_CHECK_TIME: %v", err)
	}
	if c.HPSPublicRateLimit < 1 {
		bad("THOT_HPS_PUBLIC_RATE_LIMIT: must be at least 1")
	}
	if err := c.validateTrustedNetworks(); err != nil {
		errs = append(errs, err)
	}
	for _, q := range []int{c.QueueEmailWorkers, c.QueueAnalysis, c.QueueDefault} {
		if q < 1 || q > 1000 {
			bad("THOT_QUEUE_*_WORKERS: must be between 1 and 1000")
			break
		}
	}
	if c.Env == EnvProduction {
		if len(c.SecretKey) < 32 || weakKey(c.SecretKey) {
			bad("THOT_SECRET_KEY (SECRET_KEY, JWT_SECRET_KEY): production needs a random signing key of at least 32 characters")
		}
		if c.IsSQLite() && c.Replicas > 1 {
			bad("DATABASE_URL: SQLite cannot be shared by %d replicas; use PostgreSQL", c.Replicas)
		}
		if c.CORSAllowAll && c.CORSCredentials {
			bad("CORS_ALLOW_ALL_ORIGINS: '*' with credentials is refused in production")
		}
		for _, o := range c.CORSOrigins {
			if o == "*" && c.CORSCredentials {
				bad("CORS_ALLOWED_ORIGINS: '*' with credentials is refused in production")
			}
		}
	}
	return errors.Join(errs...)
}

// weakKey catches placeholders copied from examples.
func weakKey(k string) bool {
	l := strings.ToLower(k)
	for _, w := range []string{"change", "secret", "insecure", "example", "password", "your-", "django-insecure"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	distinct := map[rune]bool{}
	for _, r := range k {
		distinct[r] = true
	}
	return len(distinct) < 10
}

// IsSQLite reports whether the embedded SQLite database is used.
func (c *Config) IsSQLite() bool {
	return c.DatabaseURL == "" || strings.HasPrefix(c.DatabaseURL, "sqlite:") || strings.HasPrefix(c.DatabaseURL, "file:")
}

// SQLitePath is the database file used when IsSQLite.
func (c *Config) SQLitePath() string {
	switch {
	case strings.HasPrefix(c.DatabaseURL, "sqlite://"):
		return strings.TrimPrefix(c.DatabaseURL, "sqlite://")
	case strings.HasPrefix(c.DatabaseURL, "sqlite:"):
		return strings.TrimPrefix(c.DatabaseURL, "sqlite:")
	case strings.HasPrefix(c.DatabaseURL, "file:"):
		return strings.TrimPrefix(c.DatabaseURL, "file:")
	}
	return filepath.Join(c.DataDir, "thot.db")
}

// SMTPConfigured reports whether mail goes to a relay; otherwise to the outbox dir.
func (c *Config) SMTPConfigured() bool { return c.SMTPHost != "" }

// OutboxDir is where mail is written when no SMTP host is configured.
func (c *Config) OutboxDir() string { return filepath.Join(c.DataDir, "outbox") }

// FilesDir is the root of the local file store.
func (c *Config) FilesDir() string { return filepath.Join(c.DataDir, "files") }

// FromAddress is the sender, following the legacy DEFAULT_FROM_EMAIL rule.
func (c *Config) FromAddress() string {
	switch {
	case c.SMTPFromEmail != "":
		return c.SMTPFromEmail
	case c.SMTPUser != "" && strings.Contains(c.SMTPUser, "@"):
		return c.SMTPUser
	}
	return "noreply@thot.local"
}

// EnsureSigningKey makes sure a development server has a stable key: when
// none is configured outside production, one is generated once and kept in
// DataDir/secret.key so tokens survive restarts.
func (c *Config) EnsureSigningKey() (generated bool, err error) {
	if c.SecretKey != "" {
		return false, nil
	}
	if c.Env == EnvProduction {
		return false, errors.New("THOT_SECRET_KEY is required in production")
	}
	path := filepath.Join(c.DataDir, "secret.key")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		c.SecretKey = strings.TrimSpace(string(b))
		c.sources["THOT_SECRET_KEY"] = path
		return false, nil
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return false, err
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return false, err
	}
	key := hex.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return false, err
	}
	c.SecretKey = key
	c.sources["THOT_SECRET_KEY"] = path + " (generated)"
	return true, nil
}

// ReminderDays parses THOT_HPS_REMINDER_DAYS: distinct whole days before
// expiry, 1..3650, largest first.
func (c *Config) ReminderDays() ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for _, v := range c.HPSReminderDays {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 3650 {
			return nil, fmt.Errorf("%q is not a number of days between 1 and 3650", v)
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(out)))
	return out, nil
}

// ExpiryCheckAt parses THOT_HPS_EXPIRY_CHECK_TIME ("HH:MM", office time).
func (c *Config) ExpiryCheckAt() (hour, minute int, err error) {
	t, err := time.Parse("15:04", strings.TrimSpace(c.HPSExpiryCheckTime))
	if err != nil {
		return 0, 0, fmt.Errorf("%q is not a time of day (HH:MM)", c.HPSExpiryCheckTime)
	}
	return t.Hour(), t.Minute(), nil
}
