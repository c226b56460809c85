package main

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// chatKnown are the failures of the chat page (the AI agent's WebSocket
// and /api/hps/chat/), which thot does not serve yet: outside issue 9.
var chatKnown = []string{"/ws/chat", "WebSocket", "/api/hps/chat/", "URL intentada", "archivando conversación", "Error en archivado",
	// websocketService.js's error handler reads a variable out of its scope.
	"wsUrl is not defined",
	// ChatMonitoringPage (/reports) reads the chat's analytics.
	"datos del chat", "análisis del chat"}

// hpsErrorBox is where the hps pages show an API error.
const hpsErrorBox = "css:.bg-red-50 .text-red-800, .bg-red-50 .text-red-700"

// hpsChecks walks every route of the hps frontend (src/App.js) and drives
// its flows.
func hpsChecks(fx *fixture) []check {
	hps := func(name string, as *account, run func(t *tab) error) check {
		return check{client: "hps", name: name, as: as, known: chatKnown, run: run}
	}
	admin := &fx.admin
	return []check{
		// The expected 401 and the client's own log line of it are not
		// failures. (authStore.js shows axios's "Request failed with status
		// code 401" rather than its credentials message: a client quirk.)
		{client: "hps", name: "login with a wrong password", session: "wrong", known: []string{"401 POST /api/token/", "Error en login"}, run: func(t *tab) error {
			if err := t.login(account{email: fx.member.email, password: "no-es-la-clave"}); err == nil {
				return fmt.Errorf("logged in with a wrong password")
			}
			return t.waitFor("the login error", `__h.has("Credenciales incorrectas") || __h.has("status code 401")`, t.settleFor)
		}},
		hps("login → /chat (landing)", admin, func(t *tab) error {
			return t.waitPath("/chat")
		}),
		hps("/dashboard", admin, func(t *tab) error {
			return t.visit("/dashboard", "Sistema HPS", "Cerrar Sesión")
		}),
		hps("/users (user management)", admin, func(t *tab) error {
			return t.visit("/users", "Nuevo Usuario", fx.member.email)
		}),
		hps("users: create a user (full name)", admin, func(t *tab) error {
			if err := t.visit("/users", "Nuevo Usuario"); err != nil {
				return err
			}
			if err := t.click("Nuevo Usuario"); err != nil {
				return err
			}
			// In this order, as a user types: each change of the e-mail
			// rewrites the name field from it (generateFullNameFromEmail),
			// so the name is typed after the e-mail.
			for _, f := range [][2]string{
				{`input[placeholder="usuario@ejemplo.com"]`, fx.newUserEmail},
				{`input[placeholder="Se genera automáticamente desde el email"]`, "Alta Desde Página"},
				{`input[placeholder="Mínimo 6 caracteres"]`, "Clave-Alta-Harness-55"},
			} {
				if err := t.set(f[0], f[1]); err != nil {
					return err
				}
			}
			if err := t.click("Crear Usuario"); err != nil {
				return err
			}
			if err := t.waitText(fx.newUserEmail); err != nil {
				return err
			}
			return fx.profileNamed(fx.newUserEmail, "Alta", "Desde Página")
		}),
		hps("users: form link for a user", admin, func(t *tab) error {
			if err := t.visit("/users", fx.member.email); err != nil {
				return err
			}
			if err := t.clickInRow("tr", fx.member.email, `button[title="Generar Token HPS"]`, 0); err != nil {
				return err
			}
			if err := t.outcome(func() error { return t.click("Generar Token Seguro") }, "Token Generado Exitosamente", "Error al crear"); err != nil {
				return err
			}
			// The link is the value of a read-only input, not page text.
			link, err := eval[string](t, `(() => { const e = [...document.querySelectorAll('input[readonly]')].find(e => e.value.includes('/hps-form?token=')); return e ? e.value : ''; })()`)
			if err != nil {
				return err
			}
			return fx.formLinkWorks(link, fx.member.email)
		}),
		hps("/hps (HPS requests)", admin, func(t *tab) error {
			return t.visit("/hps", "Solicitante")
		}),
		// Before "mark as sent": the transfer must still be pending.
		hps("HPS list: transfer PDF preview and edit", admin, func(t *tab) error {
			if err := t.visit("/hps", "Solicitante"); err != nil {
				return err
			}
			if err := t.clickIn("", `li button[title="Previsualizar PDF rellenado"]`); err != nil {
				return err
			}
			if err := t.click("Editar PDF"); err != nil {
				return err
			}
			if err := t.set(`input[placeholder]:not([type=file])`, "HARNESS"); err != nil {
				return err
			}
			if err := t.click("Guardar PDF"); err != nil {
				return err
			}
			return t.dialogSeen("PDF guardado correctamente")
		}),
		hps("HPS list: next page", admin, func(t *tab) error {
			if err := t.visit("/hps", "Solicitante", "Siguiente"); err != nil {
				return err
			}
			return t.outcome(func() error { return t.click("Siguiente") }, "Página 2 de", hpsErrorBox)
		}),
		hps("HPS list: 5 per page", admin, func(t *tab) error {
			if err := t.visit("/hps", "Solicitante"); err != nil {
				return err
			}
			if err := t.set("#per_page", "5"); err != nil {
				return err
			}
			t.settle()
			n, err := t.count("li .text-gray-900.truncate")
			if err != nil {
				return err
			}
			if n != 5 {
				return fmt.Errorf("%d requests shown with 5 per page (%d exist)", n, fx.hpsApplicants)
			}
			return nil
		}),
		hps("HPS list: approve", admin, func(t *tab) error {
			// HPSList.jsx approves with a one-year expiry, in the query.
			until := time.Now().UTC().Add(365 * 24 * time.Hour).Format(time.DateOnly)
			if err := t.hpsAction("submitted", "li button.text-green-400", "approved"); err != nil {
				return err
			}
			return fx.approvedUntil(until)
		}),
		// Reject and delete look alike (text-red-400, no title); for the
		// administrator delete is always the row's last button.
		hps("HPS list: reject", admin, func(t *tab) error {
			return t.hpsAction("submitted", "li button.text-red-400:not(:last-child)", "rejected")
		}),
		hps("HPS list: mark as sent", admin, func(t *tab) error {
			return t.hpsAction("pending", "li button.text-blue-400:not([title])", "submitted")
		}),
		hps("/hps-form (logged-in request)", &fx.member, func(t *tab) error {
			// Reached with the e-mail in the URL (the field is read-only), as
			// the chat's links do; no token: the logged-in create.
			if err := t.visit("/hps-form?" + url.Values{"email": {fx.member.email}, "type": {"nueva"}}.Encode()); err != nil {
				return err
			}
			return t.outcome(func() error { return t.fillHPSForm("X1234567L") }, "Solicitud HPS creada exitosamente", hpsErrorBox)
		}),
		{client: "hps", name: "public form link (/hps-form?token=)", session: "anon", known: chatKnown, run: func(t *tab) error {
			q := url.Values{"token": {fx.formToken}, "email": {fx.formEmail}, "type": {"nueva"}}
			if err := t.visit("/hps-form?"+q.Encode(), "Formulario Autorizado"); err != nil {
				return err
			}
			t.soft(t.waitFor(`"Solicitado por:" with a name`, `/Solicitado por: \S/.test(document.body.innerText)`, 3*time.Second))
			return t.outcome(func() error { return t.fillHPSForm("Y7654321G") }, "Solicitud HPS creada exitosamente", hpsErrorBox)
		}},
		hps("/team (team lead)", &fx.lead, func(t *tab) error {
			return t.visit("/team", "Gestión de Mi Equipo", fx.member.email)
		}),
		hps("/templates", admin, func(t *tab) error {
			return t.visit("/templates", "Traslado HPS (harness)")
		}),
		hps("templates: edit PDF fields", admin, func(t *tab) error {
			if err := t.visit("/templates", "Traslado HPS (harness)"); err != nil {
				return err
			}
			return t.clickIn("", `button[title="Editar PDF"]`)
		}),
		hps("templates: download PDF", admin, func(t *tab) error {
			if err := t.visit("/templates", "Traslado HPS (harness)"); err != nil {
				return err
			}
			return t.clickIn("", `button[title="Descargar PDF"]`)
		}),
		hps("templates: edit name", admin, func(t *tab) error {
			if err := t.visit("/templates", "Traslado HPS (harness)"); err != nil {
				return err
			}
			if err := t.clickIn("", `button[title="Editar plantilla"]`); err != nil {
				return err
			}
			if err := t.set(`form input[name="name"]`, "Traslado HPS (renombrada)"); err != nil {
				return err
			}
			return t.outcome(func() error { return t.clickIn("", `form button[type=submit]`) }, "Traslado HPS (renombrada)", hpsErrorBox)
		}),
		hps("templates: replace the PDF", admin, func(t *tab) error {
			if err := t.visit("/templates", "Traslado HPS"); err != nil {
				return err
			}
			if err := t.clickIn("", `button[title="Editar plantilla"]`); err != nil {
				return err
			}
			if err := t.upload(`form input[type=file]`, fx.templatePath); err != nil {
				return err
			}
			if err := t.clickIn("", `form button[type=submit]`); err != nil {
				return err
			}
			// The dialog closes on success and stays open with the error.
			if err := t.waitFor("the edit dialog to close", `!__h.has("Editar Plantilla:") || __h.count(".bg-red-50")`, t.settleFor); err != nil {
				return err
			}
			return t.noErrorBox()
		}),
		hps("templates: upload a new one", admin, func(t *tab) error {
			if err := t.visit("/templates", "Nueva Plantilla"); err != nil {
				return err
			}
			if err := t.click("Nueva Plantilla"); err != nil {
				return err
			}
			if err := t.set(`form input[name="name"]`, "Plantilla suplente (harness)"); err != nil {
				return err
			}
			if err := t.set(`form select[name="template_type"]`, "jefe_seguridad_suplente"); err != nil {
				return err
			}
			if err := t.upload(`form input[type=file]`, fx.templatePath); err != nil {
				return err
			}
			return t.outcome(func() error { return t.clickIn("Crear", `form button[type=submit]`) }, "Plantilla suplente (harness)", hpsErrorBox)
		}),
		{client: "hps", name: "/hps-transfer/{id}", as: admin, run: func(t *tab) error {
			return t.visit("/hps-transfer/" + fx.transferID)
		},
			// The page fetches /api/hps/requests/{id}/ without the token;
			// the legacy Django view required authentication too.
			known: append([]string{"Authentication credentials were not provided"}, chatKnown...)},
		hps("/ (redirect)", admin, func(t *tab) error {
			if err := t.visit("/"); err != nil {
				return err
			}
			return t.waitPath("/chat")
		}),
		hps("/test-width", admin, func(t *tab) error { return t.visit("/test-width") }),
		hps("/compare-width", admin, func(t *tab) error { return t.visit("/compare-width") }),
		hps("unknown page (404)", admin, func(t *tab) error { return t.visit("/no-existe", "Página no encontrada") }),
		hps("/settings", admin, func(t *tab) error {
			return t.visit("/settings", "Configuración")
		}),
		hps("/reports (chat monitoring)", admin, func(t *tab) error {
			return t.visit("/reports")
		}),
		hps("/chat", admin, func(t *tab) error {
			return t.visit("/chat")
		}),
		hps("member is sent to /unauthorized from /users", &fx.member, func(t *tab) error {
			if err := t.visit("/users"); err != nil {
				return err
			}
			return t.waitPath("/unauthorized")
		}),
		hps("forced first-login password change", &fx.hpsForced, func(t *tab) error {
			if err := t.waitText("Cambiar Contraseña Temporal"); err != nil {
				return err
			}
			next := "Nueva-Clave-Miembro-61"
			for sel, v := range map[string]string{
				`input[placeholder="Ingresa tu contraseña actual"]`: fx.hpsForced.password,
				`input[placeholder="Ingresa tu nueva contraseña"]`:  next,
				`input[placeholder="Confirma tu nueva contraseña"]`: next,
			} {
				if err := t.set(sel, v); err != nil {
					return err
				}
			}
			if err := t.clickIn("Cambiar Contraseña", `button[type=submit]`); err != nil {
				return err
			}
			if t.has("Cambiar Contraseña Temporal") {
				return fmt.Errorf("the password dialog is still open")
			}
			fx.hpsForced.password = next
			// The same session goes on working.
			return t.visit("/hps-form", "Nueva Habilitación")
		}),
		hps("logout", admin, func(t *tab) error {
			if err := t.visit("/dashboard", "Cerrar Sesión"); err != nil {
				return err
			}
			if err := t.click("Cerrar Sesión"); err != nil {
				return err
			}
			return t.waitPath("/login")
		}),
	}
}

