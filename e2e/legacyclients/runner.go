package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// check is one page or flow of a client. Checks run in order; checks of
// the same client and account share a tab (a logged-in session), so a
// later check starts where the user would be.
type check struct {
	client string   // "cryptotrace" or "hps"
	name   string   // page path or flow name
	as     *account // logged in through the real login page when the session starts (nil: anonymous)
	// session separates tabs of the same account ("" is the default one).
	session string
	// known are substrings of failures that are expected: outside issue 9
	// (the chat agent is not in thot yet), or legacy client bugs that fail
	// against the legacy backend too. They are listed as notes, not
	// failures.
	known []string
	run   func(t *tab) error
}

// runner runs checks and keeps their results.
type runner struct {
	o        *options
	br       *browser
	ports    ports
	fx       *fixture
	shots    string
	sessions map[string]*session
	results  []*result
}

func (r *runner) wants(cs []check) bool {
	for _, c := range cs {
		if r.selected(c) {
			return true
		}
	}
	return false
}

func (r *runner) selected(c check) bool {
	return r.o.only == nil || r.o.only.MatchString(c.client+"/"+c.name)
}

func (r *runner) runAll(ctx context.Context, cs []check) {
	for _, c := range cs {
		if ctx.Err() != nil {
			return
		}
		if !r.selected(c) {
			continue
		}
		res := r.runCheck(c)
		slog.Info("check", "client", c.client, "name", c.name, "status", res.Status, "reasons", len(res.Reasons), "seconds", res.Seconds)
		r.results = append(r.results, res)
	}
	for _, s := range r.sessions {
		s.cancel()
	}
	r.sessions = nil
}

func (r *runner) base(client string) string {
	if client == "hps" {
		return r.ports.hpsURL()
	}
	return r.ports.cryptotraceURL()
}

// sessionFor returns the check's tab and whether it was just opened.
func (r *runner) sessionFor(c check) (*session, bool, error) {
	key := c.client + "|" + c.session
	if c.as != nil {
		key += "|" + c.as.email
	}
	if s := r.sessions[key]; s != nil {
		return s, false, nil
	}
	ep := endpoints{thot: r.ports.thotURL(), ocr: r.ports.ocrURL(), proxied: []string{r.ports.hpsURL()}}
	s, err := r.br.newSession(c.client, r.base(c.client), ep)
	if err != nil {
		return nil, false, err
	}
	if r.sessions == nil {
		r.sessions = map[string]*session{}
	}
	r.sessions[key] = s
	return s, true, nil
}

// result is the outcome of one check.
type result struct {
	Client     string        `json:"client"`
	Name       string        `json:"name"`
	Status     string        `json:"status"` // OK or FAIL
	Reasons    []string      `json:"reasons,omitempty"`
	Known      []string      `json:"known,omitempty"`    // expected failures outside issue 9, legacy client bugs
	Expected   []string      `json:"expected,omitempty"` // answers ≥ 400 the flow checked were right (expired-token 401s, refreshed and retried)
	Step       string        `json:"step_error,omitempty"`
	Problems   []string      `json:"problems,omitempty"` // failed expectations the flow went on after
	Stuck      string        `json:"stuck,omitempty"`
	HTTP       []httpFailure `json:"http_errors,omitempty"`
	Network    []string      `json:"network_errors,omitempty"`
	Console    []string      `json:"console_errors,omitempty"`
	Exceptions []string      `json:"exceptions,omitempty"`
	Toasts     []string      `json:"toasts,omitempty"`
	Dialogs    []string      `json:"dialogs,omitempty"`
	FinalPath  string        `json:"final_path"`
	Screenshot string        `json:"screenshot,omitempty"`
	Seconds    float64       `json:"seconds"`
}

func (r *runner) runCheck(c check) *result {
	res := &result{Client: c.client, Name: c.name}
	start := time.Now()
	defer func() { res.Seconds = time.Since(start).Round(100 * time.Millisecond).Seconds() }()
	s, fresh, err := r.sessionFor(c)
	if err != nil {
		res.Step = "opening a tab: " + err.Error()
		res.evaluate(newRecord(), c.known, nil)
		return res
	}
	s.rec.take() // drop what earlier checks left
	t := &tab{session: s, settleFor: r.o.settle, fx: r.fx}
	var stepErr error
	if fresh && c.as != nil {
		stepErr = t.login(*c.as)
	}
	if stepErr == nil {
		stepErr = c.run(t)
	}
	if stepErr != nil {
		res.Step = stepErr.Error()
	}
	res.Problems = t.problems
	t.settle()
	if st, err := t.state(); err == nil {
		res.FinalPath = st.Path
		switch {
		case t.stuck != "":
			res.Stuck = t.stuck
		case st.Len < 15 && st.Media == 0:
			res.Stuck = "blank page"
		}
	}
	time.Sleep(300 * time.Millisecond) // late console lines
	rec := s.rec.take()
	res.Screenshot = r.screenshot(s, c)
	res.evaluate(rec, c.known, t.expected)
	return res
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

func (r *runner) screenshot(s *session, c check) string {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		return ""
	}
	name := fmt.Sprintf("%02d-%s-%s.png", len(r.results)+1, c.client, strings.Trim(nonWord.ReplaceAllString(strings.ToLower(c.name), "-"), "-"))
	if err := os.WriteFile(filepath.Join(r.shots, name), buf, 0o644); err != nil {
		return ""
	}
	return filepath.Join("screenshots", name)
}

