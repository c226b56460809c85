package main

import (
	"reflect"
	"strings"
	"testing"
)

// These cover the harness's own bookkeeping; the browser run itself needs
// a legacy checkout and Chromium (see README.md) and is not a Go test.

func TestEvaluateReasons(t *testing.T) {
	rec := &record{
		HTTP: []httpFailure{
			{Target: "thot", Method: "POST", Path: "/api/token/refresh/", Status: 401, Body: `{"detail":"Token is blacklisted"}`},
			{Target: "thot", Method: "POST", Path: "/api/token/refresh/", Status: 401, Body: `{"detail":"Token is blacklisted"}`},
			{Target: "thot", Method: "POST", Path: "/api/hps/chat/conversations/archive-active/", Status: 404},
		},
		Console:  []string{"Error archivando conversación: 404"},
		Toasts:   []string{"success:Guardado", "error:Error al guardar"},
		Dialogs:  []string{"alert: ❌ Solo se puede editar el PDF de un traslado pendiente.", "confirm: ¿Seguro?"},
		Requests: map[string]int{"POST /api/token/refresh/": loopLimit + 1, "GET /api/productos/": 2},
	}
	res := &result{Step: "text not seen"}
	res.evaluate(rec, chatKnown, nil)
	want := []string{
		"step: text not seen",
		`HTTP 401 POST /api/token/refresh/ → {"detail":"Token is blacklisted"} (×2)`,
		"toast error:Error al guardar",
		"alert: ❌ Solo se puede editar el PDF de un traslado pendiente.",
		"request loop: 26 × POST /api/token/refresh/",
	}
	if !reflect.DeepEqual(res.Reasons, want) {
		t.Errorf("reasons:\n%q\nwant\n%q", res.Reasons, want)
	}
	if len(res.Known) != 2 || res.Status != "FAIL" {
		t.Errorf("known %q, status %s; want the two chat failures as known, FAIL", res.Known, res.Status)
	}
	ok := &result{}
	ok.evaluate(&record{Requests: map[string]int{}}, nil, nil)
	if ok.Status != "OK" || len(ok.Reasons) != 0 {
		t.Errorf("empty record: %s %q, want OK", ok.Status, ok.Reasons)
	}
}

func TestEndpointLabel(t *testing.T) {
	ep := endpoints{thot: "http://localhost:18080", ocr: "http://localhost:18002", proxied: []string{"http://localhost:3001"}}
	for _, tc := range []struct{ url, want string }{
		{"http://localhost:18080/api/productos/", "thot"},
		{"ws://localhost:18080/ws/chat?token=x", "thot"},
		{"http://localhost:3001/api/hps/requests/1/", "thot"},
		{"http://localhost:3001/static/js/main.js", "frontend"},
		{"http://localhost:3000/login/", "frontend"},
		{"http://localhost:18002/process-image/", "ocr-stub"},
	} {
		if got := ep.label(tc.url); got != tc.want {
			t.Errorf("label(%s) = %s, want %s", tc.url, got, tc.want)
		}
	}
}

func TestIgnoredURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"https://fonts.googleapis.com/css2?family=Inter", true},
		{"http://localhost:3000/favicon.ico", true},
		{"http://localhost:18080/api/productos/", false},
		{"http://127.0.0.1:3001/static/js/main.js", false},
	} {
		if got := ignoredURL(tc.url); got != tc.want {
			t.Errorf("ignoredURL(%s) = %v, want %v", tc.url, got, tc.want)
		}
	}
}

