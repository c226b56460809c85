package config

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// option is one setting: its names (THOT_* first, then legacy aliases), its
// default, whether it is secret, and how it is stored in Config.
type option struct {
	names  []string
	def    string
	secret bool
	help   string
	set    func(c *Config, v string) error
	get    func(c *Config) string
}

func str(p func(*Config) *string) binder {
	return binder{func(c *Config, v string) error { *p(c) = strings.TrimSpace(v); return nil },
		func(c *Config) string { return *p(c) }}
}

func integer(p func(*Config) *int) binder {
	return binder{func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("not a whole number: %q", v)
		}
		*p(c) = n
		return nil
	},
		func(c *Config) string { return strconv.Itoa(*p(c)) }}
}

func bytesize(p func(*Config) *int64) binder {
	return binder{func(c *Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("not a byte count: %q", v)
		}
		*p(c) = n
		return nil
	},
		func(c *Config) string { return strconv.FormatInt(*p(c), 10) }}
}

func boolean(p func(*Config) *bool) binder {
	return binder{func(c *Config, v string) error {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "1", "true", "yes", "on":
			*p(c) = true
		case "0", "false", "no", "off":
			*p(c) = false
		default:
			return fmt.Errorf("not a boolean: %q", v)
		}
		return nil
	},
		func(c *Config) string { return strconv.FormatBool(*p(c)) }}
}

func duration(p func(*Config) *time.Duration, unit time.Duration) binder {
	return binder{func(c *Config, v string) error {
		v = strings.TrimSpace(v)
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			*p(c) = time.Duration(n * float64(unit))
			return nil
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("not a duration: %q", v)
		}
		*p(c) = d
		return nil
	},
		func(c *Config) string { return p(c).String() }}
}

func list(p func(*Config) *[]string) binder {
	return binder{func(c *Config, v string) error {
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		*p(c) = out
		return nil
	},
		func(c *Config) string { return strings.Join(*p(c), ",") }}
}

func opt(names []string, def, help string, b binder) option {
	return option{names: names, def: def, help: help, set: b.set, get: b.get}
}

// binder stores a parsed value into a Config field and reads it back.
type binder struct {
	set func(c *Config, v string) error
	get func(c *Config) string
}

func secret(o option) option { o.secret = true; return o }

