package filestore

import (
	"context"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/thot-security/thot/internal/errs"
)

// Object describes a stored file.
type Object struct {
	// Name is the store-relative name, e.g. "albaranes/2026/11/a.png".
	Name string
	// Size is the length in bytes.
	Size int64
	// ContentType is sniffed from the content (net/http.DetectContentType),
	// e.g. "application/pdf" or "text/plain; charset=utf-8".
	ContentType string
	// SHA256 is the lowercase hex SHA-256 of the content; usable as an ETag
	// or to detect duplicates.
	SHA256 string
	// ModTime is when the object was last written.
	ModTime time.Time
}

// PutOptions limits what Put accepts.
type PutOptions struct {
	// MaxBytes is the largest accepted size. Zero or negative means
	// DefaultMaxBytes: there is always a limit, so a forgotten option cannot
	// let a client fill the disk.
	MaxBytes int64
	// AllowedTypes lists accepted media types, e.g. "application/pdf",
	// "image/png", "image/jpeg", or a wildcard like "image/*". Parameters
	// (such as "; charset=utf-8") are ignored when comparing. Empty means
	// any type is accepted.
	AllowedTypes []string
}

// DefaultMaxBytes is the size limit used when PutOptions.MaxBytes is not set.
const DefaultMaxBytes int64 = 20 << 20

// Machine-readable codes set on the *errs.Error values Put returns, so a
// client can react (e.g. show a size hint) without parsing the message.
const (
	CodeInvalidName    = "invalid_file_name"
	CodeTooLarge       = "file_too_large"
	CodeTypeNotAllowed = "file_type_not_allowed"
	CodeNameConflict   = "file_name_conflict"
)

const (
	// errField is the field validation errors are attributed to; upload
	// handlers name their multipart part "file".
	errField = "file"
	// sniffLen is how many bytes net/http.DetectContentType looks at.
	sniffLen = 512
	// maxNameLen and maxSegmentLen keep names within common filesystem
	// limits (PATH_MAX is larger; NAME_MAX is 255 bytes).
	maxNameLen    = 1024
	maxSegmentLen = 255
	// tempPrefix starts with "." so no valid name can collide with a
	// temporary file.
	tempPrefix          = ".tmp-"
	filePerm            = 0o600
	dirPerm             = 0o700
	maxTempNameAttempts = 5
)

// Store keeps objects under safe relative names. Implementations are safe for
// concurrent use. All errors that are the client's fault are *errs.Error of
// KindInvalid (or KindNotFound / KindConflict); anything else is internal.
type Store interface {
	// Put stores the content of r under name, replacing any existing object
	// atomically: readers see either the old or the new content, never a
	// mix. It refuses invalid names, content over opts.MaxBytes and, if
	// opts.AllowedTypes is set, content of another sniffed type; in every
	// failure case nothing is left on disk.
	Put(ctx context.Context, name string, r io.Reader, opts PutOptions) (Object, error)
	// Open returns the content of name and its description. A missing
	// object (or a directory) is KindNotFound. The caller must Close the
	// reader.
	Open(ctx context.Context, name string) (io.ReadCloser, Object, error)
	// Stat describes name without returning its content.
	Stat(ctx context.Context, name string) (Object, error)
	// Delete removes name. Deleting a missing object is not an error, so
	// retries and cleanup jobs need no special cases.
	Delete(ctx context.Context, name string) error
}

// fileError builds a KindInvalid error attributed to the "file" field.
// cause is kept for logs only; msg is what the client sees.
func fileError(code, msg string, cause error) *errs.Error {
	e := errs.Field(errField, msg)
	e.Code = code
	e.Err = cause
	return e
}

// typeAllowed reports whether the sniffed content type matches one of allowed.
func typeAllowed(sniffed string, allowed []string) bool {
	if len(allowed) == 0 {
		return true
	}
	mt := mediaType(sniffed)
	for _, a := range allowed {
		a = mediaType(a)
		if a == mt {
			return true
		}
		if prefix, ok := strings.CutSuffix(a, "/*"); ok && strings.HasPrefix(mt, prefix+"/") {
			return true
		}
	}
	return false
}

// mediaType strips parameters and normalises case: "Text/Plain; charset=x"
// -> "text/plain".
func mediaType(s string) string {
	if mt, _, err := mime.ParseMediaType(s); err == nil {
		return mt
	}
	mt, _, _ := strings.Cut(s, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// humanSize formats a byte count for error messages ("10 MiB", "512 bytes").
func humanSize(n int64) string {
	const (
		kib = 1 << 10
		mib = 1 << 20
	)
	format := func(v float64, unit string) string {
		s := fmt.Sprintf("%.1f", v)
		s = strings.TrimSuffix(s, ".0")
		return s + " " + unit
	}
	switch {
	case n >= mib:
		return format(float64(n)/mib, "MiB")
	case n >= kib:
		return format(float64(n)/kib, "KiB")
	case n == 1:
		return "1 byte"
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}

// ctxReader stops a long copy once ctx is done, so a cancelled request does
// not keep streaming an upload to disk.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
