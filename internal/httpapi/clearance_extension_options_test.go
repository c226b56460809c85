package httpapi_test

import (
	"testing"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/identity"
)

// TestHPSExtensionReadableOptions: the extension API answers the document
// type and nationality as the forms wrote them (the newer extension
// compares nacionalidad with "ESPAÑA") and the government codes beside
// them; a stored value outside the lists has no code (null).
func TestHPSExtensionReadableOptions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		s := newStack(t, db)
		admin := s.user("admin-ext@example.org", "Extension-Api-2026", identity.RoleAdmin)
		applicant := s.user("lucia-ext@example.org", "Extension-Api-2026", identity.RoleMember)
		at := s.token(admin.ID)
		_, key := h4NewKey(t, s, at, "Chrome puesto 3")
		form := map[string]any{"request_type": "new", "document_type": "NIE", "document_number": "X1234567L", "birth_date": "1988-02-29",
			"first_name": "Lucía", "first_last_name": "Sanz", "nationality": "ESPAÑA", "birth_place": "Soria", "email": applicant.Email,
			"phone": "600123456", "user_id": applicant.ID}
		if r := s.call("POST", "/api/hps/requests/", at, form); r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		free := h4InsertRequest(t, db, h4Req{Doc: "Y7654321M", First: "Bruno", Status: "pending"})
		if _, err := db.NewRaw("UPDATE hps_requests SET document_type = 'Carnet', nationality = 'Marciana' WHERE id = ?", free).Exec(t.Context()); err != nil {
			t.Fatal(err)
		}

		persons := decode[[]map[string]any](t, h4WithKey(s, "GET", "/api/extension/personas/?tipo=solicitud", key, nil))
		byDoc := map[string]map[string]any{}
		for _, p := range persons {
			byDoc[p["numero_documento"].(string)] = p
		}
		if p := byDoc["X1234567L"]; p["nacionalidad"] != "ESPAÑA" || p["nacionalidad_codigo"] != "1" || p["tipo_documento"] != "NIE" || p["tipo_documento_codigo"] != "207" {
			t.Errorf("persona %v", p)
		}
		if p := byDoc["Y7654321M"]; p["nacionalidad"] != "Marciana" || p["nacionalidad_codigo"] != nil || p["tipo_documento_codigo"] != nil {
			t.Errorf("free-text persona %v", p)
		}
		one := decode[map[string]any](t, h4WithKey(s, "GET", "/api/v1/extension/persona/X1234567L", key, nil))
		if one["nacionalidad"] != "ESPAÑA" || one["nacionalidad_codigo"] != "1" || one["tipo_documento_codigo"] != "207" {
			t.Errorf("persona by document %v", one)
		}
	})
}
