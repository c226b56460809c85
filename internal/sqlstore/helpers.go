package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/database"
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

// pageTotal is the total of a paged list whose rows carry it as a window
// count (carried, from the first row). A page past the end has no row to
// carry it, so only then is countSQL run; an empty first page is 0.
func pageTotal(ctx context.Context, db bun.IDB, rows, offset, carried int, countSQL string, args []any) (int, error) {
	if rows > 0 || offset <= 0 {
		return carried, nil
	}
	var n int
	if err := db.NewRaw(countSQL, args...).Scan(ctx, &n); err != nil {
		return 0, database.Translate(err)
	}
	return n, nil
}
