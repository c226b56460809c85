package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// checkout is the legacy repository on disk.
type checkout struct {
	root, commit string
}

const (
	cryptotraceDir = "cryptotrace/cryptotrace-frontend"
	hpsDir         = "hps-system/frontend"
)

// missingFromTree are files the cryptotrace frontend imports that the
// legacy tree lacks (the root .gitignore ignores lib/); README.md says
// where to get them.
var missingFromTree = []string{"src/lib/api.ts", "src/lib/types.ts", "src/lib/utils.ts"}

func openCheckout(root string) (*checkout, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{cryptotraceDir, hpsDir} {
		if _, err := os.Stat(filepath.Join(root, d, "package.json")); err != nil {
			return nil, fmt.Errorf("%s is not a checkout of the legacy repository (branch development): %s/package.json missing", root, d)
		}
	}
	var missing []string
	for _, f := range missingFromTree {
		if _, err := os.Stat(filepath.Join(root, cryptotraceDir, f)); err != nil {
			missing = append(missing, filepath.Join(cryptotraceDir, f))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the checkout lacks %s (ignored by the legacy .gitignore): add them as README.md explains", strings.Join(missing, ", "))
	}
	co := &checkout{root: root}
	if out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output(); err == nil {
		co.commit = strings.TrimSpace(string(out))
	}
	return co, nil
}

// frontend is one legacy client and the variables its build bakes in.
type frontend struct {
	name   string
	subdir string
	env    []string
}

func frontends(p ports) []frontend {
	return []frontend{
		{name: "cryptotrace", subdir: cryptotraceDir, env: []string{
			// lib/api.ts and the pages read these at build time.
			"NEXT_PUBLIC_API_URL=" + p.thotURL() + "/api",
			// thot serves the processing service under /processing, as
			// the production nginx did; OCR (OpenAI) is a harness stub.
			"NEXT_PUBLIC_PROCESSING_URL=" + p.thotURL() + "/processing",
			"NEXT_PUBLIC_OCR_URL=" + p.ocrURL(),
			"NEXT_PUBLIC_HPS_SYSTEM_URL=" + p.hpsURL(),
			"NEXT_TELEMETRY_DISABLED=1",
		}},
		{name: "hps", subdir: hpsDir, env: []string{
			// config/api.js: the base URL without /api.
			"REACT_APP_API_URL=" + p.thotURL(),
			"REACT_APP_WS_URL=ws://localhost:" + strconv.Itoa(p.thot),
			"REACT_APP_AGENTE_IA_WS_URL=ws://localhost:" + strconv.Itoa(p.thot),
			"REACT_APP_CRYPTOTRACE_URL=" + p.cryptotraceURL(),
			"GENERATE_SOURCEMAP=false",
			"DISABLE_ESLINT_PLUGIN=true",
		}},
	}
}

// fontsMock answers next/font/google's requests without the network
// (NEXT_FONT_GOOGLE_MOCKED_RESPONSES, the variable Next.js's own tests
// use): any stylesheet URL gets a one-face @font-face.
const fontsMock = `module.exports = new Proxy({}, {
  get(_, url) {
    if (typeof url !== 'string') return undefined;
    const m = /family=([^:&]+)/.exec(url);
    const family = m ? decodeURIComponent(m[1]).replace(/\+/g, ' ') : 'Mock';
    return "@font-face {\n  font-family: '" + family + "';\n  font-style: normal;\n  font-weight: 400;\n" +
      "  src: url(https://fonts.gstatic.com/s/mock/" + encodeURIComponent(family) + ".woff2) format('woff2');\n}\n";
  },
});
`

func appDir(workDir, name string) string { return filepath.Join(workDir, "frontends", name) }

// buildFrontend copies the client's tree into the work directory, installs
// its locked dependencies and builds it, unless the same sources were
// already built with the same variables.
func buildFrontend(ctx context.Context, co *checkout, fe frontend, workDir, logDir string) error {
	src := filepath.Join(co.root, fe.subdir)
	dst := appDir(workDir, fe.name)
	mock := filepath.Join(workDir, "next-fonts-mock.js")
	if err := os.WriteFile(mock, []byte(fontsMock), 0o644); err != nil {
		return err
	}
	env := append(append([]string(nil), fe.env...), "NEXT_FONT_GOOGLE_MOCKED_RESPONSES="+mock, "CI=")
	key, err := treeHash(src, env)
	if err != nil {
		return err
	}
	stamp := filepath.Join(dst, ".harness-build")
	if b, err := os.ReadFile(stamp); err == nil && string(b) == key {
		slog.Info("frontend build is current", "client", fe.name)
		return nil
	}
	if err := syncTree(src, dst); err != nil {
		return err
	}
	lockKey, err := treeHash(src, nil, "package.json", "package-lock.json")
	if err != nil {
		return err
	}
	lockStamp := filepath.Join(dst, "node_modules", ".harness-lock")
	if b, err := os.ReadFile(lockStamp); err != nil || string(b) != lockKey {
		slog.Info("npm ci", "client", fe.name)
		if err := runCmd(ctx, logDir, "npm-ci-"+fe.name, dst, nil, "npm", "ci", "--no-audit", "--no-fund"); err != nil {
			return err
		}
		if err := os.WriteFile(lockStamp, []byte(lockKey), 0o644); err != nil {
			return err
		}
	}
	slog.Info("npm run build", "client", fe.name)
	start := time.Now()
	if err := runCmd(ctx, logDir, "build-"+fe.name, dst, env, "npm", "run", "build"); err != nil {
		return err
	}
	slog.Info("built", "client", fe.name, "took", time.Since(start).Round(time.Second))
	return os.WriteFile(stamp, []byte(key), 0o644)
}

// skipDir are directories never copied or hashed.
func skipDir(name string) bool {
	return name == "node_modules" || name == ".next" || name == "build" || name == ".git"
}

// treeHash hashes the files under dir (only the named ones when given)
// and the extra strings.
func treeHash(dir string, extra []string, only ...string) (string, error) {
	h := sha256.New()
	var files []string
	if len(only) > 0 {
		files = only
	} else {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && p != dir && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			if d.Type().IsRegular() {
				rel, _ := filepath.Rel(dir, p)
				files = append(files, rel)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	sort.Strings(files)
	for _, rel := range files {
		f, err := os.Open(filepath.Join(dir, rel))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00", rel)
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	for _, e := range extra {
		fmt.Fprintf(h, "%s\x00", e)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// syncTree makes dst a copy of src, keeping dst's node_modules (the
// installed dependencies are reused when the lock file did not change).
func syncTree(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(dst)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() != "node_modules" {
			if err := os.RemoveAll(filepath.Join(dst, e.Name())); err != nil {
				return err
			}
		}
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			if p != src && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(p, target)
		}
		return nil
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// startFrontends serves both builds: cryptotrace with `next start` (its
// Dockerfile's command without the standalone copy), hps as static files
// with the SPA fallback and /api proxied to thot, as its nginx did.
func startFrontends(ctx context.Context, g *procGroup, workDir string, p ports) error {
	for _, port := range []int{p.cryptotrace, p.hps} {
		if err := portFree(fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
			return err
		}
	}
	ct := appDir(workDir, "cryptotrace")
	next, err := g.start("cryptotrace", ct, []string{"NEXT_TELEMETRY_DISABLED=1"},
		filepath.Join(ct, "node_modules", ".bin", "next"), "start", "-p", strconv.Itoa(p.cryptotrace), "-H", "127.0.0.1")
	if err != nil {
		return err
	}
	if err := serveSPA(filepath.Join(appDir(workDir, "hps"), "build"), fmt.Sprintf("127.0.0.1:%d", p.hps), p.thotURL()); err != nil {
		return err
	}
	return waitHTTP(ctx, next, p.cryptotraceURL()+"/login/", time.Minute)
}

// serveSPA serves a single-page build: existing files as they are, any
// other path as index.html, /api/ proxied to the backend.
func serveSPA(root, addr, backend string) error {
	if _, err := os.Stat(filepath.Join(root, "index.html")); err != nil {
		return fmt.Errorf("no build in %s: %w", root, err)
	}
	target, err := url.Parse(backend)
	if err != nil {
		return err
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	files := http.FileServer(http.Dir(root))
	mux := http.NewServeMux()
	mux.Handle("/api/", proxy)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		clean := filepath.Join(root, filepath.FromSlash(filepath.Clean("/"+r.URL.Path)))
		if st, err := os.Stat(clean); err != nil || st.IsDir() {
			http.ServeFile(w, r, filepath.Join(root, "index.html"))
			return
		}
		files.ServeHTTP(w, r)
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("hps static server: %w", err)
		}
	case <-time.After(200 * time.Millisecond):
	}
	return nil
}
