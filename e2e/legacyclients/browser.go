package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// browser is one headless Chromium; each session is a tab in its own
// browser context (separate localStorage and cookies).
type browser struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func newBrowser(parent context.Context, execPath, profile string, headful bool) (*browser, error) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(execPath), chromedp.UserDataDir(profile),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1440, 1000),
	}
	if headful {
		opts = append(opts, chromedp.VisibleWindow)
	} else {
		opts = append(opts, chromedp.Headless)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		return nil, fmt.Errorf("starting %s: %w", execPath, err)
	}
	return &browser{ctx: ctx, cancel: func() { cancel(); cancelAlloc() }}, nil
}

func (b *browser) close() { b.cancel() }

// session is a tab logged in (or not) to one client.
type session struct {
	ctx    context.Context
	cancel context.CancelFunc
	client string
	base   string
	rec    *recorder
}

func (b *browser) newSession(client, base string, ep endpoints) (*session, error) {
	rec := newRecorder(ep)
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(rec.onEvent))
	rec.tab = ctx
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		return nil, err
	}
	go rec.readConsole(ctx)
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: instrumentJS}); err != nil {
		cancel()
		return nil, err
	}
	return &session{ctx: ctx, cancel: cancel, client: client, base: base, rec: rec}, nil
}

// endpoints tells the recorder which requests go to thot.
type endpoints struct {
	thot, ocr string   // origins
	proxied   []string // frontend origins that proxy /api/ to thot
}

func (e endpoints) label(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "other"
	}
	origin := u.Scheme + "://" + u.Host
	switch {
	case origin == e.thot || origin == strings.Replace(e.thot, "http", "ws", 1):
		return "thot"
	case origin == e.ocr:
		return "ocr-stub"
	}
	for _, p := range e.proxied {
		if origin == p && strings.HasPrefix(u.Path, "/api/") {
			return "thot"
		}
	}
	return "frontend"
}

// httpFailure is a request answered with a status >= 400.
type httpFailure struct {
	Target string `json:"target"` // thot, frontend, ocr-stub
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int64  `json:"status"`
	Body   string `json:"body,omitempty"`
}

func (f httpFailure) String() string {
	s := fmt.Sprintf("%d %s %s", f.Status, f.Method, f.Path)
	if f.Target != "thot" {
		s += " (" + f.Target + ")"
	}
	if f.Body != "" {
		s += " → " + truncate(strings.Join(strings.Fields(f.Body), " "), 200)
	}
	return s
}

// record is what a tab did during one check.
type record struct {
	HTTP       []httpFailure
	Network    []string
	Console    []string
	Exceptions []string
	Dialogs    []string
	Toasts     []string
	Requests   map[string]int // "METHOD path" of API calls → count
	Calls      []*apiCall     // API calls to thot, in the order made
}

// apiCall is one API call to thot. The session checks follow the
// client's token refreshes through them.
type apiCall struct {
	Method, Path string
	Status       int64 // 0 while unanswered, or when the request failed
	// Refresh is the refresh token a POST /api/token/refresh/ sent.
	Refresh string
}

const refreshPath = "/api/token/refresh/"

type reqInfo struct {
	loader      cdp.LoaderID
	method, url string
	typ         network.ResourceType
	status      int64
	call        *apiCall
}

// recorder keeps the events of one tab. onEvent runs in the tab's event
// loop, so it only records; commands (response bodies, dialogs) run in
// goroutines.
type recorder struct {
	ep       endpoints
	tab      context.Context
	mu       sync.Mutex
	reqs     map[network.RequestID]*reqInfo
	inflight map[network.RequestID]time.Time
	last     time.Time
	cur      *record
	bodies   sync.WaitGroup
}

func newRecorder(ep endpoints) *recorder {
	return &recorder{ep: ep, reqs: map[network.RequestID]*reqInfo{}, inflight: map[network.RequestID]time.Time{}, cur: newRecord()}
}

func newRecord() *record { return &record{Requests: map[string]int{}} }

// take returns what was recorded since the last take, after the response
// bodies being read arrived (at most 3 s).
func (r *recorder) take() *record {
	done := make(chan struct{})
	go func() { r.bodies.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.cur
	r.cur = newRecord()
	return rec
}

// idle reports whether no API or page request has been in flight for d.
// A request pending for more than a minute does not count (a page may
// hold one open).
func (r *recorder) idle(d time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, since := range r.inflight {
		if time.Since(since) < time.Minute {
			return false
		}
	}
	return time.Since(r.last) >= d
}

// pending lists the requests in flight.
func (r *recorder) pending() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for id := range r.inflight {
		if ri := r.reqs[id]; ri != nil {
			out = append(out, ri.method+" "+pathOf(ri.url))
		}
	}
	return out
}

