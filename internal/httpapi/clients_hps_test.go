package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"testing"

	"github.com/thot-security/thot/internal/database"
)

// Contract tests of the hps-system React frontend (public legacy
// repository, branch development, hps-system/frontend/src). Each test is
// named after the client file, each subtest after the call, and sends the
// request as the client does — through its axios instance (apiService.js:
// JSON with Content-Type application/json and Accept application/json, a
// Bearer token from localStorage, params in the query string, FormData
// for uploads, no body and no Content-Type when the call passes no data)
// or through the raw fetch() some pages use — and checks the fields the
// client then reads. docs/api-compat.md ("HPS frontend") lists every call
// with the test that covers it. Helpers carry the hpsfe prefix.

// hpsfe is the frontend talking to a stack with the HPS request world
// (clearance_requests_test.go): an approver (jefe_seguridad, lead of Sur),
// an administrator who is also a member of Norte, the lead of Norte, its
// members m1 and m2 and an outsider in Sur.
type hpsfe struct {
	*hpsrWorld
	t *testing.T
}

func newHPSFE(t *testing.T, db *database.DB) *hpsfe {
	t.Helper()
	return &hpsfe{hpsrWorld: newHPSRWorld(t, db), t: t}
}

// axios sends method path as apiClient does. body nil means the call
// passed no data: axios then sends no body and drops the Content-Type.
func (c *hpsfe) axios(method, path, token string, body any) response {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return c.serve(req)
}

// hpsfeField is one FormData entry, in append order; a file when data is set.
type hpsfeField struct {
	name, value string
	filename    string
	data        []byte
}

// axiosForm sends a FormData body as apiClient does (the browser sets the
// multipart boundary; files go as application/pdf, as the client's Blob
// and file inputs give them).
func (c *hpsfe) axiosForm(method, path, token string, fields ...hpsfeField) response {
	c.t.Helper()
	ct, body := hpsfeMultipart(c.t, fields)
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return c.serve(req)
}

// fetch is a page's raw fetch(): only the headers the page sets (none on
// HPSTransferPage, a Bearer token and a JSON Content-Type even on GETs on
// ChatMonitoringPage), FormData when fields are given.
func (c *hpsfe) fetch(method, path string, headers map[string]string, fields ...hpsfeField) response {
	c.t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if len(fields) > 0 {
		ct, body := hpsfeMultipart(c.t, fields)
		req = httptest.NewRequest(method, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return c.serve(req)
}

func (c *hpsfe) serve(req *http.Request) response {
	rec := httptest.NewRecorder()
	c.srv.Handler().ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.String()}
}

func hpsfeMultipart(t *testing.T, fields []hpsfeField) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range fields {
		if f.data == nil {
			if err := w.WriteField(f.name, f.value); err != nil {
				t.Fatal(err)
			}
			continue
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+f.name+`"; filename="`+f.filename+`"`)
		h.Set("Content-Type", "application/pdf")
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = pw.Write(f.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), buf.Bytes()
}

// object decodes a JSON object answer.
func (c *hpsfe) object(t *testing.T, r response) map[string]any {
	t.Helper()
	return decode[map[string]any](t, r)
}

// want fails unless r has status.
func (c *hpsfe) want(t *testing.T, r response, status int, what string) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: %d, want %d\n%.600s", what, r.status, status, r.body)
	}
	return r
}

// reads checks that obj carries every key the client reads, with a value
// of the JS type it uses ("string", "number", "boolean", "array",
// "object", "string|null", "number|null", "any").
func hpsfeReads(t *testing.T, what string, obj map[string]any, keys map[string]string) {
	t.Helper()
	for k, want := range keys {
		v, ok := obj[k]
		if !ok {
			t.Errorf("%s: no %q (the client reads it)", what, k)
			continue
		}
		if got := hpsfeType(v); want != "any" && got != want && !(got == "null" && (want == "string|null" || want == "number|null")) &&
			!(want == "string|null" && got == "string") && !(want == "number|null" && got == "number") {
			t.Errorf("%s: %q is %s (%v), the client needs %s", what, k, got, v, want)
		}
	}
}

func hpsfeType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "?"
}

// hpsfePager is hpsService.getRequests' reading of a list answer, line by
// line: a bare array is one page; a DRF page gives total = count, pages =
// ceil(count / per_page) and page = data.page || the page asked for.
func hpsfePager(t *testing.T, r response, askedPage, perPage int) (rows []any, total, pages, page int) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatal(err)
	}
	switch d := v.(type) {
	case []any:
		return d, len(d), 1, 1
	case map[string]any:
		res, _ := d["results"].([]any)
		count, _ := d["count"].(float64)
		total = int(count)
		if total == 0 {
			total = len(res)
		}
		if perPage == 0 {
			perPage = 10
		}
		pages = int(math.Ceil(float64(total) / float64(perPage)))
		page = askedPage
		if p, ok := d["page"].(float64); ok && p != 0 {
			page = int(p)
		}
		if page == 0 {
			page = 1
		}
		return res, total, pages, page
	}
	t.Fatalf("unknown list shape: %.300s", r.body)
	return nil, 0, 0, 0
}
