package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/identity"
)

// Shared helpers of the API-key, extension and expiry tests (prefix h4).

// h4RequestRow inserts an HPS request directly (the columns these tests
// need; the rest take their defaults).
type h4RequestRow struct {
	bun.BaseModel `bun:"table:hps_requests"`

	ID             string     `bun:"id,pk"`
	UserID         *int64     `bun:"user_id"`
	RequestType    string     `bun:"request_type"`
	Status         string     `bun:"status"`
	FormType       string     `bun:"form_type"`
	FilledPDF      *string    `bun:"filled_pdf"`
	DocumentType   string     `bun:"document_type"`
	DocumentNumber string     `bun:"document_number"`
	BirthDate      time.Time  `bun:"birth_date"`
	FirstName      string     `bun:"first_name"`
	FirstLastName  string     `bun:"first_last_name"`
	SecondLastName string     `bun:"second_last_name"`
	Nationality    string     `bun:"nationality"`
	BirthPlace     string     `bun:"birth_place"`
	Email          string     `bun:"email"`
	Phone          string     `bun:"phone"`
	ExpiresAt      *time.Time `bun:"expires_at"`
	CreatedAt      time.Time  `bun:"created_at"`
	UpdatedAt      time.Time  `bun:"updated_at"`
}

// h4Req describes a request to insert.
type h4Req struct {
	UserID    *int64
	Doc       string
	First     string
	Status    string
	Form      string // "" = solicitud
	Type      string // "" = new
	Expires   *time.Time
	FilledPDF string
	Age       time.Duration // created this long ago
}

func h4Date(y int, m time.Month, d int) *time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return &t
}

func h4InsertRequest(t testing.TB, db *database.DB, r h4Req) string {
	t.Helper()
	if r.Form == "" {
		r.Form = "solicitud"
	}
	if r.Type == "" {
		r.Type = "new"
	}
	now := time.Now().UTC().Add(-r.Age)
	row := &h4RequestRow{ID: uuid.NewString(), UserID: r.UserID, RequestType: r.Type, Status: r.Status, FormType: r.Form,
		DocumentType: "206", DocumentNumber: r.Doc, BirthDate: time.Date(1985, 4, 12, 0, 0, 0, 0, time.UTC),
		FirstName: r.First, FirstLastName: "García", SecondLastName: "Núñez", Nationality: "1", BirthPlace: "Cáceres",
		Email: strings.ToLower(r.First) + "@form.example.org", Phone: "600111222", ExpiresAt: r.Expires, CreatedAt: now, UpdatedAt: now}
	if r.FilledPDF != "" {
		row.FilledPDF = &r.FilledPDF
	}
	if _, err := db.NewInsert().Model(row).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	return row.ID
}

func h4Status(t testing.TB, db *database.DB, id string) (status string, updated time.Time) {
	t.Helper()
	var row h4RequestRow
	if err := db.NewSelect().Model(&row).Where("id = ?", id).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return row.Status, row.UpdatedAt
}

// h4CallHeaders sends a JSON request with the given headers.
func h4CallHeaders(s *stack, method, path string, headers map[string]string, body any) response {
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
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.srv.Handler().ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.String()}
}

// h4WithKey calls with `Authorization: Api-Key <key>`.
func h4WithKey(s *stack, method, path, key string, body any) response {
	s.t.Helper()
	return h4CallHeaders(s, method, path, map[string]string{"Authorization": "Api-Key " + key}, body)
}

