package database_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
)

// TestMigrationReadableOptions: migration 00012 turns every government
// code and every older spelling of a request's document type and
// nationality into the readable value clearance.*.Normalize gives (the
// migration's list is generated from the same tables), and leaves free
// text it does not know alone. The Up part is run again over rows
// written in the pre-migration form; it is idempotent.
func TestMigrationReadableOptions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		type row struct{ docType, nationality string }
		var rows []row
		for _, o := range clearance.DocumentTypes.Options() {
			rows = append(rows, row{o.Code, "1"})
		}
		for _, o := range clearance.Nationalities.Options() {
			rows = append(rows, row{"206", o.Code})
		}
		for _, old := range []string{"DNI", "NIF", "PASSPORT", "TARJETA_RESIDENTE", "OTROS", "DNI/NIF", "Tarjeta de residente", "NIE", "Pasaporte"} {
			rows = append(rows, row{old, "Española"})
		}
		for _, old := range []string{"Española", "Española ", "España", "Spanish", "ESPAÑOLA", "SPAIN", "ESPAÑA", "FRANCIA"} {
			rows = append(rows, row{"DNI", old})
		}
		rows = append(rows, row{"Carnet", "Marciana"}) // unknown: kept
		now := time.Now().UTC()
		for i, r := range rows {
			if _, err := db.NewRaw(`INSERT INTO hps_requests (id, request_type, status, form_type, document_type, document_number, birth_date,
				first_name, first_last_name, nationality, birth_place, email, phone, created_at, updated_at)
				VALUES (?, 'new', 'approved', 'solicitud', ?, ?, ?, 'Ana', 'García', ?, 'Madrid', 'ana@example.org', '600123456', ?, ?)`,
				fmt.Sprintf("00000000-0000-4000-8000-%012d", i), r.docType, fmt.Sprintf("DOC%d", i), time.Date(1985, 6, 15, 0, 0, 0, 0, time.UTC),
				r.nationality, now, now).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		up := migrationUp(t, db.Engine, "00012_clearance_readable_options.sql")
		for range 2 {
			if _, err := db.SQL().ExecContext(ctx, up); err != nil {
				t.Fatal(err)
			}
		}
		for i, r := range rows {
			var doc, nat string
			if err := db.NewRaw("SELECT document_type, nationality FROM hps_requests WHERE document_number = ?", fmt.Sprintf("DOC%d", i)).
				Scan(ctx, &doc, &nat); err != nil {
				t.Fatal(err)
			}
			wantDoc, wantNat := r.docType, r.nationality
			if o, ok := clearance.DocumentTypes.Normalize(r.docType); ok {
				wantDoc = o.Value
			}
			if o, ok := clearance.Nationalities.Normalize(r.nationality); ok {
				wantNat = o.Value
			}
			if doc != wantDoc || nat != wantNat {
				t.Errorf("%q/%q became %q/%q, want %q/%q", r.docType, r.nationality, doc, nat, wantDoc, wantNat)
			}
		}
	})
}

// migrationUp is the Up part of one migration file of the engine.
func migrationUp(t *testing.T, engine database.Dialect, name string) string {
	t.Helper()
	b, err := os.ReadFile("migrations/" + string(engine) + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start, end := strings.Index(s, "-- +goose Up"), strings.Index(s, "-- +goose Down")
	if start < 0 || end < start {
		t.Fatalf("%s: no Up part", name)
	}
	return s[start+len("-- +goose Up") : end]
}