// hpsAction filters the HPS list by status and presses the action button
// of the first request that has it; that request must move to the status
// next, with no error shown.
//
// After an action the list comes back unfiltered: HPSList calls the
// page's onStatsUpdate, HPSManagement shows its loading screen meanwhile
// and HPSList mounts again with its default filters (the same against the
// legacy backend). So the request is looked up again under each status.
func (t *tab) hpsAction(status, button, next string) error {
	if err := t.visit("/hps", "Solicitante"); err != nil {
		return err
	}
	if err := t.filterHPS(status); err != nil {
		return err
	}
	name, err := eval[string](t, fmt.Sprintf(`(() => { const li = [...document.querySelectorAll('li')].find(li => [...li.querySelectorAll(%s)].some(b => b.getClientRects().length)); const n = li && li.querySelector('.text-gray-900.truncate'); return n ? n.innerText.trim() : ''; })()`,
		jsString(strings.TrimPrefix(button, "li "))))
	if err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("no %s request with that action on the list", status)
	}
	if err := t.clickInRow("li", name, strings.TrimPrefix(button, "li "), 0); err != nil {
		return err
	}
	if err := t.noErrorBox(); err != nil {
		return err
	}
	if err := t.filterHPS(status); err != nil {
		return err
	}
	if t.listed(name) {
		return fmt.Errorf("%s is still listed as %s after the action", name, status)
	}
	if err := t.filterHPS(next); err != nil {
		return err
	}
	if !t.listed(name) {
		return fmt.Errorf("%s is not listed as %s after the action", name, next)
	}
	return t.noErrorBox()
}

