package httpapi

import (
	"html/template"
	"net/http"
	"time"

	"github.com/thot-security/thot/internal/config"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// The admin pages (/admin/jobs/, riverui) are opened in a browser, which
// cannot send a Bearer header. /admin/login/ takes the same credentials
// as /api/token/ (same throttling, same audit) and keeps the access token
// in an HttpOnly, SameSite=Strict cookie limited to /admin/, so no other
// site can make the browser use it and scripts cannot read it.

const adminCookie = "thot_admin"

var adminLoginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="es"><head><meta charset="utf-8"><title>thot · administración</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto}label,input,button{display:block;width:100%;margin:.4rem 0}p.err{color:#b00}</style>
</head><body>
<h1>thot · administración</h1>
{{if .Error}}<p class="err">{{.Error}}</p>{{end}}
<form method="post" action="/admin/login/">
<label>Usuario o correo <input name="username" autocomplete="username" required autofocus></label>
<label>Contraseña <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Entrar</button>
</form></body></html>`))

func (s *Server) mountAdminLogin() {
	s.router.Get("/admin/login/", func(w http.ResponseWriter, r *http.Request) {
		s.renderAdminLogin(w, "", http.StatusOK)
	})
	s.router.Post("/admin/login/", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			s.renderAdminLogin(w, "Formulario no válido.", http.StatusBadRequest)
			return
		}
		res, err := s.deps.Auth.Login(r.Context(), r.PostForm.Get("username"), r.PostForm.Get("password"))
		if err != nil {
			msg, status := "Usuario o contraseña incorrectos.", http.StatusUnauthorized
			if errs.Is(err, errs.KindTooMany) {
				msg, status = "Demasiados intentos. Espere unos minutos.", http.StatusTooManyRequests
			} else if !errs.Is(err, errs.KindUnauthenticated) {
				WriteError(w, r, err)
				return
			}
			s.renderAdminLogin(w, msg, status)
			return
		}
		if !(res.User.IsStaff || res.User.IsSuperuser) {
			// The login opened a session nobody will hold: end it.
			p := &identity.Principal{User: res.User, SessionID: res.Pair.SessionID}
			_ = s.deps.Auth.EndSession(withPrincipal(r.Context(), p), p)
			s.renderAdminLogin(w, "Solo el personal de administración puede entrar.", http.StatusForbidden)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: adminCookie, Value: res.Pair.Access, Path: "/admin/", HttpOnly: true,
			Secure: s.deps.Config.Env == config.EnvProduction, SameSite: http.SameSiteStrictMode,
			Expires: res.Pair.AccessExp})
		http.Redirect(w, r, "/admin/jobs/", http.StatusSeeOther)
	})
	s.router.Post("/admin/logout/", func(w http.ResponseWriter, r *http.Request) {
		// End the cookie's session too, not just forget the cookie.
		if c, err := r.Cookie(adminCookie); err == nil && c.Value != "" {
			if p, err := s.deps.Auth.Authenticate(r.Context(), c.Value); err == nil {
				_ = s.deps.Auth.EndSession(withPrincipal(r.Context(), p), p)
			}
		}
		http.SetCookie(w, &http.Cookie{Name: adminCookie, Value: "", Path: "/admin/", HttpOnly: true, MaxAge: -1, Expires: time.Unix(0, 0)})
		http.Redirect(w, r, "/admin/login/", http.StatusSeeOther)
	})
}

func (s *Server) renderAdminLogin(w http.ResponseWriter, msg string, status int) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = adminLoginPage.Execute(w, struct{ Error string }{msg})
}
