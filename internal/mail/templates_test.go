package mail

import (
	"strings"
	"testing"
	"time"
)

// sampleData is realistic data for every shipped template.
func sampleData(t *testing.T, name string) any {
	t.Helper()
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	expiry := time.Date(2031, 3, 14, 0, 0, 0, 0, madrid)
	switch name {
	case TemplateTest:
		return TestData{RequestedBy: "Begoña Ibáñez"}
	case TemplateCredentials:
		return CredentialsData{Name: "Íñigo Muñoz", LoginURL: "https://hps.example/login", Username: "imunoz", Email: "inigo@example.org", TemporaryPassword: "Xk3p9QmA2bZr"}
	case TemplateHPSFormLink:
		return HPSFormLinkData{Name: "Íñigo Muñoz", FormURL: "https://hps.example/hps-form?token=abc&email=inigo%40example.org", ExpiresAt: time.Date(2026, 5, 2, 18, 30, 0, 0, madrid), Purpose: "Renovación por cambio de destino", RequestedBy: "Begoña Ibáñez"}
	case TemplateHPSStatus:
		return HPSStatusData{Name: "Íñigo Muñoz", DocumentNumber: "12345678Z", RequestType: "Renovación HPS", OldStatus: "pending", NewStatus: "waiting_dps", Comments: "Recibida notificación del CCN.\nPendiente de la DPS."}
	case TemplateHPSApproved:
		return HPSApprovedData{Name: "Íñigo Muñoz", DocumentNumber: "12345678Z", RequestType: "Solicitud HPS", ExpiresAt: expiry, Notes: "Válida para grado RESERVADO."}
	case TemplateHPSRejected:
		return HPSRejectedData{Name: "Íñigo Muñoz", DocumentNumber: "12345678Z", Reason: "Falta la documentación de acreditación <firma>."}
	case TemplateHPSExpiryReminder:
		return HPSExpiryReminderData{Name: "Íñigo Muñoz", DocumentNumber: "12345678Z", ExpiresAt: expiry, DaysLeft: 5, RenewalURL: "https://hps.example/renovar?id=7"}
	}
	t.Fatalf("no sample data for template %q", name)
	return nil
}