// options lists every setting. Keep README's configuration table in step.
var options = []option{
	opt([]string{"THOT_ENV", "ENVIRONMENT"}, EnvDevelopment, "development, production or test", str(func(c *Config) *string { return &c.Env })),
	opt([]string{"THOT_ADDR"}, "127.0.0.1:8080", "HTTP listen address", str(func(c *Config) *string { return &c.Addr })),
	opt([]string{"THOT_METRICS_ADDR"}, "", "separate listen address for /metrics (empty: main listener)", str(func(c *Config) *string { return &c.MetricsAddr })),
	opt([]string{"THOT_PUBLIC_URL", "BACKEND_URL"}, "", "URL clients use to reach thot (default http://THOT_ADDR)", str(func(c *Config) *string { return &c.PublicURL })),
	opt([]string{"THOT_FRONTEND_URL", "FRONTEND_URL"}, "http://localhost:3000", "frontend base URL used in e-mailed links", str(func(c *Config) *string { return &c.FrontendURL })),
	opt([]string{"THOT_HPS_SYSTEM_URL", "HPS_SYSTEM_URL", "NEXT_PUBLIC_HPS_SYSTEM_URL"}, "http://localhost:3001", "HPS frontend base URL", str(func(c *Config) *string { return &c.HPSSystemURL })),
	opt([]string{"THOT_ALLOWED_HOSTS", "ALLOWED_HOSTS"}, "", "comma list of accepted Host headers (empty: any)", list(func(c *Config) *[]string { return &c.AllowedHosts })),
	opt([]string{"THOT_CORS_ALLOWED_ORIGINS", "CORS_ALLOWED_ORIGINS", "CORS_ORIGINS"}, "http://localhost:3000,http://localhost:3001", "comma list of CORS origins", list(func(c *Config) *[]string { return &c.CORSOrigins })),
	opt([]string{"THOT_CORS_ALLOW_ALL_ORIGINS", "CORS_ALLOW_ALL_ORIGINS"}, "false", "allow any origin (refused with credentials in production)", boolean(func(c *Config) *bool { return &c.CORSAllowAll })),
	opt([]string{"THOT_CORS_ALLOW_CREDENTIALS"}, "true", "send Access-Control-Allow-Credentials", boolean(func(c *Config) *bool { return &c.CORSCredentials })),
	opt([]string{"THOT_MAX_BODY_BYTES"}, "1048576", "largest JSON request body", bytesize(func(c *Config) *int64 { return &c.MaxBodyBytes })),
	opt([]string{"THOT_MAX_UPLOAD_BYTES"}, "26214400", "largest upload (multipart) body", bytesize(func(c *Config) *int64 { return &c.MaxUploadBytes })),
	opt([]string{"THOT_REQUEST_TIMEOUT"}, "30s", "per-request time limit", duration(func(c *Config) *time.Duration { return &c.RequestTimeout }, time.Second)),
	opt([]string{"THOT_SHUTDOWN_TIMEOUT"}, "25s", "grace period for requests and jobs at shutdown", duration(func(c *Config) *time.Duration { return &c.ShutdownTimeout }, time.Second)),
	opt([]string{"THOT_TRUST_PROXY"}, "false", "take the client address from X-Forwarded-For / X-Real-IP", boolean(func(c *Config) *bool { return &c.TrustProxy })),
	opt([]string{"THOT_DATA_DIR"}, "./data", "directory for the SQLite file, outbox, files and dev key", str(func(c *Config) *string { return &c.DataDir })),
	secret(opt([]string{"THOT_DATABASE_URL", "DATABASE_URL"}, "", "postgres://… (empty: SQLite in THOT_DATA_DIR)", str(func(c *Config) *string { return &c.DatabaseURL }))),
	opt([]string{"THOT_AUTO_MIGRATE"}, "true", "apply migrations at serve", boolean(func(c *Config) *bool { return &c.AutoMigrate })),
	opt([]string{"THOT_REPLICAS"}, "1", "how many thot processes share the database", integer(func(c *Config) *int { return &c.Replicas })),
	opt([]string{"THOT_DB_MAX_CONNS"}, "20", "PostgreSQL pool size", integer(func(c *Config) *int { return &c.DBMaxConns })),
	secret(opt([]string{"THOT_SECRET_KEY", "JWT_SECRET_KEY", "SECRET_KEY"}, "", "JWT signing key (dev: generated into THOT_DATA_DIR)", str(func(c *Config) *string { return &c.SecretKey }))),
	opt([]string{"THOT_ACCESS_TOKEN_MINUTES", "ACCESS_TOKEN_EXPIRE_MINUTES", "JWT_ACCESS_TOKEN_EXPIRE_MINUTES"}, "480", "access token lifetime, minutes", duration(func(c *Config) *time.Duration { return &c.AccessTokenTTL }, time.Minute)),
	opt([]string{"THOT_REFRESH_TOKEN_DAYS", "JWT_REFRESH_TOKEN_EXPIRE_DAYS"}, "7", "refresh token lifetime, days", duration(func(c *Config) *time.Duration { return &c.RefreshTokenTTL }, 24*time.Hour)),
	opt([]string{"THOT_ROTATE_REFRESH_TOKENS", "ROTATE_REFRESH_TOKENS"}, "false", "refresh returns a new refresh token and blacklists the old one (the legacy frontends keep the old one: leave off while they are in use)", boolean(func(c *Config) *bool { return &c.RotateRefresh })),
	opt([]string{"THOT_ADMIN_EMAIL"}, "admin@thot.local", "first administrator's e-mail (first start only)", str(func(c *Config) *string { return &c.AdminEmail })),
	secret(opt([]string{"THOT_ADMIN_PASSWORD"}, "", "first administrator's password (empty: random, printed once)", str(func(c *Config) *string { return &c.AdminPassword }))),
	opt([]string{"THOT_PASSWORD_ITERATIONS"}, "600000", "PBKDF2 iterations for new password hashes", integer(func(c *Config) *int { return &c.PasswordIter })),
	opt([]string{"THOT_WORKER"}, "true", "run background jobs in this process", boolean(func(c *Config) *bool { return &c.RunWorker })),
	opt([]string{"THOT_QUEUE_EMAIL_WORKERS"}, "2", "concurrent jobs on the email queue", integer(func(c *Config) *int { return &c.QueueEmailWorkers })),
	opt([]string{"THOT_QUEUE_ANALYSIS_WORKERS"}, "2", "concurrent jobs on the analysis queue", integer(func(c *Config) *int { return &c.QueueAnalysis })),
	opt([]string{"THOT_QUEUE_DEFAULT_WORKERS"}, "4", "concurrent jobs on the default queue", integer(func(c *Config) *int { return &c.QueueDefault })),
	opt([]string{"THOT_HPS_APPROVAL_YEARS"}, "5", "validity of an approved HPS clearance when the approver gives no expiry date", integer(func(c *Config) *int { return &c.HPSApprovalYears })),
	opt([]string{"THOT_HPS_REMINDER_DAYS"}, "270,90,30", "days before expiry at which renewal reminders are sent", list(func(c *Config) *[]string { return &c.HPSReminderDays })),
	opt([]string{"THOT_HPS_EXPIRY_CHECK_TIME"}, "07:00", "daily time (THOT_TIMEZONE) of the HPS expiry and reminder job", str(func(c *Config) *string { return &c.HPSExpiryCheckTime })),
	opt([]string{"THOT_HPS_PUBLIC_RATE_LIMIT"}, "20", "public HPS form requests per minute per client address", integer(func(c *Config) *int { return &c.HPSPublicRateLimit })),
	opt([]string{"THOT_EXTENSION_TRUSTED_NETWORKS"}, "", "transitional: comma list of networks (CIDR) from which the browser-extension routes answer requests without an API key, each audited with the address (empty: a key is always required; production: private or loopback networks only)", list(func(c *Config) *[]string { return &c.ExtensionTrustedNetworks })),
	opt([]string{"THOT_TIMEZONE", "CELERY_TIMEZONE", "TZ"}, "Europe/Madrid", "time zone for periodic jobs", str(func(c *Config) *string { return &c.TimeZone })),
	opt([]string{"THOT_SMTP_HOST", "SMTP_HOST", "EMAIL_HOST"}, "", "SMTP relay (empty: write .eml files to THOT_DATA_DIR/outbox)", str(func(c *Config) *string { return &c.SMTPHost })),
	opt([]string{"THOT_SMTP_PORT", "SMTP_PORT", "EMAIL_PORT"}, "587", "SMTP port", integer(func(c *Config) *int { return &c.SMTPPort })),
	opt([]string{"THOT_SMTP_USER", "SMTP_USER", "EMAIL_HOST_USER"}, "", "SMTP user (empty: no AUTH)", str(func(c *Config) *string { return &c.SMTPUser })),
	secret(opt([]string{"THOT_SMTP_PASSWORD", "SMTP_PASSWORD", "EMAIL_HOST_PASSWORD"}, "", "SMTP password", str(func(c *Config) *string { return &c.SMTPPassword }))),
	{names: []string{"THOT_SMTP_TLS"}, def: "", help: "starttls, tls or none (default from SMTP_USE_TLS/EMAIL_USE_SSL, else starttls)",
		set: func(c *Config, v string) error { c.SMTPTLS = strings.ToLower(strings.TrimSpace(v)); return nil },
		get: func(c *Config) string { return c.SMTPTLS }},
	opt([]string{"THOT_SMTP_FROM_EMAIL", "SMTP_FROM_EMAIL", "DEFAULT_FROM_EMAIL"}, "", "sender address", str(func(c *Config) *string { return &c.SMTPFromEmail })),
	opt([]string{"THOT_SMTP_FROM_NAME", "SMTP_FROM_NAME"}, "THOT HPS", "sender display name", str(func(c *Config) *string { return &c.SMTPFromName })),
	opt([]string{"THOT_SMTP_REPLY_TO", "SMTP_REPLY_TO"}, "", "Reply-To address", str(func(c *Config) *string { return &c.SMTPReplyTo })),
	opt([]string{"THOT_SMTP_TIMEOUT", "EMAIL_TIMEOUT"}, "30s", "SMTP dial and send timeout", duration(func(c *Config) *time.Duration { return &c.SMTPTimeout }, time.Second)),
	opt([]string{"THOT_IMAP_HOST", "IMAP_HOST"}, "", "IMAP server for incoming government notices (empty: off)", str(func(c *Config) *string { return &c.IMAPHost })),
	opt([]string{"THOT_IMAP_PORT", "IMAP_PORT"}, "993", "IMAP port", integer(func(c *Config) *int { return &c.IMAPPort })),
	opt([]string{"THOT_IMAP_USER", "IMAP_USER", "GOVERNMENT_EMAIL_USERNAME"}, "", "IMAP user (default: SMTP user)", str(func(c *Config) *string { return &c.IMAPUser })),
	secret(opt([]string{"THOT_IMAP_PASSWORD", "IMAP_PASSWORD", "GOVERNMENT_EMAIL_PASSWORD"}, "", "IMAP password (default: SMTP password)", str(func(c *Config) *string { return &c.IMAPPassword }))),
	opt([]string{"THOT_IMAP_MAILBOX", "IMAP_MAILBOX"}, "INBOX", "IMAP mailbox", str(func(c *Config) *string { return &c.IMAPMailbox })),
	secret(opt([]string{"THOT_OPENAI_API_KEY", "OPENAI_API_KEY"}, "", "LLM API key (empty: chat agent answers without the LLM)", str(func(c *Config) *string { return &c.OpenAIAPIKey }))),
	opt([]string{"THOT_OPENAI_BASE_URL", "OPENAI_BASE_URL"}, "", "OpenAI-compatible endpoint", str(func(c *Config) *string { return &c.OpenAIBaseURL })),
	opt([]string{"THOT_OPENAI_MODEL", "OPENAI_MODEL"}, "gpt-4o-mini", "LLM model", str(func(c *Config) *string { return &c.OpenAIModel })),
	opt([]string{"THOT_OPENAI_MAX_TOKENS", "OPENAI_MAX_TOKENS"}, "2000", "LLM max tokens", integer(func(c *Config) *int { return &c.OpenAIMaxTokens })),
	{names: []string{"THOT_OPENAI_TEMPERATURE", "OPENAI_TEMPERATURE"}, def: "0.7", help: "LLM temperature",
		set: func(c *Config, v string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return fmt.Errorf("not a number: %q", v)
			}
			c.OpenAITemperature = f
			return nil
		},
		get: func(c *Config) string { return strconv.FormatFloat(c.OpenAITemperature, 'f', -1, 64) }},
	opt([]string{"THOT_LOG_LEVEL", "LOG_LEVEL"}, "info", "debug, info, warn or error", str(func(c *Config) *string { return &c.LogLevel })),
	opt([]string{"THOT_LOG_FORMAT"}, "text", "text or json", str(func(c *Config) *string { return &c.LogFormat })),
}