// loopLimit is how many times one API call may repeat within a check
// before it counts as a loop (a page load makes each call a few times).
const loopLimit = 25

// evaluate turns what was recorded into reasons; those matching a known
// pattern become notes, those matching an expected one (checked by the
// flow) are kept apart.
func (res *result) evaluate(rec *record, known, expected []string) {
	res.HTTP, res.Network, res.Console, res.Exceptions, res.Toasts, res.Dialogs = rec.HTTP, rec.Network, rec.Console, rec.Exceptions, rec.Toasts, rec.Dialogs
	var reasons []string
	for _, p := range res.Problems {
		reasons = append(reasons, "expected: "+p)
	}
	if res.Step != "" {
		reasons = append(reasons, "step: "+res.Step)
	}
	if res.Stuck != "" {
		reasons = append(reasons, "stuck: "+res.Stuck)
	}
	reasons = append(reasons, counted(rec.HTTP, func(f httpFailure) string { return "HTTP " + f.String() })...)
	reasons = append(reasons, counted(rec.Network, func(s string) string { return "network: " + s })...)
	reasons = append(reasons, counted(rec.Exceptions, func(s string) string { return "uncaught: " + s })...)
	reasons = append(reasons, counted(rec.Console, func(s string) string { return "console: " + s })...)
	for _, t := range rec.Toasts {
		if strings.HasPrefix(t, "error:") {
			reasons = append(reasons, "toast "+t)
		}
	}
	for _, d := range rec.Dialogs {
		if strings.HasPrefix(d, "alert:") && (strings.Contains(strings.ToLower(d), "error") || strings.Contains(d, "❌")) {
			reasons = append(reasons, d)
		}
	}
	keys := make([]string, 0, len(rec.Requests))
	for k := range rec.Requests {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if n := rec.Requests[k]; n > loopLimit {
			reasons = append(reasons, fmt.Sprintf("request loop: %d × %s", n, k))
		}
	}
	for _, reason := range reasons {
		if strings.HasPrefix(reason, "HTTP ") && matchesAny(reason, expected) {
			res.Expected = append(res.Expected, reason)
		} else if matchesAny(reason, known) {
			res.Known = append(res.Known, reason)
		} else {
			res.Reasons = append(res.Reasons, reason)
		}
	}
	res.Status = "OK"
	if len(res.Reasons) > 0 {
		res.Status = "FAIL"
	}
}

// counted renders each distinct item once, with "(×n)" when repeated, in
// first-seen order.
func counted[T comparable](items []T, render func(T) string) []string {
	n := map[T]int{}
	var order []T
	for _, it := range items {
		if n[it] == 0 {
			order = append(order, it)
		}
		n[it]++
	}
	out := make([]string, 0, len(order))
	for _, it := range order {
		s := render(it)
		if n[it] > 1 {
			s += fmt.Sprintf(" (×%d)", n[it])
		}
		out = append(out, s)
	}
	return out
}

func matchesAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// tab is what a check's flow drives: the session's tab plus helpers that
// wait the way a user does.
type tab struct {
	*session
	settleFor time.Duration
	fx        *fixture
	stuck     string   // set by settle when the page kept loading
	problems  []string // failed expectations the flow went on after
	// expected are HTTP failures ("HTTP <status> <METHOD> <path> → <body
	// start>") the flow checked were the right answer.
	expected []string
}

// soft records a failed expectation and lets the flow go on (err nil:
// nothing to record).
func (t *tab) soft(err error) {
	if err != nil {
		t.problems = append(t.problems, err.Error())
	}
}

// pageState is __h.state() of the instrumentation script.
type pageState struct {
	Path     string `json:"path"`
	Text     string `json:"text"`
	Len      int    `json:"len"`
	Loading  string `json:"loading"`
	Spinners int    `json:"spinners"`
	Media    int    `json:"media"`
}

func eval[T any](t *tab, js string) (T, error) {
	ctx, cancel := context.WithTimeout(t.ctx, 15*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js))
}

func (t *tab) state() (pageState, error) {
	return eval[pageState](t, `window.__h ? __h.state() : ({path: location.pathname, text: '', len: 0, loading: 'instrumentation missing'})`)
}

