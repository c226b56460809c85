package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/uptrace/bun"
)

// Registry numbers of outgoing transfers are S<year>-NNNN. They come from
// a counter row per year, incremented inside the creating transaction: on
// PostgreSQL the UPDATE takes the row lock until commit, on SQLite the
// transaction holds the single write lock, so concurrent creations get
// distinct, consecutive numbers, and a rolled-back creation gives its
// number back.

func registroSerie(year int) string { return fmt.Sprintf("S%d", year) }

// FormatRegistroSalida renders S<year>-NNNN.
func FormatRegistroSalida(year, n int) string { return fmt.Sprintf("S%d-%04d", year, n) }

// ensureRegistroCounter creates the year's counter, starting from the
// highest number already used (documents imported from the legacy system).
func ensureRegistroCounter(ctx context.Context, db bun.IDB, year int) error {
	serie := registroSerie(year)
	var n int
	if err := db.NewRaw("SELECT count(*) FROM registro_contadores WHERE serie = ?", serie).Scan(ctx, &n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	var used []string
	if err := db.NewRaw("SELECT numero_registro_salida FROM albaranes WHERE numero_registro_salida LIKE ? AND documento_principal_id IS NULL",
		serie+"-%").Scan(ctx, &used); err != nil && !isNoRows(err) {
		return err
	}
	highest := 0
	for _, u := range used {
		if v, err := strconv.Atoi(strings.TrimPrefix(u, serie+"-")); err == nil && v > highest {
			highest = v
		}
	}
	_, err := db.NewRaw("INSERT INTO registro_contadores (serie, ultimo) VALUES (?, ?) ON CONFLICT (serie) DO NOTHING", serie, highest).Exec(ctx)
	return err
}

// nextRegistroSalida reserves the next number of the year in tx.
func nextRegistroSalida(ctx context.Context, tx bun.Tx, year int) (string, error) {
	if err := ensureRegistroCounter(ctx, tx, year); err != nil {
		return "", err
	}
	var n int
	if err := tx.NewRaw("UPDATE registro_contadores SET ultimo = ultimo + 1 WHERE serie = ? RETURNING ultimo", registroSerie(year)).Scan(ctx, &n); err != nil {
		return "", err
	}
	return FormatRegistroSalida(year, n), nil
}

// PreviewRegistroSalida tells the next number without reserving it.
func (s *Store) PreviewRegistroSalida(ctx context.Context, year int) (string, error) {
	var next string
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := ensureRegistroCounter(ctx, tx, year); err != nil {
			return err
		}
		var n int
		if err := tx.NewRaw("SELECT ultimo FROM registro_contadores WHERE serie = ?", registroSerie(year)).Scan(ctx, &n); err != nil {
			return err
		}
		next = FormatRegistroSalida(year, n+1)
		return nil
	})
	return next, err
}
