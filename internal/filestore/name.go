package filestore

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// safeNameMaxSegment bounds each piece SafeName produces. It is well below
// maxSegmentLen so callers can add prefixes ("albaran_12_" + name) and still
// pass ValidName.
const safeNameMaxSegment = 120

// ValidName reports, as a KindInvalid *errs.Error, why name is not an
// acceptable object name, or nil if it is. See the package doc for the rules.
// Every Store method calls it; it is exported so callers can validate names
// they build before doing other work.
func ValidName(name string) error {
	bad := func(msg string) error {
		return fileError(CodeInvalidName, msg, fmt.Errorf("filestore: invalid name %q", name))
	}
	// The specific checks come first so the message names the actual
	// problem; the alphabet check at the end catches everything else.
	switch {
	case name == "":
		return bad("The file name is empty.")
	case len(name) > maxNameLen:
		return bad(fmt.Sprintf("The file name is longer than %d bytes.", maxNameLen))
	case !utf8.ValidString(name):
		return bad("The file name is not valid UTF-8.")
	case strings.ContainsFunc(name, unicode.IsControl):
		return bad("The file name contains control characters.")
	case strings.Contains(name, `\`):
		return bad("The file name contains a backslash.")
	case strings.HasPrefix(name, "/"):
		return bad("The file name must be relative.")
	}
	for seg := range strings.SplitSeq(name, "/") {
		switch {
		case seg == "":
			return bad("The file name contains an empty path segment.")
		case seg == "." || seg == "..":
			return bad(`The file name contains a "." or ".." segment.`)
		case strings.HasPrefix(seg, "."):
			return bad(`A file name segment may not start with ".".`)
		case len(seg) > maxSegmentLen:
			return bad(fmt.Sprintf("A file name segment is longer than %d bytes.", maxSegmentLen))
		}
		for _, r := range seg {
			if !safeRune(r) {
				return bad("The file name may contain only letters A-Z, digits, '.', '_', '-' and '/'.")
			}
		}
	}
	// Belt and braces: the rules above already imply IsLocal on Unix, but
	// on Windows IsLocal also rejects reserved names such as "NUL" or "COM1".
	if !filepath.IsLocal(filepath.FromSlash(name)) {
		return bad("The file name is not a local relative path.")
	}
	return nil
}

// safeRune is the object-name alphabet (besides the "/" separator).
func safeRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '.' || r == '_' || r == '-'
}

// transliterations covers letters that Unicode does not decompose into an
// ASCII base plus accents, so NFD alone would turn them into "_".
var transliterations = map[rune]string{
	'ß': "ss", 'ẞ': "SS",
	'æ': "ae", 'Æ': "AE",
	'œ': "oe", 'Œ': "OE",
	'ø': "o", 'Ø': "O",
	'đ': "d", 'Đ': "D",
	'ð': "d", 'Ð': "D",
	'ł': "l", 'Ł': "L",
	'þ': "th", 'Þ': "TH",
	'ı': "i",
	'º': "o", 'ª': "a", // Spanish ordinals: "1º" -> "1o"
}

// SafeName builds an object name from untrusted pieces, one path segment per
// piece: SafeName("adjuntos", "2026", "Informe Año 2026.pdf") returns
// "adjuntos/2026/Informe_Ano_2026.pdf".
//
// Each piece is reduced to [A-Za-z0-9._-]: accents are stripped (á->a,
// ñ->n), a few letters are transliterated (ß->ss), anything else (spaces,
// "/", "\", control characters) becomes "_", runs of "_" collapse, an "_"
// next to "." or "-" is dropped, and leading/trailing ".", "_" and "-" are
// trimmed, so a piece can never become "." or "..", a hidden file, or
// something that looks like a command-line option. Long pieces are
// shortened, keeping a short extension. A piece left empty (e.g. "..." or
// "日本語") is an error, as is no piece at all: callers should fall back to a
// name of their own rather than get a surprising one.
func SafeName(parts ...string) (string, error) {
	if len(parts) == 0 {
		return "", fileError(CodeInvalidName, "The file name is empty.", nil)
	}
	segs := make([]string, len(parts))
	for i, p := range parts {
		s := slug(p)
		if s == "" {
			return "", fileError(CodeInvalidName, "The file name contains no usable characters.",
				fmt.Errorf("filestore: piece %q slugs to nothing", p))
		}
		segs[i] = s
	}
	name := strings.Join(segs, "/")
	if err := ValidName(name); err != nil {
		return "", err
	}
	return name, nil
}

// slug reduces one piece to the name alphabet; see SafeName.
func slug(s string) string {
	var b strings.Builder
	lastUnderscore := false
	put := func(r rune) {
		if r == '_' {
			if lastUnderscore {
				return
			}
			lastUnderscore = true
		} else {
			lastUnderscore = false
		}
		b.WriteRune(r)
	}
	// NFD splits "á" into "a" + U+0301; dropping the combining marks (Mn)
	// leaves the ASCII base letter.
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case safeRune(r):
			put(r)
		default:
			if t, ok := transliterations[r]; ok {
				for _, tr := range t {
					put(tr)
				}
			} else {
				put('_')
			}
		}
	}
	// "(AC21).png" would otherwise end as "_AC21_.png": drop an "_" next to
	// another separator.
	out := b.String()
	for {
		next := tidySep.Replace(out)
		if next == out {
			break
		}
		out = next
	}
	out = trimSep(out)
	if len(out) > safeNameMaxSegment {
		out = shorten(out, safeNameMaxSegment)
	}
	return out
}

var tidySep = strings.NewReplacer("_.", ".", "._", ".", "_-", "-", "-_", "-")

// trimSep trims the characters that must not start or end a segment.
func trimSep(s string) string {
	return strings.Trim(s, "._-")
}

// shorten cuts s (ASCII only) to at most n bytes, keeping a short extension
// such as ".pdf" so the stored file still says what it is.
func shorten(s string, n int) string {
	ext := path.Ext(s)
	if len(ext) > 1 && len(ext) <= 16 && len(ext) < n {
		if base := trimSep(s[:n-len(ext)]); base != "" {
			return base + ext
		}
	}
	return trimSep(s[:n])
}
