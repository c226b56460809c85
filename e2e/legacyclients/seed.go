package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/xuri/excelize/v2"
)

// account is a seeded user.
type account struct {
	id              int64
	email, password string
	role            string
}

// fixture is what the seed made: the accounts the checks log in with and
// the records the pages show.
type fixture struct {
	admin, jefe, lead, member, crypto account
	// Dedicated accounts for flows that end or change sessions, so that
	// they cannot disturb the others.
	ctForced, hpsForced, ctChange, ctRefresh, hpsRefresh account

	teamID string

	empresaOrigen, empresaDestino int64
	ac21ID, plainID, productoID   int64
	ac21Numero, typedCode         string
	stagingUntyped                []string

	hpsApplicants int // requests in the list (paging)
	hpsSubmitted  int // of which submitted (approve/reject)
	transferID    string
	templateID    int64
	formToken     string
	formEmail     string
	newUserEmail  string // created through the users page

	excelPath, scanPath, templatePath string
	tokenLifetime                     time.Duration

	api    *api   // to check what a flow changed
	hpsURL string // the hps frontend's origin (form links point there)
}

const seedPassword = "Harness-Clave-Segura-42"

// seed fills a fresh thot through its own API, as an administrator and as
// the custody user.
func seed(ctx context.Context, a *api, thotDir, outDir string) (*fixture, error) {
	fx := &fixture{admin: account{email: adminEmail, password: adminPassword, role: "admin"}, api: a}
	admin, _, err := a.login(adminEmail, adminPassword)
	if err != nil {
		return nil, err
	}
	mk := func(email, role string, mustChange bool, team string) (account, error) {
		body := map[string]any{"email": email, "first_name": "Prueba", "last_name": "Harness " + role,
			"role": role, "password": seedPassword, "must_change_password": mustChange}
		if team != "" {
			body["team_id"] = team
		}
		var out struct{ ID int64 }
		if err := a.do("POST", "/api/hps/user/profiles/", admin, body, &out); err != nil {
			return account{}, err
		}
		return account{id: out.ID, email: email, password: seedPassword, role: role}, nil
	}

	// The team lead is created as a member: making them the lead of a
	// team promotes them.
	if fx.lead, err = mk("jefe.equipo@harness.test", "member", false, ""); err != nil {
		return nil, err
	}
	var team struct{ ID string }
	if err := a.do("POST", "/api/hps/teams/", admin, map[string]any{"name": "Equipo Harness", "description": "Equipo de pruebas", "team_lead_id": fx.lead.id}, &team); err != nil {
		return nil, err
	}
	fx.teamID, fx.lead.role = team.ID, "team_lead"
	for _, s := range []struct {
		dst        *account
		email      string
		role       string
		mustChange bool
		team       string
	}{
		{&fx.jefe, "jefe.seguridad@harness.test", "jefe_seguridad", false, ""},
		{&fx.member, "miembro@harness.test", "member", false, team.ID},
		{&fx.crypto, "custodio@harness.test", "crypto", false, ""},
		{&fx.ctForced, "custodio.nuevo@harness.test", "crypto", true, ""},
		{&fx.hpsForced, "miembro.nuevo@harness.test", "member", true, team.ID},
		{&fx.ctChange, "custodio.cambio@harness.test", "crypto", false, ""},
		{&fx.ctRefresh, "custodio.sesion@harness.test", "crypto", false, ""},
		{&fx.hpsRefresh, "jefe.sesion@harness.test", "jefe_seguridad", false, ""},
	} {
		if *s.dst, err = mk(s.email, s.role, s.mustChange, s.team); err != nil {
			return nil, err
		}
	}
	pdf, err := os.ReadFile(filepath.Join(thotDir, "internal", "clearance", "testdata", "transfer_form.pdf"))
	if err != nil {
		return nil, err
	}
	fx.templatePath = filepath.Join(outDir, "plantilla.pdf")
	if err := os.WriteFile(fx.templatePath, pdf, 0o644); err != nil {
		return nil, err
	}
	if err := seedHPS(a, admin, fx, pdf); err != nil {
		return nil, err
	}
	ct, _, err := a.login(fx.crypto.email, fx.crypto.password)
	if err != nil {
		return nil, err
	}
	if err := seedCustody(a, ct, fx); err != nil {
		return nil, err
	}
	if fx.excelPath, err = writeExcel(filepath.Join(outDir, "packing-list.xlsx")); err != nil {
		return nil, err
	}
	if fx.scanPath, err = writeScan(filepath.Join(outDir, "ac21-scan.png")); err != nil {
		return nil, err
	}
	fx.newUserEmail = "alta.desde.pagina@harness.test"
	slog.Info("seeded", "team", fx.teamID, "ac21", fx.ac21ID, "hps_requests", fx.hpsApplicants, "template", fx.templateID)
	return fx, nil
}

