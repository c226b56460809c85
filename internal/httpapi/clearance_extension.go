package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/clearance"
)

// The browser-extension API: the legacy paths and JSON keys (Django
// /api/extension/…/ with trailing slashes, FastAPI /api/v1/extension/…
// without), served by one set of handlers, but only to an API key of
// scope "extension" (APIKey in routes.go) or, transitionally, without
// credentials from a trusted network (clearance_extension_access.go).
// Status changes go through the state machine as the extension actor and
// touch only the open request of the document number; the audit actor is
// the key's name (or "extension, keyless, from <addr>").

// ExtensionPersonFields are the applicant fields the extension copies into
// the government form (legacy keys).
type ExtensionPersonFields struct {
	TipoDocumento string `json:"tipo_documento" doc:"Document type as the forms write it (DNI / NIF, NIE, Tarjeta Residente, Pasaporte, Otros)"`
	// The government codes ride along for the extension's selects: the
	// newer extension compares nacionalidad with "ESPAÑA", so the readable
	// value keeps the legacy key.
	TipoDocumentoCodigo *string `json:"tipo_documento_codigo" doc:"Government code of the document type (206–210); null for a value outside the list"`
	NumeroDocumento     string  `json:"numero_documento"`
	FechaNacimiento     string  `json:"fecha_nacimiento" doc:"ISO date"`
	Nombre              string  `json:"nombre"`
	PrimerApellido      string  `json:"primer_apellido"`
	SegundoApellido     string  `json:"segundo_apellido"`
	Nacionalidad        string  `json:"nacionalidad" doc:"Nationality as the forms write it (ESPAÑA, FRANCIA, …)"`
	NacionalidadCodigo  *string `json:"nacionalidad_codigo" doc:"Government code of the nationality (1–189, 1 = ESPAÑA); null for a value outside the list"`
	LugarNacimiento     string  `json:"lugar_nacimiento"`
	Correo              string  `json:"correo"`
	Telefono            string  `json:"telefono"`
	Operacion           string  `json:"operacion" doc:"request_type: new, renewal or transfer"`
}

// ExtensionPersonJSON is one pending request in the persons list.
type ExtensionPersonJSON struct {
	ExtensionPersonFields
	HPSType string `json:"hps_type" doc:"form_type: solicitud or traslado"`
	ExtensionPDFLink
}

// ExtensionPersonStatusJSON is the request of one document number.
type ExtensionPersonStatusJSON struct {
	ExtensionPersonFields
	Estado string `json:"estado"`
	ExtensionPDFLink
}

// ExtensionResultJSON answers a status change (legacy {success, message}).
type ExtensionResultJSON struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	Estado  string `json:"estado"`
}

func extensionFields(r *clearance.Request) ExtensionPersonFields {
	return ExtensionPersonFields{TipoDocumento: r.DocumentType, TipoDocumentoCodigo: nonEmpty(clearance.DocumentTypes.Code(r.DocumentType)),
		NacionalidadCodigo: nonEmpty(clearance.Nationalities.Code(r.Nationality)), NumeroDocumento: r.DocumentNumber,
		FechaNacimiento: r.BirthDate.Format(time.DateOnly), Nombre: r.FirstName, PrimerApellido: r.FirstLastName,
		SegundoApellido: r.SecondLastName, Nacionalidad: r.Nationality, LugarNacimiento: r.BirthPlace,
		Correo: r.Email, Telefono: r.Phone, Operacion: string(r.RequestType)}
}

type extensionPersonsInput struct {
	Tipo string `query:"tipo" doc:"solicitud (new requests), traslado (transfers); anything else: all pending"`
}

type extensionDocInput struct {
	Doc string `path:"numero_documento" doc:"Document number (DNI/NIE)"`
}

type extensionStatusInput struct {
	Doc  string `path:"numero_documento" doc:"Document number (DNI/NIE)"`
	Body struct {
		Estado string `json:"estado" doc:"Target state; the extension may only reach submitted"`
	}
}

// extensionRoute registers one operation under both prefixes: Django's
// (trailing slash) and FastAPI's (none).
func extensionRoute[I, O any](s *Server, id, method, path, summary string, h func(context.Context, *I) (*O, error), op huma.Operation) {
	for _, v := range []struct{ id, path string }{
		{"extension-" + id, "/api/extension" + path + "/"},
		{"v1-extension-" + id, "/api/v1/extension" + path},
	} {
		o := op
		o.OperationID, o.Method, o.Path, o.Summary, o.Tags = v.id, method, v.path, summary, []string{"extension"}
		o.Description = "Also answers requests without any credentials from THOT_EXTENSION_TRUSTED_NETWORKS (transitional; off by default), each audited with the address."
		Register(s.API, o, APIKey(clearance.ScopeExtension), h)
	}
}