// smtpTLSFromLegacy resolves THOT_SMTP_TLS when unset from the legacy booleans.
func smtpTLSFromLegacy(env Getenv, c *Config) {
	if c.SMTPTLS != "" {
		return
	}
	truthy := func(names ...string) (bool, bool) {
		for _, n := range names {
			if v, ok := env(n); ok && v != "" {
				switch strings.ToLower(v) {
				case "1", "true", "yes", "on":
					return true, true
				}
				return false, true
			}
		}
		return false, false
	}
	if ssl, ok := truthy("EMAIL_USE_SSL", "SMTP_USE_SSL"); ok && ssl {
		c.SMTPTLS = TLSImplicit
		return
	}
	if tls, ok := truthy("SMTP_USE_TLS", "EMAIL_USE_TLS"); ok && !tls {
		c.SMTPTLS = TLSNone
		return
	}
	c.SMTPTLS = TLSStartTLS
}

// withDotEnv layers a .env file under the real environment.
func withDotEnv(getenv Getenv) (Getenv, error) {
	path := ".env"
	if p, ok := getenv("THOT_ENV_FILE"); ok {
		path = p
	}
	if path == "" {
		return getenv, nil
	}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		if _, explicit := getenv("THOT_ENV_FILE"); explicit {
			return nil, fmt.Errorf("THOT_ENV_FILE: %w", err)
		}
		return getenv, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	file, err := parseDotEnv(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return func(k string) (string, bool) {
		if v, ok := getenv(k); ok {
			return v, true
		}
		v, ok := file[k]
		return v, ok
	}, nil
}

// parseDotEnv reads KEY=VALUE lines; # comments, optional "export ", quotes.
func parseDotEnv(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: expected KEY=VALUE", n)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out[k] = v
	}
	return out, sc.Err()
}

// Setting is one line of `thot config check`.
type Setting struct {
	Name, Value, Source, Help string
}

// Settings lists the effective configuration with secrets masked.
func (c *Config) Settings() []Setting {
	out := make([]Setting, 0, len(options))
	for _, o := range options {
		v := o.get(c)
		if o.secret && v != "" {
			v = mask(o.names[0], v)
		}
		src := c.sources[o.names[0]]
		out = append(out, Setting{Name: o.names[0], Value: v, Source: src, Help: o.help})
	}
	return out
}

// mask hides a secret; for a URL only the password is hidden.
func mask(name, v string) string {
	if strings.Contains(name, "DATABASE_URL") {
		if i := strings.Index(v, "://"); i >= 0 {
			rest := v[i+3:]
			if at := strings.LastIndex(rest, "@"); at >= 0 {
				cred := rest[:at]
				if u, _, ok := strings.Cut(cred, ":"); ok {
					return v[:i+3] + u + ":********" + rest[at:]
				}
			}
			return v
		}
	}
	return "********"
}

// OptionNames lists every variable with its aliases, for documentation tests.
func OptionNames() [][]string {
	out := make([][]string, len(options))
	for i, o := range options {
		out[i] = append([]string(nil), o.names...)
	}
	return out
}