func tracked(t network.ResourceType) bool {
	return t == network.ResourceTypeXHR || t == network.ResourceTypeFetch || t == network.ResourceTypeDocument
}

func (r *recorder) onEvent(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		r.last = time.Now()
		if ev.RedirectResponse != nil {
			if ri := r.reqs[ev.RequestID]; ri != nil && ev.RedirectResponse.Status >= 400 {
				r.cur.HTTP = append(r.cur.HTTP, r.failure(ri, ev.RedirectResponse.Status, ""))
			}
		}
		ri := &reqInfo{loader: ev.LoaderID, method: ev.Request.Method, url: ev.Request.URL, typ: ev.Type}
		r.reqs[ev.RequestID] = ri
		if tracked(ev.Type) && !ignoredURL(ri.url) {
			r.inflight[ev.RequestID] = time.Now()
		}
		if ev.Type == network.ResourceTypeXHR || ev.Type == network.ResourceTypeFetch {
			r.cur.Requests[ri.method+" "+pathOf(ri.url)]++
			if r.ep.label(ri.url) == "thot" {
				ri.call = &apiCall{Method: ri.method, Path: pathOf(ri.url)}
				r.cur.Calls = append(r.cur.Calls, ri.call)
				if ri.method == "POST" && strings.HasSuffix(urlPath(ri.url), refreshPath) {
					r.readRefresh(ev.RequestID, ev.Request, ri.call)
				}
			}
		}
	case *network.EventResponseReceived:
		if ri := r.reqs[ev.RequestID]; ri != nil {
			ri.status = ev.Response.Status
			if ri.call != nil {
				ri.call.Status = ev.Response.Status
			}
		}
	case *network.EventLoadingFinished:
		r.last = time.Now()
		delete(r.inflight, ev.RequestID)
		ri := r.reqs[ev.RequestID]
		delete(r.reqs, ev.RequestID)
		if ri != nil && ri.status >= 400 && !ignoredURL(ri.url) {
			r.bodies.Add(1)
			go r.readBody(ev.RequestID, ri)
		}
	case *network.EventLoadingFailed:
		r.last = time.Now()
		delete(r.inflight, ev.RequestID)
		ri := r.reqs[ev.RequestID]
		delete(r.reqs, ev.RequestID)
		if ri == nil || ev.Canceled || ev.ErrorText == "net::ERR_ABORTED" || ignoredURL(ri.url) {
			return
		}
		msg := fmt.Sprintf("%s %s (%s): %s", ri.method, pathOf(ri.url), r.ep.label(ri.url), ev.ErrorText)
		if ev.BlockedReason != "" {
			msg += ", blocked: " + string(ev.BlockedReason)
		}
		if ev.CorsErrorStatus != nil {
			msg += ", CORS: " + string(ev.CorsErrorStatus.CorsError)
		}
		r.cur.Network = append(r.cur.Network, msg)
	case *network.EventWebSocketCreated:
		r.reqs[ev.RequestID] = &reqInfo{method: "WS", url: ev.URL}
	case *network.EventWebSocketHandshakeResponseReceived:
		if ri := r.reqs[ev.RequestID]; ri != nil && ev.Response.Status >= 400 {
			r.cur.HTTP = append(r.cur.HTTP, r.failure(ri, ev.Response.Status, ev.Response.StatusText))
		}
	case *page.EventFrameNavigated:
		// A new document in the tab: the old one's requests end silently.
		if ev.Frame.ParentID == "" {
			for id := range r.inflight {
				if ri := r.reqs[id]; ri == nil || ri.loader != ev.Frame.LoaderID {
					delete(r.inflight, id)
				}
			}
		}
	case *page.EventJavascriptDialogOpening:
		r.cur.Dialogs = append(r.cur.Dialogs, string(ev.Type)+": "+ev.Message)
		// The page is blocked until the dialog is closed: accept it (the
		// flows confirm what they start), from outside the event loop.
		go chromedp.Call(r.tab, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true, PromptText: ev.DefaultPrompt}) //nolint:errcheck
	}
}