// listed reports whether a row of the HPS list shows the name.
func (t *tab) listed(name string) bool {
	ok, err := eval[bool](t, "!!__h.row('li', "+jsString(name)+")")
	return err == nil && ok
}

// filterHPS shows the requests of one status on the HPS list, all on one
// page (50, the largest page size it offers).
func (t *tab) filterHPS(status string) error {
	if err := t.set("#per_page", "50"); err != nil {
		return err
	}
	t.settle()
	if err := t.set("#status_filter", status); err != nil {
		return err
	}
	t.settle()
	return nil
}

// noErrorBox fails when the page shows an hps error box.
func (t *tab) noErrorBox() error {
	msg, _ := eval[string](t, fmt.Sprintf("(() => { const e = [...document.querySelectorAll(%s)].find(e => e.innerText.trim()); return e ? e.innerText : ''; })()",
		jsString(strings.TrimPrefix(hpsErrorBox, "css:"))))
	if msg != "" {
		return fmt.Errorf("the page shows the error %q", truncate(strings.Join(strings.Fields(msg), " "), 200))
	}
	return nil
}

// fillHPSForm fills the HPS form, keeping the readable document type and
// nationality it starts with ("DNI / NIF", "ESPAÑA"), and sends it. The
// e-mail comes from the URL.
func (t *tab) fillHPSForm(docNumber string) error {
	fields := map[string]string{
		"input[name=document_number]":  docNumber,
		"input[name=birth_date]":       "1990-05-17",
		"input[name=first_name]":       "Lucía",
		"input[name=first_last_name]":  "Gómez",
		"input[name=second_last_name]": "Ruiz",
		"input[name=birth_place]":      "Sevilla",
		"input[name=phone]":            "600987654",
	}
	for sel, v := range fields {
		if err := t.set(sel, v); err != nil {
			return err
		}
	}
	return t.clickIn("", `form button[type=submit]`)
}
