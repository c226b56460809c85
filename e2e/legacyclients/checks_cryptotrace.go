package main

import (
	"errors"
	"fmt"
	"time"
)

// aplicarTodasBug is the catalog page's known client bug (see its check).
const aplicarTodasBug = `✅ after "Aplicar Todas": legacy client bug, failed against the legacy backend too (api.ts sends the same bare POST /api/productos/asignar-tipos-automatico/ for the suggestion and for "Aplicar Todas", without aplicar and asignaciones: thot suggests again and applies nothing)`

// cryptotraceChecks walks every page of the cryptotrace frontend
// (src/app/**/page.tsx) as the custody user and drives its flows.
func cryptotraceChecks(fx *fixture) []check {
	ct := func(name string, as *account, run func(t *tab) error) check {
		return check{client: "cryptotrace", name: name, as: as, run: run}
	}
	c := &fx.crypto
	return []check{
		ct("login → catalog", c, func(t *tab) error {
			return t.waitText("Catálogo de Productos")
		}),
		ct("/productos/ (catalog)", c, func(t *tab) error {
			return t.visit("/productos/", "Catálogo de Productos", fx.typedCode)
		}),
		ct("new catalog product", c, func(t *tab) error {
			if err := t.visit("/productos/", "Catálogo de Productos"); err != nil {
				return err
			}
			if err := t.click("+ Nuevo producto"); err != nil {
				return err
			}
			if err := t.set(`[role=dialog] form label:nth-of-type(1) input`, "HARN-NUEVO-001"); err != nil {
				return err
			}
			if err := t.set(`[role=dialog] form label:nth-of-type(2) input`, "Alta desde el catálogo"); err != nil {
				return err
			}
			if err := t.selectText(`[role=dialog] form select`, "CC"); err != nil {
				return err
			}
			if err := t.clickIn("Guardar", `[role=dialog] button[type=submit]`); err != nil {
				return err
			}
			return t.waitText("HARN-NUEVO-001")
		}),
		ct("/productos/{id}/ (product)", c, func(t *tab) error {
			return t.visit(fmt.Sprintf("/productos/%d/", fx.productoID), fx.typedCode)
		}),
		ct("/productos/inventario/ (inventory)", c, func(t *tab) error {
			if err := t.visit("/productos/inventario/", "Inventario de Productos", "SN-0001"); err != nil {
				return err
			}
			// The last movement's type is shown from tipo_movimiento_display.
			return t.waitFor("movement type in \"Tipo: …\"", `/Tipo: \S/.test(document.body.innerText)`, 3*time.Second)
		}),
		ct("/productos/gestion-catalogo/ (catalog management)", c, func(t *tab) error {
			return t.visit("/productos/gestion-catalogo/", "Gestión del Catálogo", "HARN-HUERFANO-001")
		}),
		// "Aplicar Todas" cannot apply: api.ts's asignarTiposAutomatico takes
		// no arguments, so it sends the same bare POST as the suggestion,
		// without aplicar and asignaciones. Against the legacy backend the
		// whole flow failed (the plural path was a 404, and a bare call
		// only ever suggested). thot suggests, and applies guessed types
		// only when asked to (docs/custody.md): the two clicks cannot be
		// told apart, and a repeat after "Cancelar" would apply what the
		// user turned down. So the check expects the suggestions, then
		// nothing applied, and records the client bug as known.
		{client: "cryptotrace", name: "catalog: automatic type assignment", as: c, known: []string{aplicarTodasBug}, run: func(t *tab) error {
			if err := t.visit("/productos/gestion-catalogo/", "Gestión del Catálogo", "HARN-CC-009"); err != nil {
				return err
			}
			// HARN-CC-009 is untyped and like the typed HARN-CC-001.
			if err := t.outcome(func() error { return t.click("Asignación Automática") }, "Aplicar Todas",
				"Error en asignación automática", "No se encontraron asignaciones"); err != nil {
				return err
			}
			if err := t.click("Aplicar Todas"); err != nil {
				return err
			}
			if err := t.expectNo("Error aplicando asignaciones"); err != nil {
				return err
			}
			if err := fx.untyped("HARN-CC-009"); err != nil {
				return err
			}
			t.soft(errors.New(aplicarTodasBug))
			return nil
		}},
		ct("catalog: clean orphan products", c, func(t *tab) error {
			if err := t.visit("/productos/gestion-catalogo/", "Gestión del Catálogo", "HARN-HUERFANO-001"); err != nil {
				return err
			}
			// Preview, confirm (the harness accepts the dialog), delete.
			if err := t.outcome(func() error { return t.click("Limpiar Productos Huérfanos") }, "✅", "Error al limpiar productos huérfanos"); err != nil {
				return err
			}
			return t.waitFor("the orphan gone from the list", `!__h.has("HARN-HUERFANO-001")`, t.settleFor)
		}),
		ct("/entradas/albaranes/ (incoming documents)", c, func(t *tab) error {
			return t.visit("/entradas/albaranes/", "Acciones de Entrada", fx.ac21Numero, "INV-HARN-0001")
		}),
		ct("/salidas/albaranes/ (outgoing documents)", c, func(t *tab) error {
			return t.visit("/salidas/albaranes/", "Salidas de Material")
		}),
		ct("/albaranes/{id}/ (AC21 detail)", c, func(t *tab) error {
			return t.visit(fmt.Sprintf("/albaranes/%d/", fx.ac21ID), fx.ac21Numero, "Editar")
		}),
		ct("AC21 edit and save", c, func(t *tab) error {
			if err := t.visit(fmt.Sprintf("/albaranes/%d/?edit=true", fx.ac21ID), "Guardar"); err != nil {
				return err
			}
			return t.outcome(func() error { return t.click("Guardar") }, "Cambios guardados correctamente")
		}),
		ct("AC21 print (HTML)", c, func(t *tab) error {
			if err := t.visit(fmt.Sprintf("/albaranes/%d/", fx.ac21ID), "Editar"); err != nil {
				return err
			}
			return t.clickIn("Imprimir", "button")
		}),
		ct("/albaranes/{id}/ (plain document)", c, func(t *tab) error {
			return t.visit(fmt.Sprintf("/albaranes/%d/", fx.plainID), "INV-HARN-0001", "Movimientos del Albarán", "SN-0100")
		}),
		ct("give out (new outgoing AC21)", c, func(t *tab) error {
			if err := t.visit(fmt.Sprintf("/albaranes/crear-ac21-salida/nuevo/?from=%d", fx.ac21ID), "Crear AC21 de Salida"); err != nil {
				return err
			}
			if err := t.clickIn("Crear AC21 de Salida", `button[type=submit]`); err != nil {
				return err
			}
			if err := t.waitPath("/salidas/albaranes"); err != nil {
				return err
			}
			// Listed with its allocated number S<year>-NNNN.
			return t.waitFor("the new outgoing AC21 (S<year>-NNNN)", `/S\d{4}-\d{4}/.test(document.body.innerText)`, t.settleFor)
		}),
		ct("Excel upload (processing)", c, func(t *tab) error {
			if err := t.visit("/albaranes/upload/", "Subir Archivo Excel"); err != nil {
				return err
			}
			if err := t.upload(`input[type=file]`, fx.excelPath); err != nil {
				return err
			}
			if err := t.outcome(func() error { return t.click("Subir Archivo") }, "Archivo procesado correctamente.", "Error al procesar el archivo"); err != nil {
				return err
			}
			return t.waitPath("/albaranes/gestion-linea-temporal")
		}),
		ct("staging: assign a type", c, func(t *tab) error {
			if err := t.visit("/albaranes/gestion-linea-temporal/", "Gestión de Línea Temporal", fx.stagingUntyped[0]); err != nil {
				return err
			}
			return t.outcome(func() error { return t.setInRow("tr", fx.stagingUntyped[0], "select", "CC") },
				"Tipo asignado correctamente", "Error al guardar el tipo")
		}),
		ct("staging: process with an untyped code", c, func(t *tab) error {
			if err := t.visit("/albaranes/gestion-linea-temporal/", "Gestión de Línea Temporal", fx.stagingUntyped[1]); err != nil {
				return err
			}
			// The page warns that untyped codes go through untyped.
			return t.outcome(func() error { return t.click("Procesar Albarán") }, "Albarán procesado correctamente", "Error al procesar el albarán")
		}),
		ct("AC21 scan (OCR) and save", c, func(t *tab) error {
			if err := t.visit("/albaranes/upload-ac21/", "Procesar Documento"); err != nil {
				return err
			}
			if err := t.upload(`#file-upload`, fx.scanPath); err != nil {
				return err
			}
			if err := t.outcome(func() error { return t.clickIn("Procesar Documento", `button[type=submit]`) }, "Imagen procesada"); err != nil {
				return err
			}
			// E2026-0777 is a new registry number: the duplicate check must
			// let the save go on. When it does not, the user can still save
			// it as a document of its own, and so does the harness.
			save := func() error { return t.click("Confirmar y Guardar") }
			if err := t.outcome(save, "AC21 procesado correctamente", "Crear documento independiente"); err == nil || !t.has("Crear documento independiente") {
				return err
			}
			t.soft(fmt.Errorf("the duplicate check says registry number E2026-0777 exists (GET /api/albaranes/?numero_registro=E2026-0777 answered documents)"))
			return t.outcome(func() error { return t.click("Crear documento independiente") }, "AC21 procesado correctamente")
		}),
		ct("/empresas/ (companies: list, create, edit)", c, func(t *tab) error {
			if err := t.visit("/empresas/", "Listado de Empresas", "Empresa Origen Harness"); err != nil {
				return err
			}
			if err := t.click("Nueva Empresa"); err != nil {
				return err
			}
			for sel, v := range map[string]string{"#nombre": "Empresa Nueva Harness", "#direccion": "Calle Nueva 2", "#codigo_postal": "28002",
				"#ciudad": "Madrid", "#provincia": "Madrid", "#numero_odmc": "ODMC-300"} {
				if err := t.set(sel, v); err != nil {
					return err
				}
			}
			if err := t.clickIn("Crear", `button[type=submit]`); err != nil {
				return err
			}
			if err := t.waitText("Empresa Nueva Harness"); err != nil {
				return err
			}
			if err := t.clickInRow("tr", "Empresa Nueva Harness", "button", 0); err != nil {
				return err
			}
			if err := t.set("#ciudad", "Toledo"); err != nil {
				return err
			}
			if err := t.clickIn("Actualizar", `button[type=submit]`); err != nil {
				return err
			}
			return t.waitText("Toledo")
		}),
		ct("/perfil/ (profile)", c, func(t *tab) error {
			return t.visit("/perfil/", "Mi Perfil", c.email)
		}),
		ct("/albaranes/ (redirect)", c, func(t *tab) error {
			if err := t.visit("/albaranes/"); err != nil {
				return err
			}
			return t.waitPath("/entradas/albaranes")
		}),
		ct("/ (home redirect)", c, func(t *tab) error {
			if err := t.visit("/"); err != nil {
				return err
			}
			return t.waitPath("/entradas/albaranes")
		}),
		ct("logout", c, func(t *tab) error {
			if err := t.visit("/productos/", "Catálogo de Productos"); err != nil {
				return err
			}
			if err := t.click("Cerrar sesión"); err != nil {
				return err
			}
			return t.waitPath("/login")
		}),
		ct("change password (profile) and keep working", &fx.ctChange, func(t *tab) error {
			if err := t.visit("/perfil/", "Mi Perfil"); err != nil {
				return err
			}
			if err := t.click("Cambiar contraseña"); err != nil {
				return err
			}
			if err := t.outcome(func() error { return t.changePasswordForm(fx.ctChange.password, "Otra-Clave-Harness-77") },
				"Mi Perfil", "Error al cambiar la contraseña"); err != nil {
				return err
			}
			fx.ctChange.password = "Otra-Clave-Harness-77"
			// The same session goes on working.
			return t.visit("/productos/inventario/", "Inventario de Productos", "SN-0001")
		}),
		ct("forced first-login password change", &fx.ctForced, func(t *tab) error {
			if err := t.waitPath("/cambiar-password"); err != nil {
				return err
			}
			if err := t.changePasswordForm(fx.ctForced.password, "Nueva-Clave-Harness-88"); err != nil {
				return err
			}
			if err := t.waitFor("leaving /cambiar-password/", `!location.pathname.startsWith("/cambiar-password") || __h.has("Error al cambiar la contraseña")`, t.settleFor); err != nil {
				return err
			}
			if err := t.expectNo("Error al cambiar la contraseña"); err != nil {
				return err
			}
			fx.ctForced.password = "Nueva-Clave-Harness-88"
			return t.visit("/productos/", "Catálogo de Productos", fx.typedCode)
		}),
		{client: "cryptotrace", name: "login with a wrong password", session: "wrong", known: []string{"401 POST /api/token/"}, run: func(t *tab) error {
			if err := t.login(account{email: fx.crypto.email, password: "no-es-la-clave"}); err == nil {
				return fmt.Errorf("logged in with a wrong password")
			}
			return t.waitText("Usuario o contraseña incorrectos")
		}},
		{client: "cryptotrace", name: "member role is refused", session: "member", run: func(t *tab) error {
			if err := t.login(fx.member); err == nil {
				return fmt.Errorf("a member reached %s", "the catalog")
			}
			return t.waitText("No tienes permisos para acceder a CryptoTrace")
		}},
	}
}

// changePasswordForm fills cryptotrace's CambiarPassword form.
func (t *tab) changePasswordForm(current, next string) error {
	for sel, v := range map[string]string{"#current_password": current, "#new_password": next, "#confirm_password": next} {
		if err := t.set(sel, v); err != nil {
			return err
		}
	}
	return t.clickIn("", `form button[type=submit]`)
}
