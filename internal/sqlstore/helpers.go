package sqlstore

import (
	"database/sql"
	"errors"
	"strconv"

	"github.com/thot-security/thot/internal/errs"
)

// expectOne turns "no row changed" into a not-found error.
func expectOne(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return errs.NotFound(what)
	}
	return nil
}

func errNotFound(what string) error { return errs.NotFound(what) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
