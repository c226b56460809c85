package sqlstore

import (
	"database/sql"

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
