package main

import (
	"fmt"
	"net/url"
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
			original := t.localStorage("refreshToken")
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
			return t.refreshedWith(original, 2)
		}},
		{client: "hps", name: "session across two token lifetimes (refresh)", as: &fx.hpsRefresh, known: chatKnown, run: func(t *tab) error {
			original := t.localStorage("refreshToken")
			for i, page := range []struct{ path, want string }{{"/hps", "Solicitante"}, {"/dashboard", "Cerrar Sesión"}, {"/hps", "Solicitante"}} {
				if i > 0 {
					pause(t)
				}
				if err := t.visit(page.path, page.want); err != nil {
					return fmt.Errorf("after %d access-token lifetimes: %w", i, err)
				}
			}
			return t.refreshedWith(original, 2)
		}},
	}
}

// refreshedWith checks how the session went through its access tokens'
// expiry, and marks the 401s of the expired tokens as expected: thot
// answers an expired access token 401 token_not_valid (as SimpleJWT did),
// and both clients then refresh (cryptotrace's lib/api.ts, hps's
// apiService.js interceptor) and retry. Every refused call must be
// followed by a refresh that sent the login's refresh token (the clients
// keep the original one: thot must not rotate it by default) and that
// thot accepted, then by the same call succeeding; at least want
// refreshes must have happened, and the client must still hold the
// original refresh token.
func (t *tab) refreshedWith(original string, want int) error {
	if original == "" {
		return fmt.Errorf("no refresh token in localStorage after the login")
	}
	refused, n, err := checkRefreshes(t.rec.calls(), original)
	if err != nil {
		return err
	}
	if n < want {
		return fmt.Errorf("%d token refreshes in %d access-token lifetimes, want %d", n, want, want)
	}
	if now := t.localStorage("refreshToken"); now != original {
		return fmt.Errorf("the client no longer holds the login's refresh token")
	}
	for _, c := range refused {
		t.expected = append(t.expected, "HTTP 401 "+c+` → {"code":"token_not_valid"`)
	}
	return nil
}

// checkRefreshes follows the calls to thot in order. Every token refresh
// must send the original refresh token and be answered 200; every other
// call answered 401 must be followed by such a refresh and then by the
// same call answered < 400. It returns the refused calls ("METHOD path",
// once each) and the number of refreshes.
func checkRefreshes(calls []apiCall, original string) (refused []string, refreshes int, err error) {
	isRefresh := func(c apiCall) bool {
		return c.Method == "POST" && strings.HasSuffix(strings.SplitN(c.Path, "?", 2)[0], refreshPath)
	}
	for i, c := range calls {
		if isRefresh(c) {
			refreshes++
			if c.Refresh != original {
				return nil, 0, fmt.Errorf("refresh #%d sent another refresh token than the login's", refreshes)
			}
			if c.Status != 200 {
				return nil, 0, fmt.Errorf("refresh #%d answered %d", refreshes, c.Status)
			}
			continue
		}
		if c.Status != 401 {
			continue
		}
		call := c.Method + " " + c.Path
		j := i + 1
		for j < len(calls) && !(isRefresh(calls[j]) && calls[j].Status == 200) {
			j++
		}
		if j == len(calls) {
			return nil, 0, fmt.Errorf("%s answered 401 and no successful refresh followed", call)
		}
		k := j + 1
		for k < len(calls) && !(calls[k].Method == c.Method && calls[k].Path == c.Path && calls[k].Status > 0 && calls[k].Status < 400) {
			k++
		}
		if k == len(calls) {
			return nil, 0, fmt.Errorf("%s answered 401, was refreshed, and never succeeded again", call)
		}
		if !contains(refused, call) {
			refused = append(refused, call)
		}
	}
	return refused, refreshes, nil
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

// formLinkWorks checks the form link the users page shows: it opens the
// hps frontend's form (/hps-form, the page the link is for) for the
// user's e-mail, and thot validates its token.
func (fx *fixture) formLinkWorks(link, email string) error {
	if link == "" {
		return fmt.Errorf("no form link (/hps-form?token=) shown")
	}
	u, err := url.Parse(link)
	if err != nil {
		return fmt.Errorf("form link %q: %w", link, err)
	}
	q := u.Query()
	if base := u.Scheme + "://" + u.Host; base != fx.hpsURL || u.Path != "/hps-form" || q.Get("token") == "" || q.Get("email") != email {
		return fmt.Errorf("form link %s://%s%s?email=%s, want %s/hps-form?token=…&email=%s", u.Scheme, u.Host, u.Path, q.Get("email"), fx.hpsURL, email)
	}
	var v struct {
		IsValid bool   `json:"is_valid"`
		Email   string `json:"email"`
	}
	if err := fx.api.do("GET", "/api/hps/tokens/validate/?"+query("token", q.Get("token"), "email", email), "", nil, &v); err != nil {
		return fmt.Errorf("validating the form link's token: %w", err)
	}
	if !v.IsValid || v.Email != email {
		return fmt.Errorf("the form link's token validates as %+v", v)
	}
	return nil
}

// untyped checks, through thot's API, that the catalog product is still
// without a type.
func (fx *fixture) untyped(code string) error {
	tok, _, err := fx.api.login(fx.crypto.email, fx.crypto.password)
	if err != nil {
		return err
	}
	var out struct {
		Productos []struct {
			Codigo string `json:"codigo_producto"`
		} `json:"productos"`
	}
	if err := fx.api.do("GET", "/api/productos/productos-sin-tipo/", tok, nil, &out); err != nil {
		return err
	}
	for _, p := range out.Productos {
		if p.Codigo == code {
			return nil
		}
	}
	return fmt.Errorf("%s got a type, though the page sent no aplicar", code)
}