// seedHPS uploads the transfer template and makes a page and a half of
// HPS requests (one applicant each: an account has one open request at a
// time), submits some, and makes a form link. The last request is a
// transfer sent through a transfer form link, so that it has its filled
// PDF.
func seedHPS(a *api, admin string, fx *fixture, pdf []byte) error {
	var tpl struct{ ID int64 }
	if err := a.multipart("POST", "/api/hps/templates/", admin,
		map[string]string{"name": "Traslado HPS (harness)", "description": "Plantilla de pruebas", "template_type": "jefe_seguridad", "version": "1.0", "active": "true"},
		map[string]fileField{"template_pdf": {name: "traslado.pdf", data: pdf}}, &tpl); err != nil {
		return err
	}
	fx.templateID = tpl.ID

	const n, submitted = 15, 6
	for i := 1; i <= n; i++ {
		email := fmt.Sprintf("solicitante%02d@harness.test", i)
		var u struct{ ID int64 }
		if err := a.do("POST", "/api/hps/user/profiles/", admin, map[string]any{"email": email, "first_name": "Solicitante",
			"last_name": fmt.Sprintf("Número %02d", i), "role": "member", "team_id": fx.teamID}, &u); err != nil {
			return err
		}
		form := map[string]any{
			"request_type": "new", "document_type": "206", "document_number": fmt.Sprintf("%08dH", 10000000+i),
			"birth_date": "1985-04-12", "first_name": "Solicitante", "first_last_name": "Número", "second_last_name": fmt.Sprintf("%02d", i),
			"nationality": "1", "birth_place": "Madrid", "email": email, "phone": "600123456",
		}
		if i == n {
			var link struct{ Token string }
			if err := a.do("POST", "/api/hps/tokens/", admin, map[string]any{"email": email, "purpose": "Traslado", "hours_valid": 24, "form_type": "traslado"}, &link); err != nil {
				return err
			}
			form["request_type"] = "transfer"
			var r struct{ ID string }
			if err := a.do("POST", "/api/hps/requests/public/?"+query("token", link.Token, "form_type", "traslado"), "", form, &r); err != nil {
				return err
			}
			fx.transferID = r.ID
			continue
		}
		form["user_id"] = u.ID
		var r struct{ ID string }
		if err := a.do("POST", "/api/hps/requests/", admin, form, &r); err != nil {
			return err
		}
		if i <= submitted {
			if err := a.do("POST", "/api/hps/requests/"+r.ID+"/submit/", admin, nil, nil); err != nil {
				return err
			}
		}
	}
	fx.hpsApplicants, fx.hpsSubmitted = n, submitted

	fx.formEmail = "persona.nueva@harness.test"
	var tok struct{ Token string }
	if err := a.do("POST", "/api/hps/tokens/", admin, map[string]any{"email": fx.formEmail, "purpose": "Alta desde el formulario público", "hours_valid": 72}, &tok); err != nil {
		return err
	}
	fx.formToken = tok.Token
	return nil
}

