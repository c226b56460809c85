package database

import (
	"database/sql"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/thot-security/thot/internal/errs"
)

// Translate turns driver errors into domain errors at the store boundary:
// no rows → not found, unique/foreign-key violations → conflict. Domain
// errors and nil pass through; anything else is returned unchanged and
// treated as internal by the HTTP layer.
func Translate(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errs.As(err); ok {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &errs.Error{Kind: errs.KindNotFound, Message: "Not found.", Err: err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return &errs.Error{Kind: errs.KindConflict, Message: "An object with these values already exists.", Err: err}
		case "23503":
			return &errs.Error{Kind: errs.KindConflict, Message: "The object is referenced by, or refers to, a missing object.", Err: err}
		case "23514", "22001", "22P02":
			return &errs.Error{Kind: errs.KindInvalid, Message: "A value is out of range.", Err: err}
		}
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &errs.Error{Kind: errs.KindConflict, Message: "An object with these values already exists.", Err: err}
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return &errs.Error{Kind: errs.KindConflict, Message: "The object is referenced by, or refers to, a missing object.", Err: err}
		case sqlite3.SQLITE_CONSTRAINT_CHECK:
			return &errs.Error{Kind: errs.KindInvalid, Message: "A value is out of range.", Err: err}
		}
	}
	return err
}

// IsUnique reports whether err is a unique-constraint violation, optionally
// on a constraint or column whose name contains hint.
func IsUnique(err error, hint string) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return hint == "" || strings.Contains(pgErr.ConstraintName, hint)
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) && (sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return hint == "" || strings.Contains(sqErr.Error(), hint)
	}
	return false
}
