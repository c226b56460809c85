package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/thot-security/thot/internal/config"
)

// envOf turns a map into a Getenv, with no .env file unless given.
func envOf(m map[string]string) config.Getenv {
	if _, ok := m["THOT_ENV_FILE"]; !ok {
		m["THOT_ENV_FILE"] = ""
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const strongKey = "q8Xv2mN7pL4kR9sT1wZ6yB3cF5hJ0gD8"

func TestDefaults(t *testing.T) {
	c, err := config.Load(envOf(map[string]string{}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./data" || !c.IsSQLite() || c.SQLitePath() != filepath.Join("data", "thot.db") {
		t.Errorf("defaults: addr=%s data=%s sqlite=%v path=%s", c.Addr, c.DataDir, c.IsSQLite(), c.SQLitePath())
	}
	if c.AccessTokenTTL != 480*time.Minute || c.RefreshTokenTTL != 7*24*time.Hour {
		t.Errorf("token lifetimes %v / %v", c.AccessTokenTTL, c.RefreshTokenTTL)
	}
	if c.SMTPTLS != config.TLSStartTLS || c.SMTPPort != 587 || c.SMTPConfigured() {
		t.Errorf("smtp defaults: %s %d %v", c.SMTPTLS, c.SMTPPort, c.SMTPConfigured())
	}
	if c.TimeZone != "Europe/Madrid" || !c.AutoMigrate || !c.RunWorker {
		t.Errorf("tz=%s automigrate=%v worker=%v", c.TimeZone, c.AutoMigrate, c.RunWorker)
	}
}

func TestLegacyAliases(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want func(c *config.Config) bool
	}{
		{"DATABASE_URL", map[string]string{"DATABASE_URL": "postgres://u:p@db/x"}, func(c *config.Config) bool { return c.DatabaseURL == "postgres://u:p@db/x" && !c.IsSQLite() }},
		{"THOT_ wins over legacy", map[string]string{"DATABASE_URL": "postgres://a/x", "THOT_DATABASE_URL": "postgres://b/y"}, func(c *config.Config) bool { return c.DatabaseURL == "postgres://b/y" }},
		{"JWT_SECRET_KEY before SECRET_KEY", map[string]string{"SECRET_KEY": "s1", "JWT_SECRET_KEY": "s2"}, func(c *config.Config) bool { return c.SecretKey == "s2" }},
		{"SECRET_KEY", map[string]string{"SECRET_KEY": "s1"}, func(c *config.Config) bool { return c.SecretKey == "s1" }},
		{"ACCESS_TOKEN_EXPIRE_MINUTES", map[string]string{"ACCESS_TOKEN_EXPIRE_MINUTES": "60"}, func(c *config.Config) bool { return c.AccessTokenTTL == time.Hour }},
		{"EMAIL_HOST fallback", map[string]string{"EMAIL_HOST": "smtp.x", "EMAIL_PORT": "25"}, func(c *config.Config) bool { return c.SMTPHost == "smtp.x" && c.SMTPPort == 25 }},
		{"SMTP_ before EMAIL_", map[string]string{"EMAIL_HOST": "a", "SMTP_HOST": "b"}, func(c *config.Config) bool { return c.SMTPHost == "b" }},
		{"SMTP_USE_TLS false", map[string]string{"SMTP_USE_TLS": "False"}, func(c *config.Config) bool { return c.SMTPTLS == config.TLSNone }},
		{"EMAIL_USE_SSL true", map[string]string{"EMAIL_USE_SSL": "True"}, func(c *config.Config) bool { return c.SMTPTLS == config.TLSImplicit }},
		{"IMAP falls back to SMTP user", map[string]string{"SMTP_USER": "u@x", "SMTP_PASSWORD": "pw"}, func(c *config.Config) bool { return c.IMAPUser == "u@x" && c.IMAPPassword == "pw" }},
		{"CORS list", map[string]string{"CORS_ALLOWED_ORIGINS": "https://a, https://b"}, func(c *config.Config) bool { return len(c.CORSOrigins) == 2 && c.CORSOrigins[1] == "https://b" }},
		{"FRONTEND_URL trailing slash", map[string]string{"FRONTEND_URL": "https://hps.example/"}, func(c *config.Config) bool { return c.FrontendURL == "https://hps.example" }},
		{"OPENAI_*", map[string]string{"OPENAI_MODEL": "m", "OPENAI_MAX_TOKENS": "10", "OPENAI_TEMPERATURE": "0.2"}, func(c *config.Config) bool {
			return c.OpenAIModel == "m" && c.OpenAIMaxTokens == 10 && c.OpenAITemperature == 0.2
		}},
		{"ALLOWED_HOSTS", map[string]string{"ALLOWED_HOSTS": "a.example,.b.example"}, func(c *config.Config) bool { return len(c.AllowedHosts) == 2 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(envOf(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(c) {
				t.Errorf("unexpected config for %v: %+v", tt.env, c)
			}
		})
	}
}

func TestSecretFromFileAndDotEnv(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte(strongKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dotenv := filepath.Join(dir, ".env")
	if err := os.WriteFile(dotenv, []byte("# comment\nexport THOT_ADDR=0.0.0.0:9000\nSMTP_HOST='mail.example'\nTHOT_LOG_LEVEL=\"debug\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(envOf(map[string]string{"THOT_ENV_FILE": dotenv, "JWT_SECRET_KEY_FILE": keyFile, "THOT_LOG_LEVEL": "warn"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.SecretKey != strongKey {
		t.Errorf("secret from _FILE = %q", c.SecretKey)
	}
	if c.Addr != "0.0.0.0:9000" || c.SMTPHost != "mail.example" {
		t.Errorf(".env not applied: addr=%s smtp=%s", c.Addr, c.SMTPHost)
	}
	if c.LogLevel != "warn" {
		t.Errorf("the real environment must win over .env: %s", c.LogLevel)
	}
	if _, err := config.Load(envOf(map[string]string{"THOT_ENV_FILE": filepath.Join(dir, "missing")})); err == nil {
		t.Error("an explicit THOT_ENV_FILE that does not exist must fail")
	}
}

func TestInvalidValuesNameTheVariable(t *testing.T) {
	tests := map[string]map[string]string{
		"SMTP_PORT":                   {"SMTP_PORT": "abc"},
		"THOT_ENV":                    {"THOT_ENV": "staging"},
		"THOT_SMTP_TLS":               {"THOT_SMTP_TLS": "maybe"},
		"DATABASE_URL":                {"DATABASE_URL": "mysql://x"},
		"THOT_TIMEZONE":               {"THOT_TIMEZONE": "Mars/Olympus"},
		"ACCESS_TOKEN_EXPIRE_MINUTES": {"ACCESS_TOKEN_EXPIRE_MINUTES": "soon"},
		"THOT_WORKER":                 {"THOT_WORKER": "perhaps"},
	}
	for name, env := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := config.Load(envOf(env))
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("err = %v, want one naming %s", err, name)
			}
		})
	}
}

func TestProductionRefusesUnsafeSettings(t *testing.T) {
	prod := func(extra map[string]string) map[string]string {
		m := map[string]string{"THOT_ENV": "production", "THOT_SECRET_KEY": strongKey, "DATABASE_URL": "postgres://db/x"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	if _, err := config.Load(envOf(prod(nil))); err != nil {
		t.Fatalf("a sound production config was refused: %v", err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"missing key", prod(map[string]string{"THOT_SECRET_KEY": ""}), "THOT_SECRET_KEY"},
		{"short key", prod(map[string]string{"THOT_SECRET_KEY": "abc123"}), "THOT_SECRET_KEY"},
		{"placeholder key", prod(map[string]string{"THOT_SECRET_KEY": "django-insecure-change-me-please-0123456789"}), "THOT_SECRET_KEY"},
		{"sqlite with replicas", prod(map[string]string{"DATABASE_URL": "", "THOT_REPLICAS": "2"}), "SQLite"},
		{"cors all with credentials", prod(map[string]string{"CORS_ALLOW_ALL_ORIGINS": "true"}), "CORS"},
		{"cors star with credentials", prod(map[string]string{"CORS_ALLOWED_ORIGINS": "*"}), "CORS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(envOf(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want mention of %s", err, tt.want)
			}
		})
	}
	// The same CORS setting is fine in development.
	if _, err := config.Load(envOf(map[string]string{"CORS_ALLOW_ALL_ORIGINS": "true"})); err != nil {
		t.Errorf("development refused CORS allow-all: %v", err)
	}
}

func TestSettingsMaskSecrets(t *testing.T) {
	c, err := config.Load(envOf(map[string]string{
		"DATABASE_URL": "postgres://thot:hunter2@db:5432/thot", "SECRET_KEY": strongKey,
		"SMTP_PASSWORD": "mailpw", "OPENAI_API_KEY": "sk-abc",
	}))
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, s := range c.Settings() {
		all.WriteString(s.Name + "=" + s.Value + " (" + s.Source + ")\n")
	}
	out := all.String()
	for _, secret := range []string{"hunter2", strongKey, "mailpw", "sk-abc"} {
		if strings.Contains(out, secret) {
			t.Errorf("secret %q printed:\n%s", secret, out)
		}
	}
	for _, want := range []string{"THOT_DATABASE_URL=postgres://thot:********@db:5432/thot (DATABASE_URL)", "THOT_SECRET_KEY=******** (SECRET_KEY)", "THOT_ADDR=127.0.0.1:8080 (default)"} {
		if !strings.Contains(out, want) {
			t.Errorf("settings lack %q:\n%s", want, out)
		}
	}
}

func TestDevelopmentKeyIsGeneratedOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	load := func() *config.Config {
		c, err := config.Load(envOf(map[string]string{"THOT_DATA_DIR": dir}))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c1 := load()
	gen, err := c1.EnsureSigningKey()
	if err != nil || !gen || len(c1.SecretKey) < 32 {
		t.Fatalf("first start: generated=%v err=%v key len %d", gen, err, len(c1.SecretKey))
	}
	c2 := load()
	gen, err = c2.EnsureSigningKey()
	if err != nil || gen || c2.SecretKey != c1.SecretKey {
		t.Fatalf("restart must reuse the key: generated=%v err=%v same=%v", gen, err, c2.SecretKey == c1.SecretKey)
	}
	fi, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", fi.Mode(), err)
	}
}

func TestEveryOptionHasAThotName(t *testing.T) {
	seen := map[string]bool{}
	for _, names := range config.OptionNames() {
		if !strings.HasPrefix(names[0], "THOT_") {
			t.Errorf("option %v: the first name must be THOT_*", names)
		}
		for _, n := range names {
			if seen[n] {
				t.Errorf("variable %s used by two options", n)
			}
			seen[n] = true
		}
	}
}