// ignoredURL are requests that say nothing about thot or the pages: the
// favicon, and anything outside this machine (the legacy pages load web
// fonts from Google; the harness has no internet).
func ignoredURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	h := u.Hostname()
	local := h == "localhost" || h == "127.0.0.1" || h == "::1" || u.Scheme == "data" || u.Scheme == "blob"
	return !local || u.Path == "/favicon.ico"
}

// readRefresh records the refresh token a token refresh sends: from the
// request event when it carries the body, else asked for (outside the
// event loop).
func (r *recorder) readRefresh(id network.RequestID, req *network.Request, c *apiCall) {
	var body []byte
	for _, e := range req.PostDataEntries {
		body = append(body, e.Bytes...)
	}
	if len(body) > 0 || !req.HasPostData {
		c.Refresh = refreshOf(body)
		return
	}
	r.bodies.Add(1)
	go func() {
		defer r.bodies.Done()
		ctx, cancel := context.WithTimeout(r.tab, 3*time.Second)
		defer cancel()
		res, err := chromedp.Call(ctx, network.GetRequestPostData, network.GetRequestPostDataParams{RequestID: id})
		if err != nil {
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		c.Refresh = refreshOf(res.PostData) // decoded by cdproto
	}()
}

// refreshOf is the "refresh" field of a token refresh's JSON body.
func refreshOf(body []byte) string {
	var b struct {
		Refresh string `json:"refresh"`
	}
	if json.Unmarshal(body, &b) != nil {
		return ""
	}
	return b.Refresh
}

// calls is a copy of the API calls to thot recorded so far in this
// check, once the bodies being read arrived.
func (r *recorder) calls() []apiCall {
	done := make(chan struct{})
	go func() { r.bodies.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]apiCall, len(r.cur.Calls))
	for i, c := range r.cur.Calls {
		out[i] = *c
	}
	return out
}

func (r *recorder) failure(ri *reqInfo, status int64, body string) httpFailure {
	return httpFailure{Target: r.ep.label(ri.url), Method: ri.method, Path: pathOf(ri.url), Status: status, Body: body}
}

func (r *recorder) readBody(id network.RequestID, ri *reqInfo) {
	defer r.bodies.Done()
	ctx, cancel := context.WithTimeout(r.tab, 3*time.Second)
	defer cancel()
	body := ""
	if res, err := chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: id}); err == nil {
		body = string(res.Body)
		if res.Base64encoded {
			if b, err := base64.StdEncoding.DecodeString(body); err == nil {
				body = string(b)
			}
		}
		if strings.Contains(body, "<html") || strings.Contains(body, "<!DOCTYPE") {
			body = "(HTML page)"
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cur.HTTP = append(r.cur.HTTP, r.failure(ri, ri.status, truncate(body, 600)))
}

// readConsole records console errors, uncaught exceptions and the toasts
// the instrumentation script reports, until the tab ends.
func (r *recorder) readConsole(ctx context.Context) {
	for m, err := range chromedp.Console(ctx) {
		if err != nil {
			return
		}
		text := strings.TrimSpace(m.Text)
		r.mu.Lock()
		switch {
		case m.IsException():
			r.cur.Exceptions = append(r.cur.Exceptions, firstLines(text, 2))
		case m.Type == chromedp.ConsoleDebug && strings.HasPrefix(text, toastPrefix):
			r.cur.Toasts = append(r.cur.Toasts, strings.TrimPrefix(text, toastPrefix))
		case m.Type == chromedp.ConsoleError:
			// The browser's own "Failed to load resource" lines repeat
			// the failed requests, which are recorded with their bodies.
			if m.Source != "network" && !strings.HasPrefix(text, "Failed to load resource") {
				r.cur.Console = append(r.cur.Console, firstLines(text, 3))
			}
		}
		r.mu.Unlock()
	}
}

// urlPath is the path of a URL, without its query.
func urlPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Path
}

func pathOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	if u.RawQuery != "" {
		return u.Path + "?" + u.RawQuery
	}
	return u.Path
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return truncate(strings.Join(lines, " | "), 400)
}

const toastPrefix = "__harness_toast:"

