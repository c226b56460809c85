package clearance

import (
	"context"
	"io"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/filestore"
	"github.com/thot-security/thot/internal/identity"
)

// A request's PDFs: the filled transfer form and the government's
// response. Reading them is reading the request (Service.Request: outside
// the reader's scope is 404); every change is audited.

// TransferPDFFilename is the legacy download name of a filled transfer
// form: "<first> <first_last>[ <second_last>] - Traslado HPS.pdf" with
// the characters Windows forbids replaced by "_".
func TransferPDFFilename(r *Request) string {
	name := strings.Map(func(c rune) rune {
		if strings.ContainsRune(`<>:"/\|?*`, c) || c < 0x20 {
			return '_'
		}
		return c
	}, r.ApplicantName())
	return name + " - Traslado HPS.pdf"
}

// ResponsePDFFilename is the legacy download name of a response PDF.
func ResponsePDFFilename(r *Request) string { return "hps_response_" + r.ID + ".pdf" }

// RequestPDF opens the filled (or, with response, the government
// response) PDF of a request p may see, with its download name. A request
// without that PDF is 404.
func (s *Service) RequestPDF(ctx context.Context, p *identity.Principal, id string, response bool) (io.ReadCloser, filestore.Object, string, error) {
	r, err := s.Request(ctx, p, id)
	if err != nil {
		return nil, filestore.Object{}, "", err
	}
	key, name := r.FilledPDF, TransferPDFFilename(r)
	if response {
		key, name = r.ResponsePDF, ResponsePDFFilename(r)
	}
	if key == "" {
		return nil, filestore.Object{}, "", errs.NotFound("PDF")
	}
	rc, obj, err := s.OpenPDF(ctx, key)
	if err != nil {
		return nil, filestore.Object{}, "", err
	}
	return rc, obj, name, nil
}

// isTransfer reports whether r is a transfer (form traslado or type
// transfer: the legacy used either).
func isTransfer(r *Request) bool { return r.FormType == Traslado || r.RequestType == Transfer }

// RequestPDFFields reads the form fields of a visible transfer's filled PDF.
func (s *Service) RequestPDFFields(ctx context.Context, p *identity.Principal, id string) (map[string]string, error) {
	r, err := s.Request(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !isTransfer(r) {
		return nil, errs.Invalid("Solo las solicitudes de traslado tienen formulario PDF.")
	}
	pdf, err := s.readFile(ctx, r.FilledPDF)
	if err != nil {
		return nil, err
	}
	return ExtractFields(pdf)
}

// mayEditPDF: an approver (hps.gestionar_solicitudes) or a lead of a team
// the applicant belongs to.
func mayEditPDF(p *identity.Principal, r *Request) bool {
	if p.Can(identity.PermGestionarSolicitudes) {
		return true
	}
	if !p.Can(identity.PermVerSolicitudesEquipos) {
		return false
	}
	for _, t := range r.ApplicantTeams {
		if slices.Contains(p.LedTeams, t) {
			return true
		}
	}
	return false
}

// editablePDF is the rule of edit-filled-pdf: a pending transfer only.
func editablePDF(r *Request) error {
	if !isTransfer(r) || r.Status != Pending {
		return errs.Invalid("Solo se puede editar el PDF de un traslado pendiente.")
	}
	return nil
}

// EditRequestPDF writes values into a pending transfer's filled PDF (see
// EditFields); the new PDF gets a new key, the request points at it in an
// audited change that re-checks the rule under lock, and the old file is
// deleted after that commits.
func (s *Service) EditRequestPDF(ctx context.Context, p *identity.Principal, id string, values map[string]string) ([]string, error) {
	r, err := s.Request(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !mayEditPDF(p, r) {
		return nil, errs.Forbidden("Solo quien tramita solicitudes o un jefe del equipo del solicitante puede editar el PDF.")
	}
	if err := editablePDF(r); err != nil {
		return nil, err
	}
	pdf, err := s.readFile(ctx, r.FilledPDF)
	if err != nil {
		return nil, err
	}
	out, updated, err := EditFields(pdf, values)
	if err != nil {
		return nil, err
	}
	key := FilledPDFName(r.ID, uuid.NewString()[:8])
	if err := s.putPDF(ctx, key, out, "pdf"); err != nil {
		return nil, err
	}
	old, err := s.store.ReplaceRequestPDF(ctx, r.ID, editablePDF, PDFChange{Key: key, Action: "edit_filled_pdf", Fields: updated})
	if err != nil {
		s.dropFile(ctx, key)
		return nil, err
	}
	if old != key {
		s.dropFile(ctx, old)
	}
	return updated, nil
}

// UploadResponsePDF stores the government's response PDF of a transfer p
// may see (the route requires hps.gestionar_solicitudes). It changes no
// status: the response may be a concession or a refusal, and the approver
// records that with approve/reject (which set the expiry date and mail the
// applicant) through the state machine.
func (s *Service) UploadResponsePDF(ctx context.Context, p *identity.Principal, id string, pdf []byte) (*Request, error) {
	r, err := s.Request(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !isTransfer(r) {
		return nil, errs.Invalid("Solo las solicitudes de traslado tienen PDF de respuesta.")
	}
	key := ResponsePDFName(r.ID, uuid.NewString()[:8])
	if err := s.putPDF(ctx, key, pdf, "pdf"); err != nil {
		return nil, err
	}
	old, err := s.store.ReplaceRequestPDF(ctx, r.ID, nil, PDFChange{Response: true, Key: key, Action: "upload_response_pdf"})
	if err != nil {
		s.dropFile(ctx, key)
		return nil, err
	}
	if old != key {
		s.dropFile(ctx, old)
	}
	r.ResponsePDF = key
	return r, nil
}

// UploadFilledPDF replaces the filled form of a pending transfer with one
// the office completed by hand (the FastAPI upload-filled-pdf), for the
// same people who may edit it, and then — as the legacy did — submits the
// request: a second, ordinary transition through the state machine, with
// its audit entry and e-mail. The upload stands on its own if that
// transition is refused (the file is the office's latest version either
// way), and the refusal is returned.
func (s *Service) UploadFilledPDF(ctx context.Context, p *identity.Principal, id string, pdf []byte) (*Request, error) {
	r, err := s.Request(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !mayEditPDF(p, r) {
		return nil, errs.Forbidden("Solo quien tramita solicitudes o un jefe del equipo del solicitante puede subir el PDF.")
	}
	if err := editablePDF(r); err != nil {
		return nil, err
	}
	key := FilledPDFName(r.ID, uuid.NewString()[:8])
	if err := s.putPDF(ctx, key, pdf, "pdf"); err != nil {
		return nil, err
	}
	old, err := s.store.ReplaceRequestPDF(ctx, r.ID, editablePDF, PDFChange{Key: key, Action: "upload_filled_pdf"})
	if err != nil {
		s.dropFile(ctx, key)
		return nil, err
	}
	if old != "" && old != key {
		s.dropFile(ctx, old)
	}
	return s.Transition(ctx, p, r.ID, Submitted, TransitionInput{})
}
