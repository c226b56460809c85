package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL reset of -database-url
)

// Seeded administrator (thot creates it on the first start).
const (
	adminEmail    = "admin@harness.test"
	adminPassword = "Harness-Admin-Clave-71"
)

func buildThot(ctx context.Context, thotDir, workDir string) (string, error) {
	bin := filepath.Join(workDir, "bin", "thot")
	if err := runCmd(ctx, workDir, "go-build", thotDir, []string{"CGO_ENABLED=0"}, "go", "build", "-o", bin, "./cmd/thot"); err != nil {
		return "", err
	}
	return bin, nil
}

// thotServer is the thot process of a run.
type thotServer struct {
	bin, addr, dataDir, databaseURL string
	cors                            []string
	procs                           *procGroup
	p                               *proc
	restarts                        int
}

func (t *thotServer) env(extra map[string]string) []string {
	env := map[string]string{
		"THOT_ENV":                  "development",
		"THOT_ADDR":                 t.addr,
		"THOT_DATA_DIR":             t.dataDir,
		"THOT_ADMIN_EMAIL":          adminEmail,
		"THOT_ADMIN_PASSWORD":       adminPassword,
		"THOT_CORS_ALLOWED_ORIGINS": strings.Join(t.cors, ","),
		// Form links (and the login link of e-mails) point at the hps
		// frontend, the one that has /hps-form: cors is {cryptotrace, hps}.
		"THOT_FRONTEND_URL":   t.cors[1],
		"THOT_HPS_SYSTEM_URL": t.cors[1],
		// The browser makes many public-form calls in a row.
		"THOT_HPS_PUBLIC_RATE_LIMIT": "1000",
		// Cheap hashing: the harness logs in dozens of times on a shared
		// machine (development only; production refuses it).
		"THOT_PASSWORD_ITERATIONS": "20000",
	}
	if t.databaseURL != "" {
		env["THOT_DATABASE_URL"] = t.databaseURL
	}
	for k, v := range extra {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// start runs thot on a fresh data directory (and a reset PostgreSQL
// schema when one is given) and waits until it is ready.
func (t *thotServer) start(ctx context.Context, extra map[string]string) error {
	if err := portFree(t.addr); err != nil {
		return err
	}
	if t.p == nil {
		if err := os.RemoveAll(t.dataDir); err != nil {
			return err
		}
		if err := resetPostgres(ctx, t.databaseURL); err != nil {
			return err
		}
	}
	p, err := t.procs.start(fmt.Sprintf("thot-%d", t.restarts), filepath.Dir(t.bin), t.env(extra), t.bin, "serve")
	if err != nil {
		return err
	}
	t.p = p
	return waitHTTP(ctx, p, "http://"+t.addr+"/readyz", time.Minute)
}

// restart stops thot and starts it again on the same data.
func (t *thotServer) restart(ctx context.Context, extra map[string]string) error {
	t.procs.stop(t.p)
	t.restarts++
	return t.start(ctx, extra)
}

// resetPostgres empties the public schema of the harness's database. As a
// guard against pointing it at real data, the database's name must say
// it is for tests.
func resetPostgres(ctx context.Context, dsn string) error {
	if dsn == "" {
		return nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return fmt.Errorf("-database-url: %w", err)
	}
	if name := strings.TrimPrefix(u.Path, "/"); !strings.Contains(name, "test") && !strings.Contains(name, "harness") {
		return fmt.Errorf("-database-url: the harness drops the schema of database %q; use a throw-away database whose name contains \"test\" or \"harness\"", name)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
	return err
}

// api is a small JSON client of thot, used to seed data and to check
// what the browser flows changed.
type api struct {
	base   string
	client *http.Client
}

func newAPI(base string) *api {
	return &api{base: base, client: &http.Client{Timeout: 30 * time.Second}}
}

// apiError is an answer with an unexpected status.
type apiError struct {
	method, path string
	status       int
	body         string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.status, truncate(e.body, 400))
}

// do sends body as JSON (nil: no body) and decodes a 2xx answer into out.
func (a *api) do(method, path, token string, body, out any) error {
	var r io.Reader
	ct := ""
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r, ct = bytes.NewReader(b), "application/json"
	}
	return a.send(method, path, token, ct, r, out)
}

// multipart sends fields and files (field name → file name and content).
func (a *api) multipart(method, path, token string, fields map[string]string, files map[string]fileField, out any) error {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			return err
		}
	}
	for k, f := range files {
		fw, err := w.CreateFormFile(k, f.name)
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.data); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return a.send(method, path, token, w.FormDataContentType(), &buf, out)
}

type fileField struct {
	name string
	data []byte
}

func (a *api) send(method, path, token, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequest(method, a.base+path, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &apiError{method: method, path: path, status: resp.StatusCode, body: string(b)}
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
		}
	}
	return nil
}

// login returns an access token (and the refresh token).
func (a *api) login(user, password string) (access, refresh string, err error) {
	var out struct{ Access, Refresh string }
	err = a.do("POST", "/api/token/", "", map[string]string{"username": user, "password": password}, &out)
	return out.Access, out.Refresh, err
}

func query(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
