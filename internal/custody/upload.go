package custody

import (
	"bytes"
	"context"
	"strings"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/filestore"
)

// What the cryptotrace frontend's AC21 upload page (upload-ac21/page.tsx)
// sends to POST /api/albaranes/ — JSON, or multipart with the JSON in
// `data` and the scan in `imagen_documento` — and how thot files it:
//
//   - an incoming document of a type that must be typed first (ENTRADA of
//     TRANSFERENCIA, RECIBO_MANO, DESTRUCCION or OTRO: the scanned AC21) is
//     staged, with its image, as bulk_create does; the page then sends the
//     user to the staging page, where the document is made once its codes
//     are typed (the legacy refused it with a 400 pointing there);
//   - `modo: agregar_a_existente` adds the lines to the document carrying
//     the number, as agregar-productos does (legacy);
//   - anything else is created as any document, and its image, if sent,
//     is stored in the same transaction.
//
// The page's lines come from OCR: their product code is codigo or
// codigo_producto when present, else the edited title, else the
// description normalised the way the page shows it as the code.

// IsIncomingForStaging reports a create request for an incoming document
// that goes through staging: ENTRADA said explicitly, and a type other than
// INVENTARIO, or none (OCR did not read the box; staging defaults it). An
// unknown type is not staged: the create reports it.
func IsIncomingForStaging(in *AlbaranInput) bool {
	d, ok := ParseDireccion(strings.TrimSpace(in.Direccion.Text))
	if !in.Direccion.given() || !ok || d != Entrada {
		return false
	}
	v, set := in.tipoInput()
	if !set || !v.given() {
		return true
	}
	t, ok := ParseTipo(v.Text)
	return ok && t != Inventario
}

// FillUploadCodes gives each line of the AC21 upload page (a decoded
// JSON list) a codigo and a numero_serie when it lacks them, from the
// fields the page shows them in. Lines that are not objects are left for
// the validation to report.
func FillUploadCodes(arts []any) {
	for _, a := range arts {
		m, ok := a.(map[string]any)
		if !ok {
			continue
		}
		if looseString(m["codigo"]) == "" {
			code := firstNonEmpty(m["codigo_producto"], m["titulo"])
			if code == "" {
				code = normalizaCodigo(looseString(m["descripcion"]))
			}
			if code != "" {
				m["codigo"] = code
			}
		}
		if looseString(m["numero_serie"]) == "" {
			if s := firstNonEmpty(m["numero_serie_inicio"], m["numero_serie_fin"]); s != "" {
				m["numero_serie"] = s
			}
		}
	}
}

// normalizaCodigo is the page's normalizaCodigo: trimmed, upper case,
// runs of spaces as one.
func normalizaCodigo(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(s), " "))
}

// CreateAlbaranConImagen is CreateAlbaran with the document's scan: the
// image is checked before anything is written, stored under the new
// document's name inside the creating transaction, and deleted again if
// that transaction fails — no document without its image, no image
// without its document. img nil is a plain CreateAlbaran.
func (s *Service) CreateAlbaranConImagen(ctx context.Context, files filestore.Store, in *AlbaranInput, img *Upload) (*AlbaranDetalle, error) {
	if img == nil {
		return s.CreateAlbaran(ctx, in)
	}
	if files == nil {
		return nil, errs.New(errs.KindUnavailable, "File storage is not configured.")
	}
	ext, err := sniffImage(img.Data, "imagen_documento")
	if err != nil {
		return nil, err
	}
	main, err := s.principalOf(ctx, in)
	if err != nil {
		return nil, err
	}
	plan, err := PlanAlbaran(in, main, s.now())
	if err != nil {
		return nil, err
	}
	now := s.now()
	var stored string
	plan.Attach = func(ctx context.Context, albaranID int64) (string, error) {
		name, err := DocumentImageName(albaranID, now, ext, "")
		if err != nil {
			return "", err
		}
		if _, err := files.Put(ctx, name, bytes.NewReader(img.Data), imagePutOptions()); err != nil {
			return "", renameFileField(err, "imagen_documento")
		}
		stored = name
		return name, nil
	}
	id, err := s.store.CreateAlbaran(ctx, plan)
	if err != nil {
		if stored != "" {
			_ = files.Delete(context.WithoutCancel(ctx), stored)
		}
		return nil, err
	}
	return s.store.AlbaranDetalle(ctx, id)
}

// principalOf reads the main document an extra-page request names (nil
// when it names none or one that does not exist: the plan reports it).
func (s *Service) principalOf(ctx context.Context, in *AlbaranInput) (*Albaran, error) {
	id, msg := albID(in.DocumentoPrincipalID)
	if msg != "" || id == nil {
		return nil, nil
	}
	d, err := s.store.AlbaranDetalle(ctx, *id)
	switch {
	case err == nil:
		return &d.Albaran, nil
	case errs.Is(err, errs.KindNotFound):
		return nil, nil
	}
	return nil, err
}

// AgregarAExistente is the upload page's `modo: agregar_a_existente`: the
// lines go to the document whose number or registry number is the
// request's number (numero, numero_registro_entrada,
// numero_registro_salida, then the same in cabecera), as
// agregar-productos does. No such document is a 404.
func (s *Service) AgregarAExistente(ctx context.Context, in *AlbaranInput) (*AgregarResult, error) {
	vs := []FieldValue{in.Numero, in.NumeroRegistroEntrada, in.NumeroRegistroSalida}
	if c := in.Cabecera; c != nil {
		vs = append(vs, c.Numero, c.NumeroRegistroEntrada, c.NumeroRegistroSalida)
	}
	v, ok := albFirstGiven(vs...)
	if !ok {
		return nil, errs.Field("numero", "This field is required (numero, numero_registro_entrada or numero_registro_salida).")
	}
	ref, _, err := s.store.MovimientosPorNumero(ctx, strings.TrimSpace(v.Text))
	if err != nil {
		return nil, err
	}
	if ref == nil {
		return nil, errs.New(errs.KindNotFound, "No existe un albarán con ese número.")
	}
	return s.AgregarProductos(ctx, ref.ID, in.Articulos)
}
