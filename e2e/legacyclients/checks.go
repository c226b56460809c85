package main

import (
	"fmt"
	"strings"
	"time"
)

// checks are the page walks and flows of both clients, in order.
func checks(fx *fixture) []check {
	return append(cryptotraceChecks(fx), hpsChecks(fx)...)
}

// sessionChecks run on a thot restarted with short-lived access tokens:
// a session must survive several refreshes, as it does for ~16 h with the
// real lifetime.
func sessionChecks(fx *fixture) []check {
	pause := func(t *tab) { t.wait(fx.tokenLifetime + 5*time.Second) }
	return []check{
		// cryptotrace's ProtectedRoute sends a page load with an expired
		// access token to the login page (the legacy did the same after 8
		// h), so the refresh happens inside a page: its API calls refresh on
		// 401 and retry (lib/api.ts).
		{client: "cryptotrace", name: "session across two token lifetimes (refresh)", as: &fx.ctRefresh, run: func(t *tab) error {
			if err := t.visit("/productos/gestion-catalogo/", "Gestión del Catálogo", "HARN-CC-009"); err != nil {
				return err
			}
			for i := 1; i <= 2; i++ {
				pause(t)
				if err := t.outcome(func() error { return t.click("Actualizar") }, "HARN-CC-009", "Error al cargar productos sin tipo"); err != nil {
					return fmt.Errorf("reload after %d access-token lifetimes: %w", i, err)
				}
				if err := t.expectNo("Error al cargar productos sin tipo"); err != nil {
					return fmt.Errorf("reload after %d access-token lifetimes: %w", i, err)
				}
			}
			return nil
		}},
		{client: "hps", name: "session across two token lifetimes (refresh)", as: &fx.hpsRefresh, known: chatKnown, run: func(t *tab) error {
			for i, page := range []struct{ path, want string }{{"/hps", "Solicitante"}, {"/dashboard", "Cerrar Sesión"}, {"/hps", "Solicitante"}} {
				if i > 0 {
					pause(t)
				}
				if err := t.visit(page.path, page.want); err != nil {
					return fmt.Errorf("after %d access-token lifetimes: %w", i, err)
				}
			}
			return nil
		}},
	}
}

// profileNamed checks, through thot's API, the names the account with
// this e-mail got.
func (fx *fixture) profileNamed(email, first, last string) error {
	tok, _, err := fx.api.login(fx.admin.email, fx.admin.password)
	if err != nil {
		return err
	}
	var list []struct {
		Email     string `json:"email"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
	}
	if err := fx.api.do("GET", "/api/hps/user/profiles/", tok, nil, &list); err != nil {
		return err
	}
	for _, p := range list {
		if p.Email == email {
			if p.FirstName != first || p.LastName != last {
				return fmt.Errorf("user %s created with first_name %q, last_name %q (the form sent full_name %q)", email, p.FirstName, p.LastName, first+" "+last)
			}
			return nil
		}
	}
	return fmt.Errorf("user %s not found through the API", email)
}

// approvedUntil checks, through thot's API, that a request approved from
// the list got the expiry date the list sent (?expires_at=).
func (fx *fixture) approvedUntil(date string) error {
	tok, _, err := fx.api.login(fx.admin.email, fx.admin.password)
	if err != nil {
		return err
	}
	var list []struct {
		ExpiresAt *string `json:"expires_at"`
	}
	if err := fx.api.do("GET", "/api/hps/requests/?"+query("status", "approved"), tok, nil, &list); err != nil {
		return err
	}
	var got []string
	for _, r := range list {
		if r.ExpiresAt != nil {
			if strings.HasPrefix(*r.ExpiresAt, date) {
				return nil
			}
			got = append(got, *r.ExpiresAt)
		}
	}
	return fmt.Errorf("the approved request expires %v, not on %s as the list sent (?expires_at=)", got, date)
}
