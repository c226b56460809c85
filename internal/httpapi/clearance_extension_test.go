package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/filestore"
	"github.com/thot-security/thot/internal/identity"
)

type h4Person struct {
	TipoDocumento   string  `json:"tipo_documento"`
	NumeroDocumento string  `json:"numero_documento"`
	FechaNacimiento string  `json:"fecha_nacimiento"`
	Nombre          string  `json:"nombre"`
	PrimerApellido  string  `json:"primer_apellido"`
	SegundoApellido string  `json:"segundo_apellido"`
	Nacionalidad    string  `json:"nacionalidad"`
	LugarNacimiento string  `json:"lugar_nacimiento"`
	Correo          string  `json:"correo"`
	Telefono        string  `json:"telefono"`
	Operacion       string  `json:"operacion"`
	HPSType         *string `json:"hps_type"`
	Estado          *string `json:"estado"`
}

// TestHPSExtensionAPI: the legacy extension paths under both prefixes,
// only with a live key; status changes through the state machine on the
// open request only, audited under the key's name, with the status mail.
func TestHPSExtensionAPI(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := newStack(t, db)
		admin := s.user("admin-ext@example.org", "Extension-Api-2026", identity.RoleAdmin)
		applicant := s.user("lucia-ext@example.org", "Extension-Api-2026", identity.RoleMember)
		at := s.token(admin.ID)
		_, key := h4NewKey(t, s, at, "Chrome puesto 3")
		revokedID, revoked := h4NewKey(t, s, at, "Chrome antiguo")
		if r := s.call("DELETE", "/api/hps/api-keys/"+revokedID+"/", at, nil); r.status != 204 {
			t.Fatal(r.body)
		}

		uid := applicant.ID
		// An old approved request and the open one for the same person.
		oldApproved := h4InsertRequest(t, db, h4Req{UserID: &uid, Doc: "12345678Z", First: "Lucía", Status: "approved",
			Expires: h4Date(2030, 1, 1), Age: 400 * 24 * time.Hour})
		open := h4InsertRequest(t, db, h4Req{UserID: &uid, Doc: "12345678Z", First: "Lucía", Status: "pending"})
		if _, err := s.files.Put(ctx, "hps/filled/traslado.pdf", strings.NewReader("%PDF-1.7 traslado"), filestore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		transfer := h4InsertRequest(t, db, h4Req{Doc: "X1234567L", First: "Ángel", Status: "pending", Form: "traslado", Type: "transfer",
			FilledPDF: "hps/filled/traslado.pdf"})
		h4InsertRequest(t, db, h4Req{Doc: "Y7654321M", First: "Bruno", Status: "approved", Expires: h4Date(2029, 5, 5)})
		_, oldUpdated := h4Status(t, db, oldApproved)

		// Authentication: nothing, a JWT, garbage, a revoked key → 401.
		for name, h := range map[string]map[string]string{
			"no key":      {},
			"admin JWT":   {"Authorization": "Bearer " + at},
			"unknown key": {"X-API-Key": "thot_" + strings.Repeat("A", 43)},
			"revoked key": {"Authorization": "Api-Key " + revoked},
		} {
			for _, p := range []string{"/api/extension/personas/", "/api/v1/extension/persona/12345678Z"} {
				if r := h4CallHeaders(s, "GET", p, h, nil); r.status != 401 {
					t.Errorf("%s GET %s: %d %s", name, p, r.status, r.body)
				}
			}
			if r := h4CallHeaders(s, "PUT", "/api/extension/solicitud/12345678Z/enviada/", h, nil); r.status != 401 {
				t.Errorf("%s PUT enviada: %d %s", name, r.status, r.body)
			}
		}
		if st, _ := h4Status(t, db, open); st != "pending" {
			t.Fatalf("an unauthenticated call changed the request: %s", st)
		}

		// Persons: pending only, filtered by tipo, legacy keys.
		all := decode[[]h4Person](t, h4WithKey(s, "GET", "/api/extension/personas/", key, nil))
		if len(all) != 2 || all[0].Nombre != "Lucía" || all[1].Nombre != "Ángel" && all[0].Nombre != "Ángel" {
			t.Errorf("personas: %+v", all)
		}
		sol := decode[[]h4Person](t, h4WithKey(s, "GET", "/api/v1/extension/personas?tipo=solicitud", key, nil))
		if len(sol) != 1 || sol[0].NumeroDocumento != "12345678Z" || sol[0].Operacion != "new" || sol[0].HPSType == nil || *sol[0].HPSType != "solicitud" ||
			sol[0].FechaNacimiento != "1985-04-12" || sol[0].TipoDocumento != "206" || sol[0].SegundoApellido != "Núñez" ||
			sol[0].Nacionalidad != "1" || sol[0].Telefono != "600111222" || sol[0].Estado != nil {
			t.Errorf("tipo=solicitud: %+v", sol)
		}
		tr := decode[[]h4Person](t, h4WithKey(s, "GET", "/api/extension/personas/?tipo=traslado", key, nil))
		if len(tr) != 1 || tr[0].NumeroDocumento != "X1234567L" || tr[0].Operacion != "transfer" {
			t.Errorf("tipo=traslado: %+v", tr)
		}

		// Persona: the open request, whatever the case of the number.
		p := decode[h4Person](t, h4WithKey(s, "GET", "/api/extension/persona/12345678z/", key, nil))
		if p.Estado == nil || *p.Estado != "pending" || p.HPSType != nil {
			t.Errorf("persona: %+v", p)
		}
		p = decode[h4Person](t, h4WithKey(s, "GET", "/api/v1/extension/persona/Y7654321M", key, nil))
		if p.Estado == nil || *p.Estado != "approved" {
			t.Errorf("persona with only a closed request: %+v", p)
		}
		if r := h4WithKey(s, "GET", "/api/extension/persona/00000000T/", key, nil); r.status != 404 {
			t.Errorf("unknown persona: %d", r.status)
		}

		// estado: an arbitrary string is 400 naming "estado"; a state the
		// extension may not reach is refused; nothing changes.
		for _, c := range []struct {
			estado string
			status int
		}{{"lo-que-sea", 400}, {"", 400}, {"rejected", 403}, {"waiting_dps", 403}, {"approved", 409}, {"expired", 409}} {
			r := h4WithKey(s, "PUT", "/api/extension/solicitud/12345678Z/estado/", key, map[string]any{"estado": c.estado})
			if r.status != c.status || (c.status == 400 && !strings.Contains(r.body, `"estado"`)) {
				t.Errorf("estado %q: %d %s, want %d", c.estado, r.status, r.body, c.status)
			}
		}
		if st, _ := h4Status(t, db, open); st != "pending" {
			t.Fatalf("a refused estado changed the request: %s", st)
		}
		// The traslado routes only touch an open traslado.
		if r := h4WithKey(s, "PUT", "/api/extension/traslado/12345678Z/enviado/", key, nil); r.status != 404 {
			t.Errorf("traslado enviado on a solicitud: %d %s", r.status, r.body)
		}
		if r := h4WithKey(s, "PUT", "/api/v1/extension/solicitud/Y7654321M/enviada", key, nil); r.status != 404 {
			t.Errorf("enviada without open request: %d %s", r.status, r.body)
		}

		// enviada: only the open request moves; the old approved one with
		// the same number is untouched.
		r := h4WithKey(s, "PUT", "/api/extension/solicitud/12345678z/enviada/", key, nil)
		if r.status != 200 || !strings.Contains(r.body, `"success":true`) {
			t.Fatalf("enviada: %d %s", r.status, r.body)
		}
		if st, _ := h4Status(t, db, open); st != "submitted" {
			t.Errorf("open request: %s", st)
		}
		if st, upd := h4Status(t, db, oldApproved); st != "approved" || !upd.Equal(oldUpdated) {
			t.Errorf("old request: %s, updated %v (was %v)", st, upd, oldUpdated)
		}
		// Repeating it is harmless and writes nothing.
		if r := h4WithKey(s, "PUT", "/api/v1/extension/solicitud/12345678Z/estado", key, map[string]any{"estado": "submitted"}); r.status != 200 {
			t.Errorf("repeat: %d %s", r.status, r.body)
		}
		if n := h4Count(t, db, "SELECT count(*) FROM audit_logs WHERE table_name = 'hps_requests' AND record_id = ? AND actor = ? AND user_id IS NULL",
			open, "api-key:Chrome puesto 3"); n != 1 {
			t.Errorf("audit entries under the key's name: %d", n)
		}
		if n := h4Count(t, db, "SELECT count(*) FROM audit_logs WHERE table_name = 'hps_requests' AND record_id = ?", oldApproved); n != 0 {
			t.Errorf("audit entries on the old request: %d", n)
		}
		if n := h4Count(t, db, "SELECT count(*) FROM mail_messages WHERE template = 'hps_status' AND to_addr = ?", applicant.Email); n != 1 {
			t.Errorf("status mails to the account: %d", n)
		}

		// Transfer: the PDF, then enviado through the FastAPI path.
		r = h4WithKey(s, "GET", "/api/extension/traslado/x1234567l/pdf/", key, nil)
		if r.status != 200 || r.body != "%PDF-1.7 traslado" || r.header.Get("Content-Type") != "application/pdf" ||
			!strings.Contains(r.header.Get("Content-Disposition"), "attachment") ||
			!strings.Contains(r.header.Get("Content-Disposition"), "Traslado%20HPS.pdf") {
			t.Errorf("pdf: %d %v %q", r.status, r.header, r.body)
		}
		if r := h4WithKey(s, "GET", "/api/v1/extension/traslado/12345678Z/pdf", key, nil); r.status != 404 {
			t.Errorf("pdf of a solicitud: %d", r.status)
		}
		if r := h4CallHeaders(s, "PUT", "/api/v1/extension/traslado/X1234567L/enviado", map[string]string{"X-API-Key": key}, nil); r.status != 200 {
			t.Errorf("traslado enviado: %d %s", r.status, r.body)
		}
		if st, _ := h4Status(t, db, transfer); st != "submitted" {
			t.Errorf("transfer: %s", st)
		}
		if n := h4Count(t, db, "SELECT count(*) FROM audit_logs WHERE record_id = ? AND actor = ?", transfer, "api-key:Chrome puesto 3"); n != 1 {
			t.Errorf("transfer audit entries: %d", n)
		}
	})
}
