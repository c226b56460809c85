package filestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/thot-security/thot/internal/errs"
)

// newStore returns a Local on a fresh temporary directory, closed at cleanup.
func newStore(t *testing.T) *Local {
	t.Helper()
	s, err := NewLocal(filepath.Join(t.TempDir(), "files"))
	if err != nil {
		t.Fatalf("NewLocal: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// tinyPNG encodes a real 2x2 PNG.
func tinyPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.RGBA{R: 255, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatalf("png.Encode: %v", err)
	}
	return buf.Bytes()
}

func tinyPDF() []byte {
	return []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func put(t *testing.T, s *Local, name string, data []byte, opts PutOptions) (Object, error) {
	t.Helper()
	return s.Put(context.Background(), name, bytes.NewReader(data), opts)
}

func mustPut(t *testing.T, s *Local, name string, data []byte, opts PutOptions) Object {
	t.Helper()
	obj, err := put(t, s, name, data, opts)
	if err != nil {
		t.Fatalf("Put(%q): %v", name, err)
	}
	return obj
}

// wantKind fails unless err is a domain error of kind k.
func wantKind(t *testing.T, err error, k errs.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want kind %v", k)
	}
	if got := errs.KindOf(err); got != k {
		t.Fatalf("got kind %v (%v), want %v", got, err, k)
	}
}

// wantCode fails unless err is an *errs.Error with the given Code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Code != code {
		t.Fatalf("got %v, want code %q", err, code)
	}
}

// listFiles returns every non-directory entry under dir, relative, with "/".
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return out
}

func TestNewLocalCreatesPrivateRoot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s, err := NewLocal(dir)
	if err != nil {
		t.Fatalf("NewLocal: %v", err)
	}
	defer s.Close()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
		t.Errorf("root mode = %v, want 0700", fi.Mode().Perm())
	}
	if _, err := NewLocal(""); err == nil {
		t.Error("NewLocal(\"\") succeeded")
	}
}

func TestRoundTrip(t *testing.T) {
	s := newStore(t)
	tests := []struct {
		name     string
		data     []byte
		wantType string
	}{
		{"albaranes/2026/11/albaran_12_AC21.png", tinyPNG(t), "image/png"},
		{"informes/Informe_Ano_2026.pdf", tinyPDF(), "application/pdf"},
		{"top.txt", []byte("hola"), "text/plain; charset=utf-8"},
		{"empty.bin", nil, "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := mustPut(t, s, tt.name, tt.data, PutOptions{})
			want := Object{Name: tt.name, Size: int64(len(tt.data)), ContentType: tt.wantType, SHA256: sha(tt.data)}
			checkObj(t, "Put", obj, want)

			rc, got, err := s.Open(context.Background(), tt.name)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			body, err := io.ReadAll(rc)
			if cerr := rc.Close(); cerr != nil {
				t.Errorf("Close: %v", cerr)
			}
			if err != nil {
				t.Fatalf("ReadAll: %v", err)
			}
			if !bytes.Equal(body, tt.data) {
				t.Errorf("content = %q, want %q", body, tt.data)
			}
			checkObj(t, "Open", got, want)
			if _, ok := rc.(io.ReadSeeker); !ok {
				t.Error("Open reader is not an io.ReadSeeker")
			}

			st, err := s.Stat(context.Background(), tt.name)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			checkObj(t, "Stat", st, want)

			fi, err := os.Stat(filepath.Join(s.Dir(), filepath.FromSlash(tt.name)))
			if err != nil {
				t.Fatal(err)
			}
			if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
				t.Errorf("file mode = %v, want 0600", fi.Mode().Perm())
			}
		})
	}
}

func checkObj(t *testing.T, op string, got, want Object) {
	t.Helper()
	if got.ModTime.IsZero() {
		t.Errorf("%s: zero ModTime", op)
	}
	got.ModTime = want.ModTime
	if got != want {
		t.Errorf("%s: object = %+v, want %+v", op, got, want)
	}
}

func TestPutReplaces(t *testing.T) {
	s := newStore(t)
	mustPut(t, s, "a.pdf", tinyPDF(), PutOptions{})
	newer := append(tinyPDF(), "% v2\n"...)
	obj := mustPut(t, s, "a.pdf", newer, PutOptions{})
	if obj.SHA256 != sha(newer) {
		t.Errorf("sha = %s, want %s", obj.SHA256, sha(newer))
	}
	if files := listFiles(t, s.Dir()); len(files) != 1 || files[0] != "a.pdf" {
		t.Errorf("files = %v, want [a.pdf]", files)
	}
}