func TestShippedTemplatesRender(t *testing.T) {
	want := []string{TemplateCredentials, TemplateHPSApproved, TemplateHPSExpiryReminder, TemplateHPSFormLink, TemplateHPSRejected, TemplateHPSStatus, TemplateTest}
	if got := Templates(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Templates() = %v, want %v", got, want)
	}
	for _, name := range Templates() {
		t.Run(name, func(t *testing.T) {
			m, err := Render(name, sampleData(t, name))
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if m.Template != name {
				t.Errorf("Template = %q", m.Template)
			}
			if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") {
				t.Errorf("subject must be one non-empty line: %q", m.Subject)
			}
			if !strings.Contains(m.HTML, "<!DOCTYPE html>") || !strings.Contains(m.HTML, `<html lang="es">`) {
				t.Errorf("HTML does not use the layout:\n%s", m.HTML)
			}
			if !strings.Contains(m.HTML, "<title>"+htmlEscape(m.Subject)+"</title>") {
				t.Errorf("HTML title is not the subject %q", m.Subject)
			}
			if name != TemplateTest && (!strings.Contains(m.Text, "Íñigo Muñoz") || !strings.Contains(m.HTML, "Íñigo Muñoz")) {
				t.Errorf("name missing or mangled:\ntext: %s\nhtml: %s", m.Text, m.HTML)
			}
			if strings.Contains(m.Text, "<no value>") || strings.Contains(m.HTML, "<no value>") {
				t.Errorf("unfilled value in output")
			}
		})
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func TestRenderContent(t *testing.T) {
	m, err := Render(TemplateTest, TestData{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Prueba de correo de THOT — configuración correcta, ñ á é" {
		t.Errorf("subject = %q", m.Subject)
	}
	if strings.Contains(m.Text, "solicitada por") {
		t.Errorf("empty RequestedBy should be left out:\n%s", m.Text)
	}

	m, err = Render(TemplateHPSRejected, sampleData(t, TemplateHPSRejected))
	if err != nil {
		t.Fatal(err)
	}
	// HTML escapes data; the text part does not.
	if !strings.Contains(m.HTML, "acreditación &lt;firma&gt;.") || !strings.Contains(m.Text, "acreditación <firma>.") {
		t.Errorf("escaping wrong:\ntext: %s\nhtml: %s", m.Text, m.HTML)
	}

	m, err = Render(TemplateHPSStatus, sampleData(t, TemplateHPSStatus))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "Estado anterior: Pendiente") || !strings.Contains(m.Text, "Estado actual: Pendiente de DPS") {
		t.Errorf("status labels:\n%s", m.Text)
	}
	if m.Subject != "Actualización de su solicitud HPS – 12345678Z" {
		t.Errorf("subject = %q", m.Subject)
	}

	m, err = Render(TemplateHPSApproved, sampleData(t, TemplateHPSApproved))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "Fecha de caducidad: 14/03/2031") {
		t.Errorf("expiry date:\n%s", m.Text)
	}

	m, err = Render(TemplateHPSFormLink, sampleData(t, TemplateHPSFormLink))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "caduca el 02/05/2026 18:30") {
		t.Errorf("link expiry:\n%s", m.Text)
	}
	// The URL's query survives HTML attribute escaping.
	if !strings.Contains(m.HTML, `href="https://hps.example/hps-form?token=abc&amp;email=inigo%40example.org"`) {
		t.Errorf("form URL in HTML:\n%s", m.HTML)
	}

	for _, c := range []struct {
		days    int
		subject string
	}{
		{5, "[URGENTE] Su HPS caduca en 5 días – 12345678Z"},
		{1, "[URGENTE] Su HPS caduca mañana – 12345678Z"},
		{0, "[URGENTE] Su HPS caduca hoy – 12345678Z"},
		{30, "[URGENTE] Su HPS caduca en 30 días – 12345678Z"},
		{31, "[IMPORTANTE] Su HPS caduca en 31 días – 12345678Z"},
		{90, "[IMPORTANTE] Su HPS caduca en 90 días – 12345678Z"},
		{91, "[INFORMATIVO] Su HPS caduca en 91 días – 12345678Z"},
		{270, "[INFORMATIVO] Su HPS caduca en 270 días – 12345678Z"},
	} {
		d := sampleData(t, TemplateHPSExpiryReminder).(HPSExpiryReminderData)
		d.DaysLeft = c.days
		m, err := Render(TemplateHPSExpiryReminder, d)
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != c.subject {
			t.Errorf("days %d: subject %q, want %q", c.days, m.Subject, c.subject)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	if _, err := Render("nope", TestData{}); err == nil || !strings.Contains(err.Error(), `unknown template "nope"`) {
		t.Errorf("unknown template: err = %v", err)
	}
	// A map lacking a key the template reads.
	_, err := Render(TemplateCredentials, map[string]any{"Name": "Ana", "LoginURL": "https://x", "Username": "ana", "Email": "ana@example.org"})
	if err == nil || !strings.Contains(err.Error(), "TemporaryPassword") {
		t.Errorf("missing map key: err = %v", err)
	}
	// A complete map works like the struct.
	if _, err := Render(TemplateCredentials, map[string]any{"Name": "Ana", "LoginURL": "https://x", "Username": "ana", "Email": "ana@example.org", "TemporaryPassword": "p"}); err != nil {
		t.Errorf("complete map: %v", err)
	}
	// A struct of the wrong shape.
	if _, err := Render(TemplateHPSRejected, TestData{}); err == nil {
		t.Errorf("wrong data type rendered without error")
	}
	if _, err := Render(TemplateTest, nil); err == nil {
		t.Errorf("nil data rendered without error")
	}
}
