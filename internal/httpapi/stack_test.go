package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/filestore"
	"github.com/thot-security/thot/internal/httpapi"
	"github.com/thot-security/thot/internal/identity"
	"github.com/thot-security/thot/internal/jobs"
	"github.com/thot-security/thot/internal/mail"
	"github.com/thot-security/thot/internal/sqlstore"
)

// stack is a server on the real identity services and a real database.
type stack struct {
	t      testing.TB
	db     *database.DB
	store  *sqlstore.Store
	svc    *identity.Service
	auth   *identity.Auth
	hasher *identity.Hasher
	cust   *custody.Service
	files  *filestore.Local
	// jobs is an insert-only River client (mail is queued, not sent);
	// clear is the HPS service on it.
	jobs  *jobs.Client
	clear *clearance.Service
	srv   *httpapi.Server
}

const testSigningKey = "thot-test-signing-key-0123456789abcdef"

func newStack(t testing.TB, db *database.DB) *stack {
	t.Helper()
	store := sqlstore.New(db)
	hasher := identity.NewHasher(1000)
	svc := identity.NewService(store, hasher)
	auth := identity.NewAuth(store, store, hasher, identity.NewTokens(testSigningKey, 480*time.Minute, 7*24*time.Hour))
	cfg := testConfig(t, map[string]string{"THOT_SECRET_KEY": testSigningKey})
	cust := custody.NewService(store)
	files, err := filestore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	if err := mail.Register(workers, mail.WorkerDeps{DB: db, Sender: mail.NewSender(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))}); err != nil {
		t.Fatal(err)
	}
	jc, err := jobs.New(db, workers, nil, jobs.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	store.SetMailer(mail.NewMailer(jc))
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	clear := clearance.NewService(store, files, svc, hasher, clearance.Config{
		FrontendURL: "https://thot.example.org", ApprovalYears: 5, ReminderDays: []int{270, 90, 30}, Location: madrid})
	srv := httpapi.New(httpapi.Deps{Config: cfg, DB: db, Jobs: jc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Auth: auth, Identity: svc, Custody: cust, Files: files, Clearance: clear})
	return &stack{t: t, db: db, store: store, svc: svc, auth: auth, hasher: hasher, cust: cust, files: files, jobs: jc, clear: clear, srv: srv}
}

// user creates an active user with a role and returns it.
func (s *stack) user(email, password, role string) *identity.User {
	s.t.Helper()
	u, err := s.svc.CreateUser(context.Background(), identity.NewUser{Email: email, FirstName: "Test", LastName: role, Password: password})
	if err != nil {
		s.t.Fatalf("create %s: %v", email, err)
	}
	s.setRole(u.ID, role)
	return u
}

func (s *stack) setRole(id int64, role string) {
	s.t.Helper()
	if _, err := s.db.NewRaw("UPDATE users SET role_id = (SELECT id FROM roles WHERE name = ?) WHERE id = ?", role, id).Exec(context.Background()); err != nil {
		s.t.Fatal(err)
	}
}

// token opens a session for the user as it is in the database and
// returns its access token.
func (s *stack) token(id int64) string {
	s.t.Helper()
	return testSession(s.t, s.db, s.store, s.auth.Tokens(), id).Access
}

// testSession opens a session for user id without a password check (a
// fixture: no login audit entry, no last_login) and returns its pair.
func testSession(t testing.TB, db *database.DB, store *sqlstore.Store, tokens *identity.Tokens, id int64) identity.Pair {
	t.Helper()
	p, err := store.Principal(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tokens.Issue(p.User, identity.NewSessionID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.NewRaw("INSERT INTO auth_sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
		pair.SessionID, id, time.Now().UTC(), pair.RefreshExp.UTC()).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	return pair
}

// call sends a JSON request with an optional bearer token.
func (s *stack) call(method, path, token string, body any) response {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	s.srv.Handler().ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.String()}
}

func decode[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, r.body)
	}
	return v
}

func auditCount(t testing.TB, db *database.DB, action string, userID int64) int {
	t.Helper()
	var n int
	if err := db.NewRaw("SELECT count(*) FROM audit_logs WHERE action = ? AND user_id = ?", action, userID).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

var _ = http.StatusOK