func TestInvalidNames(t *testing.T) {
	s := newStore(t)
	names := []string{
		"",
		".",
		"..",
		"../x",
		"/etc/passwd",
		"a/../../b",
		"a/./b",
		`a\b`,
		`..\..\x`,
		"a//b",
		"a/",
		"/",
		"a\x00b",
		"a\nb",
		"a\x7fb",
		".hidden",
		"a/.tmp-123",
		"con espacio.pdf",
		"año.pdf",
		"a:b",
		"a\xffb",
		strings.Repeat("a", maxSegmentLen+1),
		strings.Repeat("a/", maxNameLen/2) + "a",
	}
	ctx := context.Background()
	for _, name := range names {
		t.Run(fmt.Sprintf("%.40q", name), func(t *testing.T) {
			_, err := s.Put(ctx, name, strings.NewReader("x"), PutOptions{})
			wantKind(t, err, errs.KindInvalid)
			wantCode(t, err, CodeInvalidName)
			if e, _ := errs.As(err); len(e.Fields) == 0 {
				t.Errorf("Put error has no field detail: %v", err)
			}
			_, _, err = s.Open(ctx, name)
			wantKind(t, err, errs.KindInvalid)
			_, err = s.Stat(ctx, name)
			wantKind(t, err, errs.KindInvalid)
			wantKind(t, s.Delete(ctx, name), errs.KindInvalid)
		})
	}
	if files := listFiles(t, s.Dir()); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

func TestSymlinkEscape(t *testing.T) {
	s := newStore(t)
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.pdf")
	if err := os.WriteFile(secret, tinyPDF(), 0o600); err != nil {
		t.Fatal(err)
	}
	symlink(t, outside, filepath.Join(s.Dir(), "evil"))
	symlink(t, secret, filepath.Join(s.Dir(), "secret.pdf"))
	ctx := context.Background()

	t.Run("put through dir link", func(t *testing.T) {
		// Escapes are the operator's problem, not the client's: internal.
		_, err := put(t, s, "evil/x.pdf", tinyPDF(), PutOptions{})
		wantKind(t, err, errs.KindInternal)
		_, err = put(t, s, "evil/sub/x.pdf", tinyPDF(), PutOptions{})
		wantKind(t, err, errs.KindInternal)
	})
	t.Run("open through dir link", func(t *testing.T) {
		if _, _, err := s.Open(ctx, "evil/secret.pdf"); err == nil {
			t.Fatal("Open through an escaping symlink succeeded")
		}
		if _, err := s.Stat(ctx, "evil/secret.pdf"); err == nil {
			t.Fatal("Stat through an escaping symlink succeeded")
		}
	})
	t.Run("open file link", func(t *testing.T) {
		_, _, err := s.Open(ctx, "secret.pdf")
		wantKind(t, err, errs.KindInternal)
	})
	t.Run("delete through dir link", func(t *testing.T) {
		// Must not remove the target; an error or a no-op are both fine.
		_ = s.Delete(ctx, "evil/secret.pdf")
	})
	t.Run("put onto file link", func(t *testing.T) {
		// Put may replace the link itself but must never write the target.
		_, _ = put(t, s, "secret.pdf", []byte("overwritten"), PutOptions{})
	})

	got, err := os.ReadFile(secret)
	if err != nil {
		t.Fatalf("outside file gone: %v", err)
	}
	if !bytes.Equal(got, tinyPDF()) {
		t.Fatalf("outside file modified: %q", got)
	}
	entries, err := os.ReadDir(outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("outside dir has %d entries, want only secret.pdf", len(entries))
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
}

func TestSizeLimit(t *testing.T) {
	const limit = 1000
	pdf := func(n int) []byte {
		b := bytes.Repeat([]byte("x"), n)
		copy(b, "%PDF-1.4\n")
		return b
	}
	tests := []struct {
		name  string
		limit int64
		size  int
		ok    bool
	}{
		{"exactly limit", limit, limit, true},
		{"under limit", limit, limit - 1, true},
		{"limit plus one", limit, limit + 1, false},
		{"far over limit", limit, 10 * limit, false},
		{"limit below sniff length, ok", 100, 100, true},
		{"limit below sniff length, over", 100, 101, false},
		{"limit one", 1, 1, true},
		{"limit one, over", 1, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			data := pdf(tt.size)
			if tt.size < len("%PDF-1.4\n") {
				data = bytes.Repeat([]byte("x"), tt.size)
			}
			obj, err := put(t, s, "d/f.pdf", data, PutOptions{MaxBytes: tt.limit})
			files := listFiles(t, s.Dir())
			if tt.ok {
				if err != nil {
					t.Fatalf("Put: %v", err)
				}
				if obj.Size != int64(tt.size) {
					t.Errorf("size = %d, want %d", obj.Size, tt.size)
				}
				if len(files) != 1 || files[0] != "d/f.pdf" {
					t.Errorf("files = %v, want [d/f.pdf]", files)
				}
				return
			}
			wantKind(t, err, errs.KindInvalid)
			wantCode(t, err, CodeTooLarge)
			if len(files) != 0 {
				t.Errorf("files left after refused Put: %v", files)
			}
		})
	}
}

func TestDefaultSizeLimit(t *testing.T) {
	s := newStore(t)
	r := io.LimitReader(zeroReader{}, DefaultMaxBytes+1)
	_, err := s.Put(context.Background(), "big.bin", r, PutOptions{})
	wantCode(t, err, CodeTooLarge)
	if files := listFiles(t, s.Dir()); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestAllowedTypes(t *testing.T) {
	docs := []string{"application/pdf", "image/png", "image/jpeg"}
	tests := []struct {
		name    string
		data    []byte
		allowed []string
		ok      bool
	}{
		{"pdf allowed", tinyPDF(), docs, true},
		{"png allowed", tinyPNG(t), docs, true},
		{"html refused", []byte("<html><script>alert(1)</script></html>"), docs, false},
		{"text refused", []byte("just text"), docs, false},
		{"pdf named png still sniffed as pdf", tinyPDF(), []string{"image/png"}, false},
		{"wildcard", tinyPNG(t), []string{"image/*"}, true},
		{"wildcard refuses pdf", tinyPDF(), []string{"image/*"}, false},
		{"params ignored", []byte("plain"), []string{"Text/Plain"}, true},
		{"no list accepts anything", []byte("<html></html>"), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			_, err := put(t, s, "up/file.png", tt.data, PutOptions{AllowedTypes: tt.allowed})
			if tt.ok {
				if err != nil {
					t.Fatalf("Put: %v", err)
				}
				return
			}
			wantKind(t, err, errs.KindInvalid)
			wantCode(t, err, CodeTypeNotAllowed)
			if files := listFiles(t, s.Dir()); len(files) != 0 {
				t.Errorf("files left: %v", files)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	s := newStore(t)
	mustPut(t, s, "dir/a.pdf", tinyPDF(), PutOptions{})
	ctx := context.Background()
	for _, name := range []string{"missing.pdf", "dir/missing.pdf", "dir", "dir/a.pdf/x", "nodir/x"} {
		t.Run(name, func(t *testing.T) {
			_, _, err := s.Open(ctx, name)
			wantKind(t, err, errs.KindNotFound)
			_, err = s.Stat(ctx, name)
			wantKind(t, err, errs.KindNotFound)
		})
	}
}

func TestNameConflict(t *testing.T) {
	s := newStore(t)
	mustPut(t, s, "a/b.pdf", tinyPDF(), PutOptions{})
	for _, name := range []string{"a", "a/b.pdf/c.pdf"} {
		_, err := put(t, s, name, tinyPDF(), PutOptions{})
		wantKind(t, err, errs.KindConflict)
	}
	if files := listFiles(t, s.Dir()); len(files) != 1 {
		t.Errorf("files = %v, want only a/b.pdf", files)
	}
}

func TestDeleteIdempotent(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	mustPut(t, s, "x/y.pdf", tinyPDF(), PutOptions{})
	for i := range 3 {
		if err := s.Delete(ctx, "x/y.pdf"); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if _, err := s.Stat(ctx, "x/y.pdf"); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("Stat after Delete: %v, want not found", err)
	}
	for _, name := range []string{"never.pdf", "x", "nodir/y.pdf"} {
		if err := s.Delete(ctx, name); err != nil {
			t.Errorf("Delete(%q): %v", name, err)
		}
	}
}

func TestCancelledContext(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Put(ctx, "a.pdf", bytes.NewReader(tinyPDF()), PutOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Put: %v, want context.Canceled", err)
	}

	// Cancelled mid-stream: nothing may be left behind.
	ctx, cancel = context.WithCancel(context.Background())
	r := &cancelAfter{r: io.LimitReader(zeroReader{}, 1<<20), n: 64 << 10, cancel: cancel}
	if _, err := s.Put(ctx, "b.bin", r, PutOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Put mid-stream: %v, want context.Canceled", err)
	}
	if files := listFiles(t, s.Dir()); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

// cancelAfter calls cancel once n bytes have been read.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n -= n
	if c.n <= 0 {
		c.cancel()
	}
	return n, err
}

func TestReaderError(t *testing.T) {
	s := newStore(t)
	boom := errors.New("boom")
	r := io.MultiReader(bytes.NewReader(tinyPDF()), bytes.NewReader(make([]byte, 4096)), errReader{boom})
	_, err := s.Put(context.Background(), "a.pdf", r, PutOptions{})
	if !errors.Is(err, boom) {
		t.Errorf("Put: %v, want wrapped boom", err)
	}
	if files := listFiles(t, s.Dir()); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestConcurrentPuts(t *testing.T) {
	s := newStore(t)
	const n = 32
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("shared/%d/doc_%d.pdf", i%4, i)
			data := append(tinyPDF(), fmt.Sprintf("%% %d\n", i)...)
			obj, err := s.Put(context.Background(), name, bytes.NewReader(data), PutOptions{})
			if err != nil {
				errc <- fmt.Errorf("Put(%s): %w", name, err)
				return
			}
			if obj.SHA256 != sha(data) {
				errc <- fmt.Errorf("Put(%s): sha mismatch", name)
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if files := listFiles(t, s.Dir()); len(files) != n {
		t.Errorf("got %d files, want %d: %v", len(files), n, files)
	}
}

func TestSafeName(t *testing.T) {
	tests := []struct {
		parts []string
		want  string // "" means an error is expected
	}{
		{[]string{"Informe Año 2026.pdf"}, "Informe_Ano_2026.pdf"},
		{[]string{"adjuntos", "2026", "Informe Año 2026.pdf"}, "adjuntos/2026/Informe_Ano_2026.pdf"},
		{[]string{"../../x"}, "x"},
		{[]string{"..", "x"}, ""},
		{[]string{"a/../../b"}, "a....b"},
		{[]string{"Acta (firmada) - copia.pdf"}, "Acta_firmada-copia.pdf"},
		{[]string{`..\..\windows\system32`}, "windows_system32"},
		{[]string{"/etc/passwd"}, "etc_passwd"},
		{[]string{"Ñandú Cañón.JPG"}, "Nandu_Canon.JPG"},
		{[]string{"Straße Œuvre Łódź"}, "Strasse_OEuvre_Lodz"},
		{[]string{"1º Trimestre"}, "1o_Trimestre"},
		{[]string{".bashrc"}, "bashrc"},
		{[]string{"-rf"}, "rf"},
		{[]string{"a\x00b\nc"}, "a_b_c"},
		{[]string{"  spaced   out  "}, "spaced_out"},
		{[]string{"bad\xffutf8"}, "bad_utf8"},
		{[]string{"."}, ""},
		{[]string{"..."}, ""},
		{[]string{"日本語"}, ""},
		{[]string{""}, ""},
		{nil, ""},
		{[]string{strings.Repeat("a", 300) + ".pdf"}, strings.Repeat("a", safeNameMaxSegment-4) + ".pdf"},
		{[]string{strings.Repeat("b", 300)}, strings.Repeat("b", safeNameMaxSegment)},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.40q", tt.parts), func(t *testing.T) {
			got, err := SafeName(tt.parts...)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("SafeName = %q, want error", got)
				}
				wantKind(t, err, errs.KindInvalid)
				return
			}
			if err != nil {
				t.Fatalf("SafeName: %v", err)
			}
			if got != tt.want {
				t.Errorf("SafeName = %q, want %q", got, tt.want)
			}
			if err := ValidName(got); err != nil {
				t.Errorf("SafeName result %q is not a valid name: %v", got, err)
			}
		})
	}
}

// TestSafeNameUsable checks that SafeName output always works with Put.
func TestSafeNameUsable(t *testing.T) {
	s := newStore(t)
	name, err := SafeName("albaranes", "2026", "11", "albarán nº 12 (AC21).png")
	if err != nil {
		t.Fatal(err)
	}
	if name != "albaranes/2026/11/albaran_no_12_AC21.png" {
		t.Errorf("name = %q", name)
	}
	mustPut(t, s, name, tinyPNG(t), PutOptions{AllowedTypes: []string{"image/png"}})
}
