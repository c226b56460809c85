package httpapi_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/httpapi"
	"github.com/thot-security/thot/internal/identity"
	"github.com/thot-security/thot/internal/jobs"
)

// TestJobDashboardIsForStaffOnly: anonymous browsers are sent to the admin
// login; a member cannot log in there; a staff user gets the cookie and
// the dashboard; a Bearer token of a non-staff user is refused.
func TestJobDashboardIsForStaffOnly(t *testing.T) {
	db := dbtest.SQLite(t)
	st := newStack(t, db)
	jc, err := jobs.New(db, nil, nil, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapi.New(httpapi.Deps{Config: testConfig(t, nil), DB: db, Jobs: jc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Auth: st.auth, Identity: st.svc})
	h := srv.Handler()

	get := func(path string, mod func(*http.Request)) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		if mod != nil {
			mod(req)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := get("/admin/jobs/", nil); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/login/" {
		t.Fatalf("anonymous: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	member := st.user("miembro@example.org", "Miembro-Clave-11", identity.RoleMember)
	if rec := get("/admin/jobs/", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+st.token(member.ID)) }); rec.Code != 403 {
		t.Errorf("member with a Bearer token: %d", rec.Code)
	}
	login := func(user, pw string) *httptest.ResponseRecorder {
		form := url.Values{"username": {user}, "password": {pw}}
		req := httptest.NewRequest("POST", "/admin/login/", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := login("miembro@example.org", "Miembro-Clave-11"); rec.Code != 403 || len(rec.Result().Cookies()) != 0 {
		t.Errorf("member admin login: %d, cookies %v", rec.Code, rec.Result().Cookies())
	}
	if rec := login("miembro@example.org", "wrong"); rec.Code != 401 {
		t.Errorf("bad password: %d", rec.Code)
	}
	staff, err := st.svc.CreateUser(t.Context(), identity.NewUser{Email: "staff@example.org", Password: "Personal-Admin-12", IsStaff: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := login(staff.Email, "Personal-Admin-12")
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("staff admin login: %d %s", rec.Code, rec.Body.String())
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Path != "/admin/" {
		t.Fatalf("cookie = %+v", cookies)
	}
	if rec := get("/admin/jobs/", func(r *http.Request) { r.AddCookie(cookies[0]) }); rec.Code != 200 {
		t.Errorf("staff with the cookie: %d", rec.Code)
	}
	// Logging out ends the cookie's session: a copy of the cookie is dead.
	req := httptest.NewRequest("POST", "/admin/logout/", nil)
	req.AddCookie(cookies[0])
	out := httptest.NewRecorder()
	h.ServeHTTP(out, req)
	if out.Code != http.StatusSeeOther {
		t.Fatalf("admin logout: %d", out.Code)
	}
	if rec := get("/admin/jobs/", func(r *http.Request) { r.AddCookie(cookies[0]) }); rec.Code != http.StatusSeeOther {
		t.Errorf("the old cookie after logout: %d", rec.Code)
	}
	var live int
	if err := db.NewRaw("SELECT count(*) FROM auth_sessions WHERE revoked_at IS NULL AND user_id = ?", member.ID).Scan(t.Context(), &live); err != nil || live != 1 {
		// Only the Bearer session of the fixture: the refused admin login's ended.
		t.Errorf("member's live sessions = %d (%v), want 1", live, err)
	}
}