type h4KeyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scope      string     `json:"scope"`
	Prefix     string     `json:"prefix"`
	Key        *string    `json:"key"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	IsActive   bool       `json:"is_active"`
}

// h4NewKey creates an extension key through the API as adminToken.
func h4NewKey(t testing.TB, s *stack, adminToken, name string) (id, key string) {
	t.Helper()
	r := s.call("POST", "/api/hps/api-keys/", adminToken, map[string]any{"name": name, "scope": "extension"})
	if r.status != 201 {
		t.Fatalf("create key: %d %s", r.status, r.body)
	}
	k := decode[h4KeyJSON](t, r)
	if k.Key == nil {
		t.Fatalf("no key in %s", r.body)
	}
	return k.ID, *k.Key
}

func h4Count(t testing.TB, db *database.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.NewRaw(query, args...).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHPSAPIKeys: a key is shown once, stored as its SHA-256, listed by
// prefix, works in both headers, records its last use, and stops working
// the moment it is revoked; creation and revocation are audited.
func TestHPSAPIKeys(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		s := newStack(t, db)
		admin := s.user("admin-keys@example.org", "Claves-Api-2026", identity.RoleAdmin)
		jefe := s.user("jefe-keys@example.org", "Claves-Api-2026", identity.RoleJefeSeguridad)
		member := s.user("member-keys@example.org", "Claves-Api-2026", identity.RoleMember)
		at := s.token(admin.ID)

		r := s.call("POST", "/api/hps/api-keys/", at, map[string]any{"name": "Extensión Chrome oficina", "scope": "extension"})
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		k := decode[h4KeyJSON](t, r)
		if k.Key == nil || !strings.HasPrefix(*k.Key, "thot_") || len(*k.Key) != 5+43 {
			t.Fatalf("key %v: want thot_ + 43 base64url characters", k.Key)
		}
		key := *k.Key
		if k.Prefix != key[:13] || k.Scope != "extension" || !k.IsActive || k.RevokedAt != nil {
			t.Errorf("created %+v", k)
		}
		sum := sha256.Sum256([]byte(key))
		if n := h4Count(t, db, "SELECT count(*) FROM api_keys WHERE key_hash = ? AND prefix = ? AND created_by_id = ?",
			hex.EncodeToString(sum[:]), key[:13], admin.ID); n != 1 {
			t.Errorf("stored rows with the key's hash: %d", n)
		}
		if n := h4Count(t, db, "SELECT count(*) FROM api_keys WHERE key_hash = ? OR name = ? OR prefix = ?", key, key, key); n != 0 {
			t.Error("the key itself is stored")
		}
		if n := h4Count(t, db, "SELECT count(*) FROM audit_logs WHERE table_name = 'api_keys' AND action = 'create' AND record_id = ? AND user_id = ?", k.ID, admin.ID); n != 1 {
			t.Errorf("create audit entries: %d", n)
		}
		if n := h4Count(t, db, "SELECT count(*) FROM audit_logs WHERE CAST(new_values AS TEXT) LIKE ?", "%"+key[13:]+"%"); n != 0 {
			t.Error("the key reached the audit log")
		}

		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"name": "  ", "scope": "extension"}, "name"},
			{map[string]any{"name": strings.Repeat("x", 101)}, "name"},
			{map[string]any{"name": "otra", "scope": "admin"}, "scope"},
		} {
			r := s.call("POST", "/api/hps/api-keys/", at, c.body)
			if r.status != 400 || !strings.Contains(r.body, `"`+c.field+`"`) {
				t.Errorf("create %v: %d %s, want 400 naming %s", c.body, r.status, r.body, c.field)
			}
		}
		if r := s.call("POST", "/api/hps/api-keys/", s.token(member.ID), map[string]any{"name": "mía"}); r.status != 403 {
			t.Errorf("member creates a key: %d", r.status)
		}

		// jefe_seguridad holds the permission too; its list shows no keys.
		r = s.call("GET", "/api/hps/api-keys/", s.token(jefe.ID), nil)
		if r.status != 200 || strings.Contains(r.body, key) || strings.Contains(r.body, `"key"`) || !strings.Contains(r.body, key[:13]) {
			t.Errorf("list: %d %s", r.status, r.body)
		}

		// Both headers authenticate; the use is recorded.
		if r := h4WithKey(s, "GET", "/api/extension/personas/", key, nil); r.status != 200 {
			t.Errorf("Authorization: Api-Key: %d %s", r.status, r.body)
		}
		if r := h4CallHeaders(s, "GET", "/api/v1/extension/personas", map[string]string{"X-API-Key": key}, nil); r.status != 200 {
			t.Errorf("X-API-Key: %d %s", r.status, r.body)
		}
		if r := h4CallHeaders(s, "GET", "/api/v1/extension/personas", map[string]string{"Authorization": "api-key " + key}, nil); r.status != 200 {
			t.Errorf("lower-case scheme: %d %s", r.status, r.body)
		}
		list := decode[[]h4KeyJSON](t, s.call("GET", "/api/hps/api-keys/", at, nil))
		if len(list) != 1 || list[0].LastUsedAt == nil {
			t.Errorf("after use: %+v", list)
		}

		// Revocation: immediate, idempotent, audited once, row kept.
		if r := s.call("DELETE", "/api/hps/api-keys/"+k.ID+"/", at, nil); r.status != 204 {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		if r := s.call("DELETE", "/api/hps/api-keys/"+k.ID+"/", at, nil); r.status != 204 {
			t.Errorf("revoke again: %d %s", r.status, r.body)
		}
		for _, h := range []map[string]string{{"Authorization": "Api-Key " + key}, {"X-API-Key": key}} {
			r := h4CallHeaders(s, "GET", "/api/extension/personas/", h, nil)
			if r.status != 401 || !strings.Contains(r.body, "invalid_api_key") {
				t.Errorf("revoked key %v: %d %s", h, r.status, r.body)
			}
		}
		if n := h4Count(t, db, "SELECT count(*) FROM audit_logs WHERE table_name = 'api_keys' AND action = 'update' AND record_id = ?", k.ID); n != 1 {
			t.Errorf("revoke audit entries: %d", n)
		}
		list = decode[[]h4KeyJSON](t, s.call("GET", "/api/hps/api-keys/", at, nil))
		if len(list) != 1 || list[0].RevokedAt == nil || list[0].IsActive {
			t.Errorf("after revoke: %+v", list)
		}
		for _, id := range []string{uuid.NewString(), "nope"} {
			if r := s.call("DELETE", "/api/hps/api-keys/"+id+"/", at, nil); r.status != 404 {
				t.Errorf("revoke %s: %d %s", id, r.status, r.body)
			}
		}
	})
}
