package clearance

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/filestore"
)

// Two ways into the extension routes besides an API key, both for the
// legacy extension builds, which send no credentials:
//
//   - keyless requests from THOT_EXTENSION_TRUSTED_NETWORKS (the HTTP
//     layer decides by client address), audited one entry per request
//     under the actor KeylessActor(addr);
//   - the transfer PDF through a short-lived signed link, because the
//     extension opens that PDF as a browser tab, which cannot carry a
//     header. A link names one request and an expiry and is signed with a
//     key derived from the server's signing key for this purpose only.

// Audit actions of credential-less extension access.
const (
	ActionExtensionKeyless = "extension_keyless"
	ActionExtensionPDFLink = "extension_pdf_link"
)

// AccessAuditStore writes an audit entry on its own.
type AccessAuditStore interface {
	WriteAudit(ctx context.Context, e audit.Entry) error
}

// KeylessActor is the audit actor of a keyless request from a trusted
// network.
func KeylessActor(addr string) string { return "extension, keyless, from " + addr }

// PDFLinkActor is the audit actor of a download through a signed link.
func PDFLinkActor(addr string) string { return "extension, signed link, from " + addr }

// RecordExtensionAccess writes one audit entry (action, what was asked)
// under the actor in ctx, on its own: a read leaves a trace too.
func (s *Service) RecordExtensionAccess(ctx context.Context, action string, values map[string]any) error {
	if err := s.store.WriteAudit(ctx, audit.Entry{Action: action, TableName: "hps_requests", NewValues: values}); err != nil {
		return errs.Internal(err)
	}
	return nil
}

// PDFLinkTTL is how long a signed transfer-PDF link works: long enough to
// click it, too short to be worth keeping.
const PDFLinkTTL = 5 * time.Minute

// pdfLinkPurpose separates these MACs from any other use of the key.
const pdfLinkPurpose = "thot/extension/transfer-pdf-link/v1"

// A link token is base64url(request id (16) | expiry unix seconds (8) |
// HMAC-SHA256 of both (32)).
const (
	linkPayloadLen = 16 + 8
	linkTokenLen   = linkPayloadLen + sha256.Size
)

// PDFLinks signs and checks transfer-PDF links.
type PDFLinks struct {
	key []byte
}

// NewPDFLinks derives the link key from the server's signing key; nil
// (no links) when there is none.
func NewPDFLinks(signingKey string) *PDFLinks {
	if signingKey == "" {
		return nil
	}
	m := hmac.New(sha256.New, []byte(signingKey))
	m.Write([]byte(pdfLinkPurpose))
	return &PDFLinks{key: m.Sum(nil)}
}

func (l *PDFLinks) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, l.key)
	m.Write(payload)
	return m.Sum(nil)
}

// Sign makes the token of a link to request id's transfer PDF, valid
// until the returned time.
func (l *PDFLinks) Sign(id string, now time.Time) (string, time.Time, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return "", time.Time{}, errs.Internal(err)
	}
	exp := now.Add(PDFLinkTTL).Truncate(time.Second)
	b := make([]byte, linkPayloadLen, linkTokenLen)
	copy(b, u[:])
	binary.BigEndian.PutUint64(b[16:], uint64(exp.Unix()))
	b = append(b, l.mac(b)...)
	return base64.RawURLEncoding.EncodeToString(b), exp.UTC(), nil
}

// errBadPDFLink answers every link that does not open: forged, altered,
// expired or for a request that no longer has the PDF (no hint which).
var errBadPDFLink = &errs.Error{Kind: errs.KindNotFound, Code: "invalid_link",
	Message: "El enlace de descarga no es válido o ha caducado; vuelva a pedirlo desde la extensión."}

// Verify returns the request id a token was signed for, if the signature
// holds and it has not expired at now.
func (l *PDFLinks) Verify(token string, now time.Time) (string, error) {
	if l == nil || base64.RawURLEncoding.EncodedLen(linkTokenLen) != len(token) {
		return "", errBadPDFLink
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(b) != linkTokenLen {
		return "", errBadPDFLink
	}
	if !hmac.Equal(b[linkPayloadLen:], l.mac(b[:linkPayloadLen])) {
		return "", errBadPDFLink
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(b[16:linkPayloadLen])), 0)
	// A signature over a lifetime longer than any link is given means the
	// key was misused: refuse it too.
	if !now.Before(exp) || exp.Sub(now) > PDFLinkTTL+time.Minute {
		return "", errBadPDFLink
	}
	u, err := uuid.FromBytes(b[:16])
	if err != nil {
		return "", errBadPDFLink
	}
	return u.String(), nil
}

// HasTransferPDF reports whether the extension can download r's filled
// transfer PDF (an open traslado with its form).
func HasTransferPDF(r *Request) bool {
	return r.Status.Open() && r.FormType == Traslado && r.FilledPDF != ""
}

// transferPDFByID opens the filled transfer PDF of request id for a signed
// link: the link names the request, and the request must still be an
// open traslado with its form, as for the document-number route.
func (s *Service) transferPDFByID(ctx context.Context, id string) (*Request, io.ReadCloser, filestore.Object, error) {
	if !ValidID(id) {
		return nil, nil, filestore.Object{}, errBadPDFLink
	}
	r, err := s.store.RequestByID(ctx, id)
	if err != nil {
		if errs.Is(err, errs.KindNotFound) {
			return nil, nil, filestore.Object{}, errBadPDFLink
		}
		return nil, nil, filestore.Object{}, err
	}
	return s.openTransferPDF(ctx, r, errBadPDFLink)
}

// openTransferPDF opens r's filled form when HasTransferPDF, else (or when
// the file is gone) answers notFound.
func (s *Service) openTransferPDF(ctx context.Context, r *Request, notFound error) (*Request, io.ReadCloser, filestore.Object, error) {
	if !HasTransferPDF(r) {
		return nil, nil, filestore.Object{}, notFound
	}
	rc, obj, err := s.files.Open(ctx, r.FilledPDF)
	if err != nil {
		if errs.Is(err, errs.KindNotFound) {
			return nil, nil, filestore.Object{}, notFound
		}
		return nil, nil, filestore.Object{}, err
	}
	return r, rc, obj, nil
}

// TransferPDFLink signs a link to r's transfer PDF at the service's
// clock; ok is false when r has no PDF the extension may download.
func (s *Service) TransferPDFLink(l *PDFLinks, r *Request) (token string, expires time.Time, ok bool) {
	if l == nil || !HasTransferPDF(r) {
		return "", time.Time{}, false
	}
	token, expires, err := l.Sign(r.ID, s.now())
	if err != nil {
		return "", time.Time{}, false
	}
	return token, expires, true
}

// TransferPDFByLink opens the transfer PDF a signed link names, if the
// link holds at the service's clock.
func (s *Service) TransferPDFByLink(ctx context.Context, l *PDFLinks, token string) (*Request, io.ReadCloser, filestore.Object, error) {
	id, err := l.Verify(token, s.now())
	if err != nil {
		return nil, nil, filestore.Object{}, err
	}
	return s.transferPDFByID(ctx, id)
}