// settle waits until no request is in flight and the page shows no
// loading text or spinner; after settleFor it records the page as stuck.
func (t *tab) settle() {
	deadline := time.Now().Add(t.settleFor)
	for {
		st, err := t.state()
		if err == nil && st.Loading == "" && st.Spinners == 0 && t.rec.idle(700*time.Millisecond) {
			t.stuck = ""
			return
		}
		if time.Now().After(deadline) {
			switch {
			case err != nil:
				t.stuck = "page did not answer: " + err.Error()
			case st.Loading != "":
				t.stuck = fmt.Sprintf("still showing %q after %s", st.Loading, t.settleFor)
			case st.Spinners > 0:
				t.stuck = fmt.Sprintf("still spinning after %s", t.settleFor)
			default:
				t.stuck = fmt.Sprintf("requests still in flight after %s: %s", t.settleFor, truncate(strings.Join(t.rec.pending(), ", "), 300))
			}
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// visit opens path of the client and waits for it to settle and show
// every wanted text.
func (t *tab) visit(path string, want ...string) error {
	ctx, cancel := context.WithTimeout(t.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(t.base+path)); err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	t.settle()
	for _, w := range want {
		if err := t.waitText(w); err != nil {
			return err
		}
	}
	return nil
}

// waitFor polls the JavaScript condition until it is true.
func (t *tab) waitFor(what, cond string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := eval[bool](t, "!!("+cond+")")
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			st, _ := t.state()
			return fmt.Errorf("%s not seen within %s (page %s: %q)", what, limit, st.Path, truncate(strings.Join(strings.Fields(st.Text), " "), 160))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (t *tab) waitText(text string) error {
	return t.waitFor(fmt.Sprintf("text %q", text), "__h.has("+jsString(text)+")", t.settleFor)
}

// waitPath waits until the location's path starts with prefix.
func (t *tab) waitPath(prefix string) error {
	return t.waitFor("page "+prefix, "location.pathname.startsWith("+jsString(prefix)+")", t.settleFor)
}

// waitNotPath waits until the location leaves path.
func (t *tab) waitNotPath(path string) error {
	return t.waitFor("leaving "+path, "location.pathname !== "+jsString(path), t.settleFor)
}

// click clicks the visible control (button, link, label…) with this text
// and lets the page settle.
func (t *tab) click(text string) error { return t.clickIn(text, "") }

// clickIn clicks the control with text among the elements matching sel
// (text "" clicks the first visible match of sel).
func (t *tab) clickIn(text, sel string) error {
	var msg string
	deadline := time.Now().Add(t.settleFor)
	for {
		var err error
		msg, err = eval[string](t, fmt.Sprintf("__h.click(%s, %s)", jsString(text), jsString(sel)))
		if err != nil {
			msg = err.Error()
		}
		if msg == "" {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("click %q %s: %s", text, sel, msg)
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	t.settle()
	return nil
}

// set fills the first visible field matching sel.
func (t *tab) set(sel, value string) error {
	if err := t.waitFor("field "+sel, "document.querySelector("+jsString(sel)+")", t.settleFor); err != nil {
		return err
	}
	msg, err := eval[string](t, fmt.Sprintf("__h.set(%s, %s)", jsString(sel), jsString(value)))
	if err != nil {
		return err
	}
	if msg != "" {
		return fmt.Errorf("set %s: %s", sel, msg)
	}
	return nil
}

// upload gives the file input the file.
func (t *tab) upload(sel, path string) error {
	ctx, cancel := context.WithTimeout(t.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS(sel), []string{path}, chromedp.NodeReady)); err != nil {
		return fmt.Errorf("upload to %s: %w", sel, err)
	}
	t.settle()
	return nil
}

// call runs one of the instrumentation helpers that answer "" or what
// went wrong.
func (t *tab) call(what, js string) error {
	msg, err := eval[string](t, js)
	if err == nil && msg != "" {
		err = errors.New(msg)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// selectText picks the option shown as text in the first select matching sel.
func (t *tab) selectText(sel, text string) error {
	if err := t.waitFor("field "+sel, "document.querySelector("+jsString(sel)+")", t.settleFor); err != nil {
		return err
	}
	return t.call("select "+text, fmt.Sprintf("__h.selectText(%s, %s)", jsString(sel), jsString(text)))
}

// setInRow fills the field sel of the row (rowSel) that shows text.
func (t *tab) setInRow(rowSel, text, sel, value string) error {
	if err := t.waitFor("row "+text, fmt.Sprintf("__h.row(%s, %s)", jsString(rowSel), jsString(text)), t.settleFor); err != nil {
		return err
	}
	return t.call("set "+sel+" of "+text, fmt.Sprintf("__h.setInRow(%s, %s, %s, %s)", jsString(rowSel), jsString(text), jsString(sel), jsString(value)))
}

// clickInRow clicks the i-th visible element sel of the row that shows text.
func (t *tab) clickInRow(rowSel, text, sel string, i int) error {
	if err := t.waitFor("row "+text, fmt.Sprintf("__h.row(%s, %s)", jsString(rowSel), jsString(text)), t.settleFor); err != nil {
		return err
	}
	if err := t.call(fmt.Sprintf("click %s #%d of %s", sel, i, text), fmt.Sprintf("__h.clickInRow(%s, %s, %s, %d)", jsString(rowSel), jsString(text), jsString(sel), i)); err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond)
	t.settle()
	return nil
}

// outcome runs act and waits for success to appear on the page, even
// briefly. A failure text appearing, an element matching a "css:"
// failure, or an error toast ends the wait as an error.
func (t *tab) outcome(act func() error, success string, failures ...string) error {
	var texts, boxes []string
	for _, f := range failures {
		if sel, ok := strings.CutPrefix(f, "css:"); ok {
			boxes = append(boxes, sel)
		} else {
			texts = append(texts, f)
		}
	}
	list, _ := json.Marshal(append([]string{success}, texts...))
	if err := t.call("watch", "(__h.watch("+string(list)+"), '')"); err != nil {
		return err
	}
	if err := act(); err != nil {
		return err
	}
	deadline := time.Now().Add(t.settleFor)
	for {
		seen, _ := eval[[]string](t, "window.__h ? __h.seen() : []")
		if contains(seen, success) {
			return nil
		}
		if errs, _ := eval[[]string](t, "window.__h ? __h.toastErrors() : []"); len(errs) > 0 {
			return fmt.Errorf("error toast %q", errs[0])
		}
		for _, f := range texts {
			if contains(seen, f) {
				return fmt.Errorf("the page shows %q", f)
			}
		}
		for _, sel := range boxes {
			if msg, _ := eval[string](t, fmt.Sprintf("(() => { const e = [...document.querySelectorAll(%s)].find(e => e.innerText.trim()); return e ? e.innerText : ''; })()", jsString(sel))); msg != "" {
				return fmt.Errorf("the page shows the error %q", truncate(strings.Join(strings.Fields(msg), " "), 200))
			}
		}
		if time.Now().After(deadline) {
			st, _ := t.state()
			return fmt.Errorf("%q not seen within %s (page %s: %q)", success, t.settleFor, st.Path, truncate(strings.Join(strings.Fields(st.Text), " "), 160))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// count is how many visible elements match sel.
func (t *tab) count(sel string) (int, error) { return eval[int](t, "__h.count("+jsString(sel)+")") }

func (t *tab) has(text string) bool {
	ok, err := eval[bool](t, "__h.has("+jsString(text)+")")
	return err == nil && ok
}

// expectNo fails when the page shows text (an error message).
func (t *tab) expectNo(text string) error {
	if t.has(text) {
		return fmt.Errorf("the page shows %q", text)
	}
	return nil
}

func (t *tab) localStorage(key string) string {
	v, _ := eval[string](t, "localStorage.getItem("+jsString(key)+") || ''")
	return v
}

// dialogSeen checks that the page opened a dialog (alert, confirm) whose
// message contains text.
func (t *tab) dialogSeen(text string) error {
	deadline := time.Now().Add(t.settleFor)
	for {
		t.rec.mu.Lock()
		ds := append([]string(nil), t.rec.cur.Dialogs...)
		t.rec.mu.Unlock()
		for _, d := range ds {
			if strings.Contains(d, text) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no dialog with %q (dialogs: %v)", text, ds)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// wait lets time pass (token lifetimes).
func (t *tab) wait(d time.Duration) { time.Sleep(d) }

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// login signs in through the client's real login page.
func (t *tab) login(a account) error {
	switch t.client {
	case "cryptotrace":
		if err := t.visit("/login/"); err != nil {
			return err
		}
		if err := t.set(`input[placeholder="Usuario"]`, a.email); err != nil {
			return err
		}
		if err := t.set(`input[type="password"]`, a.password); err != nil {
			return err
		}
		if err := t.clickIn("Iniciar Sesión", `button[type="submit"]`); err != nil {
			return err
		}
		return t.waitNotPath("/login/")
	case "hps":
		if err := t.visit("/login"); err != nil {
			return err
		}
		if err := t.set(`input[name="email"]`, a.email); err != nil {
			return err
		}
		if err := t.set(`input[name="password"]`, a.password); err != nil {
			return err
		}
		if err := t.clickIn("", `button[type="submit"]`); err != nil {
			return err
		}
		return t.waitNotPath("/login")
	}
	return errors.New("unknown client " + t.client)
}
