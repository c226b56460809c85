package clearance

import (
	"strings"
	"testing"
)

// Form-link words and the type a public submission gets.

func TestRequestTypeOf(t *testing.T) {
	for _, c := range []struct {
		in   string
		want RequestType
		ok   bool
	}{
		{"nueva", New, true}, {"new", New, true}, {" Alta ", New, true},
		{"renovacion", Renewal, true}, {"renovación", Renewal, true}, {"RENEWAL", Renewal, true},
		{"traslado", Transfer, true}, {"traspaso", Transfer, true}, {"transfer", Transfer, true}, {"Trasladar", Transfer, true},
		{"", "", false}, {"solicitud", "", false}, {"otra", "", false},
	} {
		got, ok := RequestTypeOf(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("RequestTypeOf(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestPublicTypes(t *testing.T) {
	plain := &Token{FormType: Solicitud, RequestType: New}
	for _, c := range []struct {
		name  string
		tok   *Token
		query string
		body  RequestType
		form  FormType
		rt    RequestType
	}{
		{"plain link, no query", plain, "", "", Solicitud, New},
		{"plain link, query traslado", plain, "traslado", New, Traslado, Transfer},
		{"plain link, query renovacion", plain, "renovacion", New, Solicitud, Renewal},
		{"plain link, query nueva beats body renewal", plain, "nueva", Renewal, Solicitud, New},
		{"plain link, body renewal", plain, "solicitud", Renewal, Solicitud, Renewal},
		{"plain link, body transfer is not enough", plain, "", Transfer, Solicitud, New},
		{"transfer link keeps its type", &Token{FormType: Traslado, RequestType: Transfer}, "nueva", New, Traslado, Transfer},
		{"renewal link keeps its type", &Token{FormType: Solicitud, RequestType: Renewal}, "traslado", New, Solicitud, Renewal},
	} {
		form, rt := publicTypes(c.tok, c.query, c.body)
		if form != c.form || rt != c.rt {
			t.Errorf("%s: got %s/%s, want %s/%s", c.name, form, rt, c.form, c.rt)
		}
	}
}

func TestTokenValueAndURL(t *testing.T) {
	v := newTokenValue()
	if len(v) != 43 || strings.ContainsAny(v, "+/=") {
		t.Fatalf("token %q", v)
	}
	if h := HashToken(v); len(h) != 64 || h == HashToken(newTokenValue()) {
		t.Fatalf("hash %q", h)
	}
	s := &Service{cfg: Config{FrontendURL: "https://hps.example"}}
	for _, c := range []struct {
		tok  Token
		want string
	}{
		{Token{Email: "a+b@example.org", FormType: Solicitud, RequestType: New}, "https://hps.example/hps-form?token=T&email=a%2Bb%40example.org&type=nueva"},
		{Token{Email: "a@example.org", FormType: Solicitud, RequestType: Renewal}, "https://hps.example/hps-form?token=T&email=a%40example.org&type=renovacion"},
		{Token{Email: "a@example.org", FormType: Traslado, RequestType: Transfer}, "https://hps.example/hps-form?token=T&email=a%40example.org&type=traslado"},
	} {
		if got := s.FormURL(&c.tok, "T"); got != c.want {
			t.Errorf("FormURL = %s, want %s", got, c.want)
		}
	}
}