func (s *Server) registerExtension() {
	s.ext = newExtensionAccess(s.deps.Config, s.deps.Logger)
	s.registerExtensionPDFLink()
	extensionRoute(s, "personas", http.MethodGet, "/personas", "Pending requests to copy into the government form",
		func(ctx context.Context, in *extensionPersonsInput) (*struct{ Body []ExtensionPersonJSON }, error) {
			rs, err := s.deps.Clearance.ExtensionPersons(ctx, in.Tipo)
			if err != nil {
				return nil, err
			}
			out := make([]ExtensionPersonJSON, len(rs))
			for i := range rs {
				out[i] = ExtensionPersonJSON{ExtensionPersonFields: extensionFields(&rs[i]), HPSType: string(rs[i].FormType)}
				out[i].ExtensionPDFLink = s.extensionPDFLink(ctx, &rs[i])
			}
			return &struct{ Body []ExtensionPersonJSON }{Body: out}, nil
		}, huma.Operation{})
	extensionRoute(s, "persona", http.MethodGet, "/persona/{numero_documento}", "The open request of a document number, else its latest, with its state",
		func(ctx context.Context, in *extensionDocInput) (*struct{ Body ExtensionPersonStatusJSON }, error) {
			r, err := s.deps.Clearance.ExtensionPerson(ctx, in.Doc)
			if err != nil {
				return nil, err
			}
			out := ExtensionPersonStatusJSON{ExtensionPersonFields: extensionFields(r), Estado: string(r.Status)}
			out.ExtensionPDFLink = s.extensionPDFLink(ctx, r)
			return &struct{ Body ExtensionPersonStatusJSON }{Body: out}, nil
		}, huma.Operation{})
	extensionRoute(s, "solicitud-estado", http.MethodPut, "/solicitud/{numero_documento}/estado",
		"Set the state of the document number's open request (state machine: only submitted)",
		func(ctx context.Context, in *extensionStatusInput) (*struct{ Body ExtensionResultJSON }, error) {
			to, err := clearance.ParseExtensionStatus(in.Body.Estado)
			if err != nil {
				return nil, err
			}
			return s.extensionSet(ctx, in.Doc, to, "")
		}, huma.Operation{})
	extensionRoute(s, "solicitud-enviada", http.MethodPut, "/solicitud/{numero_documento}/enviada",
		"Mark the document number's open request as submitted",
		func(ctx context.Context, in *extensionDocInput) (*struct{ Body ExtensionResultJSON }, error) {
			return s.extensionSet(ctx, in.Doc, clearance.Submitted, "")
		}, huma.Operation{})
	extensionRoute(s, "traslado-enviado", http.MethodPut, "/traslado/{numero_documento}/enviado",
		"Mark the document number's open transfer (traslado) as submitted",
		func(ctx context.Context, in *extensionDocInput) (*struct{ Body ExtensionResultJSON }, error) {
			return s.extensionSet(ctx, in.Doc, clearance.Submitted, clearance.Traslado)
		}, huma.Operation{})
	extensionRoute(s, "traslado-pdf", http.MethodGet, "/traslado/{numero_documento}/pdf",
		"The filled transfer PDF of the document number's open traslado (attachment)",
		func(ctx context.Context, in *extensionDocInput) (*hpsPDFOutput, error) {
			r, rc, obj, err := s.deps.Clearance.TransferPDF(ctx, in.Doc)
			if err != nil {
				return nil, err
			}
			return pdfOutput(rc, obj, r.ApplicantName()+" - Traslado HPS.pdf", false), nil
		}, huma.Operation{Responses: pdfResponses})
}

func (s *Server) extensionSet(ctx context.Context, doc string, to clearance.Status, form clearance.FormType) (*struct{ Body ExtensionResultJSON }, error) {
	r, changed, err := s.deps.Clearance.ExtensionSetStatus(ctx, doc, to, form)
	if err != nil {
		return nil, err
	}
	msg := "Solicitud " + r.DocumentNumber + " actualizada a «" + string(r.Status) + "»."
	if !changed {
		msg = "La solicitud " + r.DocumentNumber + " ya estaba en estado «" + string(r.Status) + "»."
	}
	return &struct{ Body ExtensionResultJSON }{Body: ExtensionResultJSON{Success: true, Message: msg, Estado: string(r.Status)}}, nil
}