// seedCustody makes two companies, product types, a typed product, an
// orphan and an untyped one with movements, an incoming AC21 between the
// companies, a plain inventory document and a staging group.
func seedCustody(a *api, tok string, fx *fixture) error {
	for i, dst := range []*int64{&fx.empresaOrigen, &fx.empresaDestino} {
		var e struct{ ID int64 }
		if err := a.do("POST", "/api/empresas/", tok, map[string]any{
			"nombre": []string{"Empresa Origen Harness", "Empresa Destino Harness"}[i], "direccion": "Calle Mayor 1", "ciudad": "Madrid",
			"codigo_postal": "28001", "provincia": "Madrid", "numero_odmc": fmt.Sprintf("ODMC-%d", 100+i),
			"cryptocustodios": []map[string]any{{"empleo_rango": "Cte.", "nombre_apellidos": "Ana Pérez", "cargo": "Custodia"}},
		}, &e); err != nil {
			return err
		}
		*dst = e.ID
	}
	var cc struct{ ID int64 }
	if err := a.do("POST", "/api/tipos-producto/", tok, map[string]any{"nombre": "CC"}, &cc); err != nil {
		return err
	}
	if err := a.do("POST", "/api/tipos-producto/", tok, map[string]any{"nombre": "C"}, nil); err != nil {
		return err
	}
	fx.typedCode = "HARN-CC-001"
	var p struct{ ID int64 }
	if err := a.do("POST", "/api/productos/", tok, map[string]any{"codigo_producto": fx.typedCode, "descripcion": "Cifrador de pruebas", "tipo": cc.ID}, &p); err != nil {
		return err
	}
	fx.productoID = p.ID
	if err := a.do("POST", "/api/productos/", tok, map[string]any{"codigo_producto": "HARN-HUERFANO-001", "descripcion": "Producto sin uso"}, nil); err != nil {
		return err
	}
	line := func(code, serie string) map[string]any {
		return map[string]any{"codigo": code, "numero_serie": serie, "descripcion": "Equipo " + code, "cantidad": 1}
	}
	// Incoming AC21s go through staging (bulk_create, then procesar), as
	// the OCR page sends them; only INVENTARIO documents are entered
	// directly.
	fx.ac21Numero = "E2026-0101"
	if err := a.do("POST", "/api/lineas-temporales/bulk_create/", tok, map[string]any{
		"cabecera": map[string]any{"numero": fx.ac21Numero, "numero_registro_entrada": fx.ac21Numero, "tipo_transaccion": "TRANSFERENCIA",
			"fecha_informe": "2026-03-14", "fecha_transaccion": "2026-03-15", "odmc_numero": "ODMC-100"},
		"empresa_origen": map[string]any{"id": fx.empresaOrigen}, "empresa_destino": map[string]any{"id": fx.empresaDestino},
		"accesorios": []map[string]any{{"descripcion": "Cable de red", "cantidad": 2}}, "equipos_prueba": []map[string]any{{"codigo": "EP-1"}},
		"firmas":    map[string]any{"firma_a": map[string]any{"nombre": "Ana Pérez", "cargo": "Custodia"}, "firma_b": map[string]any{"nombre": "Luis Gil", "cargo": "Testigo"}},
		"articulos": []map[string]any{line(fx.typedCode, "SN-0001"), line(fx.typedCode, "SN-0002")},
	}, nil); err != nil {
		return err
	}
	var proc struct {
		AlbaranID int64 `json:"albaran_id"`
	}
	if err := a.do("POST", "/api/lineas-temporales/procesar/", tok, map[string]any{}, &proc); err != nil {
		return err
	}
	fx.ac21ID = proc.AlbaranID
	// HARN-CC-009 is new, so it enters untyped, with movements (the
	// catalog page suggests CC for it from HARN-CC-001).
	var doc struct{ ID int64 }
	if err := a.do("POST", "/api/albaranes/", tok, map[string]any{
		"numero": "INV-HARN-0001", "tipo_documento": "INVENTARIO",
		"articulos": []map[string]any{line(fx.typedCode, "SN-0100"), line("HARN-CC-009", "SN-0009")},
	}, &doc); err != nil {
		return err
	}
	fx.plainID = doc.ID
	fx.stagingUntyped = []string{"HARN-STG-U1", "HARN-STG-U2"}
	return a.do("POST", "/api/lineas-temporales/bulk_create/", tok, map[string]any{
		"cabecera":  map[string]any{"numero": "STG-HARN-0001", "tipo_transaccion": "Transferencia"},
		"articulos": []map[string]any{line(fx.stagingUntyped[0], "U1-1"), line(fx.stagingUntyped[1], "U2-1"), line(fx.typedCode, "SN-0200")},
	}, nil)
}

// writeExcel writes a packing list with the columns the legacy processing
// service read.
func writeExcel(path string) (string, error) {
	f := excelize.NewFile()
	defer f.Close()
	rows := [][]any{
		{"Packing List", "Part. N", "Descripción", "S/N", "BULTOS TOTAL", "OBSERVACIONES"},
		{"PL-HARN-0001", "HARN-XLS-001", "Terminal cifrado", "XLS-0001", 1, "Sin incidencias"},
		{"PL-HARN-0001", "HARN-XLS-001", "Terminal cifrado", "XLS-0002", 1, ""},
		{"PL-HARN-0001", "HARN-CC-001", "Cifrador de pruebas", "XLS-0003", 1, ""},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			return "", err
		}
	}
	return path, f.SaveAs(path)
}

// writeScan writes a small PNG to stand for a scanned AC21 (the OCR stub
// answers the same extraction for any image).
func writeScan(path string) (string, error) {
	img := image.NewRGBA(image.Rect(0, 0, 600, 800))
	for y := 0; y < 800; y++ {
		for x := 0; x < 600; x++ {
			c := color.RGBA{255, 255, 255, 255}
			if y%40 == 0 || x%200 == 0 {
				c = color.RGBA{40, 40, 40, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, buf.Bytes(), 0o644)
}
