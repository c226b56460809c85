package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/config"
)

// The legacy extension builds send no credentials and open the transfer
// PDF as a browser tab. Two transitional ways in, besides an API key:
//
//   - THOT_EXTENSION_TRUSTED_NETWORKS: a request with NO credentials at
//     all (no Authorization, no X-API-Key) from a listed client address
//     (as realIP determines it, honouring THOT_TRUST_PROXY) is served by
//     the extension routes — those routes only, so exactly what a key of
//     scope extension may do — and leaves one audit entry with the
//     address. A request that presents a wrong or revoked key stays 401
//     wherever it comes from: the network never rescues a bad key.
//   - persona/personas answers carry pdf_url, a link signed for one
//     request that opens its transfer PDF for PDFLinkTTL without headers.

// extensionAccess is the setup of both, read once at start.
type extensionAccess struct {
	trusted []netip.Prefix
	links   *clearance.PDFLinks
}

func newExtensionAccess(cfg *config.Config, log *slog.Logger) extensionAccess {
	e := extensionAccess{links: clearance.NewPDFLinks(cfg.SecretKey), trusted: cfg.ExtensionTrustedPrefixes()}
	if len(e.trusted) > 0 {
		nets := make([]string, len(e.trusted))
		for i, p := range e.trusted {
			nets[i] = p.String()
		}
		log.Warn("extension routes answer requests without an API key from THOT_EXTENSION_TRUSTED_NETWORKS "+
			"(transitional: give each extension a key, then empty the setting)",
			"networks", strings.Join(nets, ","), "trust_proxy", cfg.TrustProxy)
	}
	return e
}

// trustedAddr reports whether the client address is in a trusted network.
func (e *extensionAccess) trustedAddr(addr string) bool {
	if len(e.trusted) == 0 {
		return false
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range e.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// serveKeyless runs an extension operation for a request without
// credentials when its address is trusted (audited first: no keyless
// access goes unrecorded); false when it is not for this path.
func (s *Server) serveKeyless(hctx huma.Context, a Access, next func(huma.Context)) bool {
	if a.Scope != clearance.ScopeExtension || hctx.Header("Authorization") != "" || hctx.Header("X-API-Key") != "" {
		return false
	}
	ctx := hctx.Context()
	actor := audit.ActorFrom(ctx)
	if !s.ext.trustedAddr(actor.IP) {
		return false
	}
	actor.UserID, actor.Name = nil, clearance.KeylessActor(actor.IP)
	ctx = audit.WithActor(ctx, actor)
	if err := s.deps.Clearance.RecordExtensionAccess(ctx, clearance.ActionExtensionKeyless, accessValues(hctx)); err != nil {
		s.writeHumaError(hctx, err)
		return true
	}
	next(huma.WithContext(hctx, ctx))
	return true
}

// accessValues is what an access entry records of the request.
func accessValues(hctx huma.Context) map[string]any {
	v := map[string]any{"method": hctx.Method(), "path": hctx.URL().Path, "operation": hctx.Operation().OperationID}
	if q := hctx.URL().RawQuery; q != "" {
		v["query"] = q
	}
	return v
}

// ExtensionPDFLink is the signed link to a transfer's PDF (null when the
// request is not an open traslado with its filled form).
type ExtensionPDFLink struct {
	PDFURL          *string    `json:"pdf_url" doc:"Link that opens the filled transfer PDF without credentials (a browser tab), for a few minutes; null unless an open traslado with its form"`
	PDFURLExpiresAt *time.Time `json:"pdf_url_expires_at" doc:"When pdf_url stops working"`
}

// extensionPDFLink signs r's link, on the prefix the caller used.
func (s *Server) extensionPDFLink(ctx context.Context, r *clearance.Request) ExtensionPDFLink {
	tok, exp, ok := s.deps.Clearance.TransferPDFLink(s.ext.links, r)
	if !ok {
		return ExtensionPDFLink{}
	}
	path := "/api/extension/pdf/" + tok + "/"
	base := ""
	if u := RequestURL(ctx); u != nil {
		if strings.HasPrefix(u.Path, "/api/v1/") {
			path = "/api/v1/extension/pdf/" + tok
		}
		base = u.Scheme + "://" + u.Host
	}
	link := base + path
	return ExtensionPDFLink{PDFURL: &link, PDFURLExpiresAt: &exp}
}

type extensionLinkInput struct {
	Token string `path:"enlace" doc:"Signed link token from pdf_url"`
}

// registerExtensionPDFLink serves the signed links: public (a tab sends
// nothing), the token is the credential; each download is audited with
// the address.
func (s *Server) registerExtensionPDFLink() {
	h := func(ctx context.Context, in *extensionLinkInput) (*hpsPDFOutput, error) {
		r, rc, obj, err := s.deps.Clearance.TransferPDFByLink(ctx, s.ext.links, in.Token)
		if err != nil {
			return nil, err
		}
		actor := audit.ActorFrom(ctx)
		actor.UserID, actor.Name = nil, clearance.PDFLinkActor(actor.IP)
		if err := s.deps.Clearance.RecordExtensionAccess(audit.WithActor(ctx, actor), clearance.ActionExtensionPDFLink,
			map[string]any{"request_id": r.ID, "document_number": r.DocumentNumber}); err != nil {
			rc.Close()
			return nil, err
		}
		return pdfOutput(rc, obj, r.ApplicantName()+" - Traslado HPS.pdf", false), nil
	}
	for _, v := range []struct{ id, path string }{
		{"extension-pdf-link", "/api/extension/pdf/{enlace}/"},
		{"v1-extension-pdf-link", "/api/v1/extension/pdf/{enlace}"},
	} {
		Register(s.API, huma.Operation{OperationID: v.id, Method: http.MethodGet, Path: v.path, Tags: []string{"extension"},
			Summary: "The filled transfer PDF through a signed link (pdf_url of persona/personas)",
			Description: "No credentials: the link is. It names one request, is signed with a key derived from the server's " +
				"signing key, and works for 5 minutes while the request is an open traslado with its form; anything else is 404 invalid_link.",
			Responses: pdfResponses}, Public, h)
	}
}
