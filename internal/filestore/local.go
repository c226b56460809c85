package filestore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/thot-security/thot/internal/errs"
)

// Local is a Store backed by a directory on the local disk. It is safe for
// concurrent use. Every access goes through an os.Root, so no name and no
// symlink inside the directory can reach a file outside it.
type Local struct {
	root *os.Root
}

var _ Store = (*Local)(nil)

// NewLocal opens (creating it with mode 0o700 if needed) the directory dir
// as a Local store. Close it when done.
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, errors.New("filestore: empty root directory")
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("filestore: create root: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("filestore: open root: %w", err)
	}
	return &Local{root: root}, nil
}

// Dir returns the directory the store was opened on.
func (l *Local) Dir() string { return l.root.Name() }

// Close releases the directory handle. The store is unusable afterwards.
func (l *Local) Close() error { return l.root.Close() }

// Put implements Store.
func (l *Local) Put(ctx context.Context, name string, r io.Reader, opts PutOptions) (Object, error) {
	if err := ctx.Err(); err != nil {
		return Object{}, err
	}
	if err := ValidName(name); err != nil {
		return Object{}, err
	}
	limit := opts.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	tooLarge := func() error {
		return fileError(CodeTooLarge,
			fmt.Sprintf("The file is too large; the limit is %s.", humanSize(limit)),
			fmt.Errorf("filestore: %s exceeds %d bytes", name, limit))
	}
	src := ctxReader{ctx: ctx, r: r}

	// Sniff before creating anything, so a refused type costs no disk I/O.
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(src, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return Object{}, fmt.Errorf("filestore: read %s: %w", name, err)
	}
	head = head[:n]
	if int64(len(head)) > limit {
		return Object{}, tooLarge()
	}
	ctype := http.DetectContentType(head)
	if !typeAllowed(ctype, opts.AllowedTypes) {
		return Object{}, fileError(CodeTypeNotAllowed,
			fmt.Sprintf("File type %s is not allowed; accepted types: %s.",
				mediaType(ctype), strings.Join(opts.AllowedTypes, ", ")),
			fmt.Errorf("filestore: %s sniffed as %s", name, ctype))
	}

	dir := path.Dir(name)
	if dir != "." {
		if err := l.root.MkdirAll(dir, dirPerm); err != nil {
			return Object{}, l.mapWriteErr(name, err)
		}
	}
	f, tmp, err := l.createTemp(dir)
	if err != nil {
		return Object{}, l.mapWriteErr(name, err)
	}
	// Until the rename succeeds, any exit removes the temporary file: a
	// failed Put must leave nothing behind.
	committed := false
	defer func() {
		if !committed {
			_ = f.Close()
			_ = l.root.Remove(tmp)
		}
	}()

	h := sha256.New()
	w := io.MultiWriter(f, h)
	if _, err := w.Write(head); err != nil {
		return Object{}, fmt.Errorf("filestore: write %s: %w", name, err)
	}
	// Read at most one byte past the limit: enough to know the content is
	// too large without consuming (or storing) an unbounded stream.
	rest, err := io.Copy(w, io.LimitReader(src, limit-int64(len(head))+1))
	if err != nil {
		return Object{}, fmt.Errorf("filestore: write %s: %w", name, err)
	}
	size := int64(len(head)) + rest
	if size > limit {
		return Object{}, tooLarge()
	}
	// Sync before rename, so after a crash the name points either to the
	// old object or to the complete new one, never to an empty file.
	if err := f.Sync(); err != nil {
		return Object{}, fmt.Errorf("filestore: sync %s: %w", name, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return Object{}, fmt.Errorf("filestore: stat %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return Object{}, fmt.Errorf("filestore: close %s: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return Object{}, err
	}
	if err := l.root.Rename(tmp, name); err != nil {
		return Object{}, l.mapWriteErr(name, err)
	}
	committed = true
	l.syncDir(dir)

	return Object{
		Name:        name,
		Size:        size,
		ContentType: ctype,
		SHA256:      hex.EncodeToString(h.Sum(nil)),
		ModTime:     fi.ModTime(),
	}, nil
}

// createTemp creates a new, empty, private file in dir. os.Root has no
// CreateTemp, so it picks a random name and relies on O_EXCL.
func (l *Local) createTemp(dir string) (*os.File, string, error) {
	var err error
	for range maxTempNameAttempts {
		tmp := path.Join(dir, tempPrefix+rand.Text())
		var f *os.File
		f, err = l.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
		if err == nil {
			return f, tmp, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	return nil, "", err
}

// syncDir makes the rename durable. It is best effort: the object is already
// complete and visible, and some platforms cannot sync directories.
func (l *Local) syncDir(dir string) {
	d, err := l.root.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// mapWriteErr turns a filesystem error from Put into a domain error. A name
// that collides with the existing tree (a file where a directory is needed,
// or a directory where the file should go) is a conflict the client can fix
// by choosing another name; anything else, including a symlink escape
// refused by os.Root, is internal and must only be logged.
func (l *Local) mapWriteErr(name string, err error) error {
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) ||
		errors.Is(err, fs.ErrExist) || l.isDir(name) {
		return &errs.Error{
			Kind:    errs.KindConflict,
			Code:    CodeNameConflict,
			Message: "The file name collides with an existing file or folder.",
			Err:     fmt.Errorf("filestore: put %s: %w", name, err),
		}
	}
	return errs.Internal(fmt.Errorf("filestore: put %s: %w", name, err))
}

func (l *Local) isDir(name string) bool {
	fi, err := l.root.Lstat(name)
	return err == nil && fi.IsDir()
}

// Open implements Store. The returned reader is an *os.File positioned at
// the start, so it also implements io.ReadSeeker (for http.ServeContent).
func (l *Local) Open(ctx context.Context, name string) (io.ReadCloser, Object, error) {
	f, obj, err := l.open(ctx, name)
	if err != nil {
		return nil, Object{}, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		_ = f.Close()
		return nil, Object{}, errs.Internal(fmt.Errorf("filestore: seek %s: %w", name, err))
	}
	return f, obj, nil
}

// Stat implements Store. It reads the whole object to compute SHA256; objects
// are bounded by PutOptions.MaxBytes, and hashing the real bytes means the
// result can never disagree with the content.
func (l *Local) Stat(ctx context.Context, name string) (Object, error) {
	f, obj, err := l.open(ctx, name)
	if err != nil {
		return Object{}, err
	}
	_ = f.Close()
	return obj, nil
}

// open opens name and describes it from the open file. Hashing the same file
// handle that is returned keeps Object consistent with the content even if a
// concurrent Put replaces the name meanwhile (the handle keeps the old file).
func (l *Local) open(ctx context.Context, name string) (*os.File, Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, Object{}, err
	}
	if err := ValidName(name); err != nil {
		return nil, Object{}, err
	}
	// Checking the type before opening avoids blocking on a FIFO or
	// touching a device node someone placed in the directory; the check
	// after opening is the authoritative one.
	if fi, err := l.root.Stat(name); err != nil {
		return nil, Object{}, l.mapReadErr(name, err)
	} else if !fi.Mode().IsRegular() {
		return nil, Object{}, notFound(name, nil)
	}
	f, err := l.root.Open(name)
	if err != nil {
		return nil, Object{}, l.mapReadErr(name, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, Object{}, errs.Internal(fmt.Errorf("filestore: stat %s: %w", name, err))
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, Object{}, notFound(name, nil)
	}
	obj, err := describe(ctx, f, name, fi)
	if err != nil {
		_ = f.Close()
		return nil, Object{}, err
	}
	return f, obj, nil
}

// describe sniffs and hashes f from its current position to the end.
func describe(ctx context.Context, f *os.File, name string, fi os.FileInfo) (Object, error) {
	src := ctxReader{ctx: ctx, r: f}
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(src, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return Object{}, readErr(name, err)
	}
	head = head[:n]
	h := sha256.New()
	h.Write(head)
	rest, err := io.Copy(h, src)
	if err != nil {
		return Object{}, readErr(name, err)
	}
	return Object{
		Name:        name,
		Size:        int64(n) + rest,
		ContentType: http.DetectContentType(head),
		SHA256:      hex.EncodeToString(h.Sum(nil)),
		ModTime:     fi.ModTime(),
	}, nil
}

// readErr keeps context errors recognisable (errors.Is(err,
// context.Canceled)) and marks everything else internal.
func readErr(name string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return errs.Internal(fmt.Errorf("filestore: read %s: %w", name, err))
}

// mapReadErr: a missing name, or a path through a regular file ("a.pdf/x"),
// is simply not found. Anything else, including a symlink escape refused by
// os.Root, is internal: it means the directory was tampered with, which the
// client must not learn about but operators must.
func (l *Local) mapReadErr(name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return notFound(name, err)
	}
	return errs.Internal(fmt.Errorf("filestore: open %s: %w", name, err))
}

// notFound is the client-facing "File not found."; cause (may be nil) and
// the name are kept for logs.
func notFound(name string, cause error) error {
	e := errs.NotFound("File")
	if cause == nil {
		cause = fs.ErrNotExist
	}
	e.Err = fmt.Errorf("filestore: %s: %w", name, cause)
	return e
}

// Delete implements Store. A missing name, or one that is a directory (not
// an object), is not an error. A symlink is removed itself, never its
// target.
func (l *Local) Delete(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ValidName(name); err != nil {
		return err
	}
	fi, err := l.root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return nil
	case err != nil:
		return errs.Internal(fmt.Errorf("filestore: delete %s: %w", name, err))
	case fi.IsDir():
		return nil
	}
	if err := l.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errs.Internal(fmt.Errorf("filestore: delete %s: %w", name, err))
	}
	return nil
}