func TestMarkdownGroupsFailingRequests(t *testing.T) {
	rep := &report{Date: "2026-12-03", ThotCommit: "abc", LegacyCommit: "def", Database: "SQLite", Results: []*result{
		{Client: "hps", Name: "reject", Status: "FAIL", Reasons: []string{"HTTP 400 …"},
			HTTP: []httpFailure{{Target: "thot", Method: "POST", Path: "/api/hps/requests/12d6e206-e380-4afe-acac-89ef702f2de0/reject/?notes=x", Status: 400, Body: "{}"}}},
		{Client: "hps", Name: "reject again", Status: "FAIL", Reasons: []string{"HTTP 400 …"},
			HTTP: []httpFailure{{Target: "thot", Method: "POST", Path: "/api/hps/requests/0d6e206e-e380-4afe-acac-89ef702f2de1/reject/?notes=x", Status: 400, Body: "{}"}}},
		{Client: "hps", Name: "dashboard", Status: "OK", Known: []string{"HTTP 404 POST /api/hps/chat/x/ (×2)"},
			HTTP: []httpFailure{{Target: "thot", Method: "POST", Path: "/api/hps/chat/x/", Status: 404}}},
	}}
	md := rep.markdown()
	if strings.Contains(md, "| 404 | `POST /api/hps/chat/x/`") {
		t.Errorf("a known failure is listed among the failing requests:\n%s", md)
	}
	for _, want := range []string{
		"- Result: 3 checks, 1 OK, 2 FAIL",
		"| hps | dashboard | OK |  |",
		"| 400 | `POST /api/hps/requests/{id}/reject/?notes=x` | {} | hps: reject, hps: reject again |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestEvaluateExpected(t *testing.T) {
	expired := httpFailure{Target: "thot", Method: "GET", Path: "/api/hps/user/profile/", Status: 401,
		Body: `{"code":"token_not_valid","detail":"Given token not valid for any token type"}`}
	other := httpFailure{Target: "thot", Method: "GET", Path: "/api/hps/user/profile/", Status: 401, Body: `{"detail":"Authentication credentials were not provided."}`}
	res := &result{}
	res.evaluate(&record{HTTP: []httpFailure{expired, expired, other}, Requests: map[string]int{}}, nil,
		[]string{`HTTP 401 GET /api/hps/user/profile/ → {"code":"token_not_valid"`})
	if len(res.Expected) != 1 || !strings.HasSuffix(res.Expected[0], "(×2)") {
		t.Errorf("expected %q, want the two expired-token answers", res.Expected)
	}
	if len(res.Reasons) != 1 || !strings.Contains(res.Reasons[0], "credentials were not provided") || res.Status != "FAIL" {
		t.Errorf("reasons %q, status %s; want the other 401 as a failure", res.Reasons, res.Status)
	}
	md := (&report{Results: []*result{res}}).markdown()
	if strings.Contains(md, "| 401 | `GET /api/hps/user/profile/` | {\"code\"") || !strings.Contains(md, "## Expected answers, checked by the flow") {
		t.Errorf("the expected answer is listed as failing, or not listed apart:\n%s", md)
	}
}

func TestCheckRefreshes(t *testing.T) {
	const orig = "refresh-original"
	get := func(status int64) apiCall {
		return apiCall{Method: "GET", Path: "/api/hps/user/profile/", Status: status}
	}
	refresh := func(token string, status int64) apiCall {
		return apiCall{Method: "POST", Path: refreshPath, Status: status, Refresh: token}
	}
	for _, tc := range []struct {
		name      string
		calls     []apiCall
		refused   []string
		refreshes int
		err       string
	}{
		{name: "no expiry", calls: []apiCall{get(200), get(200)}},
		{name: "two lifetimes",
			calls:   []apiCall{get(200), get(401), refresh(orig, 200), get(200), get(401), refresh(orig, 200), get(200)},
			refused: []string{"GET /api/hps/user/profile/"}, refreshes: 2},
		{name: "another refresh token", calls: []apiCall{get(401), refresh("rotated", 200), get(200)}, err: "another refresh token"},
		{name: "refresh refused", calls: []apiCall{get(200), refresh(orig, 401)}, err: "refresh #1 answered 401"},
		{name: "401 then a refused refresh", calls: []apiCall{get(401), refresh(orig, 401), get(200)}, err: "no successful refresh followed"},
		{name: "no refresh after the 401", calls: []apiCall{get(401), get(200)}, err: "no successful refresh followed"},
		{name: "no retry", calls: []apiCall{get(401), refresh(orig, 200), {Method: "GET", Path: "/api/otra/", Status: 200}}, err: "never succeeded again"},
		{name: "retry refused again", calls: []apiCall{get(401), refresh(orig, 200), get(401)}, err: "never succeeded again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refused, n, err := checkRefreshes(tc.calls, orig)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || n != tc.refreshes || !reflect.DeepEqual(refused, tc.refused) {
				t.Errorf("got %q, %d, %v; want %q, %d", refused, n, err, tc.refused, tc.refreshes)
			}
		})
	}
}