// instrumentJS runs before the page's own scripts in every document. It
// reports toasts (sonner, used by cryptotrace) through the console so that
// they survive navigations, and gives the flows small helpers that act the
// way a user does: find a visible control by its text, set a field so that
// React sees the change, read the page's state.
const instrumentJS = `(() => {
  if (window.__h) return;
  const norm = s => (s || '').replace(/\s+/g, ' ').trim();
  const visible = el => {
    if (!el || !el.getClientRects().length) return false;
    const s = getComputedStyle(el);
    return s.visibility !== 'hidden' && s.display !== 'none';
  };
  const seen = new Set();
  const toastErrors = [];
  const scanToasts = () => {
    for (const t of document.querySelectorAll('[data-sonner-toast]')) {
      const type = t.getAttribute('data-type') || '';
      const text = norm(t.innerText);
      if (text && !seen.has(type + '|' + text)) {
        seen.add(type + '|' + text);
        if (type === 'error') toastErrors.push(text);
        console.debug('` + toastPrefix + `' + type + ':' + text);
      }
    }
  };
  // Texts a flow waits for, remembered when they appear even briefly (a
  // message shown for a second before the page moves on).
  const watched = new Map();
  const scanWatched = () => {
    if (!watched.size || !document.body) return;
    const text = document.body.innerText;
    for (const [k, v] of watched) if (!v && text.includes(k)) watched.set(k, true);
  };
  new MutationObserver(() => { scanToasts(); scanWatched(); }).observe(document, {subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['data-type', 'class', 'style']});
  const clickable = 'button, a, [role=button], [role=tab], [role=menuitem], [role=option], label, input[type=submit], input[type=button]';
  const first = sel => { const all = [...document.querySelectorAll(sel)]; return all.find(visible) || all[0]; };
  const setEl = (el, value) => {
    const proto = el instanceof HTMLSelectElement ? HTMLSelectElement.prototype :
      el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
    if (el instanceof HTMLSelectElement && ![...el.options].some(o => o.value === value)) return 'no option ' + value;
    Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, value);
    el.dispatchEvent(new Event('input', {bubbles: true}));
    el.dispatchEvent(new Event('change', {bubbles: true}));
    // A controlled select may show its old value until its handler's
    // request answers; an input must keep what was typed.
    return el instanceof HTMLSelectElement || el.value === value ? '' : 'value not taken (' + el.value + ')';
  };
  const press = el => {
    if (!el) return 'not found';
    if (el.disabled) return 'disabled';
    el.scrollIntoView({block: 'center'});
    el.click();
    return '';
  };
  window.__h = {
    find(text, sel) {
      const els = [...document.querySelectorAll(sel || clickable)].filter(visible);
      const label = e => norm(e.innerText || e.value || '');
      return els.find(e => label(e) === text) || els.find(e => label(e).includes(text)) ||
        els.find(e => e.getAttribute('title') === text || e.getAttribute('aria-label') === text);
    },
    click(text, sel) { return press(text ? this.find(text, sel) : first(sel)); },
    set(sel, value) { const el = first(sel); return el ? setEl(el, value) : 'not found'; },
    selectText(sel, text) {
      const el = first(sel);
      if (!el) return 'not found';
      const o = [...el.options].find(o => norm(o.text) === text);
      return o ? setEl(el, o.value) : 'no option ' + text;
    },
    row(rowSel, text) { return [...document.querySelectorAll(rowSel)].filter(visible).find(r => norm(r.innerText).includes(text)); },
    setInRow(rowSel, text, sel, value) {
      const r = this.row(rowSel, text);
      const el = r && r.querySelector(sel);
      return el ? setEl(el, value) : 'not found in the row of ' + text;
    },
    clickInRow(rowSel, text, sel, i) {
      const r = this.row(rowSel, text);
      return press(r && [...r.querySelectorAll(sel)].filter(visible)[i]);
    },
    watch(list) { toastErrors.length = 0; for (const k of list) watched.set(k, false); scanWatched(); },
    seen() { scanWatched(); return [...watched].filter(([, v]) => v).map(([k]) => k); },
    toastErrors() { scanToasts(); return toastErrors.slice(); },
    count(sel) { return [...document.querySelectorAll(sel)].filter(visible).length; },
    has(text) { return (document.body ? document.body.innerText : '').includes(text); },
    state() {
      const text = document.body ? document.body.innerText : '';
      const loading = /(Cargando[^\n]{0,40}|Verificando (sesión|permisos)[^\n]{0,5}|Procesando\.\.\.|Guardando\.\.\.|Subiendo archivo\.\.\.|Iniciando sesión\.\.\.|Cambiando\.\.\.)/.exec(text);
      return {
        path: location.pathname + location.search,
        text: text.slice(0, 3000),
        len: norm(text).length,
        loading: loading ? loading[0] : '',
        spinners: [...document.querySelectorAll('.animate-spin')].filter(visible).length,
        media: [...document.querySelectorAll('img, canvas, svg, iframe, embed, object')].filter(visible).length,
      };
    },
  };
})();`
