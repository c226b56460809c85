package benchseed_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/thot-security/thot/internal/benchseed"
	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
)

// TestFullPlanMatchesBaseline checks the full-scale plan against the
// legacy baseline's data set without a database.
func TestFullPlanMatchesBaseline(t *testing.T) {
	p := benchseed.NewPlan(benchseed.Full())
	if len(p.Productos) != 2000 || p.Productos[0].Codigo != "CT-00001" || p.Productos[1999].Codigo != "CT-02000" {
		t.Fatalf("products: %d, first %s", len(p.Productos), p.Productos[0].Codigo)
	}
	if len(p.Items) != 20000 || len(p.Albaranes) != 5000 || len(p.Movimientos) != 100000 {
		t.Fatalf("items %d, documents %d, movements %d; want 20000, 5000, 100000", len(p.Items), len(p.Albaranes), len(p.Movimientos))
	}
	perDoc := map[int64]int{}
	for _, m := range p.Movimientos {
		perDoc[m.AlbaranID]++
	}
	for id, n := range perDoc {
		if n != 20 {
			t.Fatalf("document %d has %d movements, want exactly 20", id, n)
		}
	}
	activos := 0
	for k, it := range p.Items {
		if it.Estado == custody.Activo {
			activos++
		}
		if want := map[bool]custody.Estado{true: custody.Activo, false: custody.Inactivo}[k%2 == 0]; it.Estado != want {
			t.Fatalf("item %d ends %s, want %s", k, it.Estado, want)
		}
	}
	if activos != 10000 {
		t.Fatalf("%d items in custody, want 10000", activos)
	}
	if d := p.Albaranes[2499]; d.ID != 2500 {
		t.Fatalf("document 2500 is %+v", d)
	}
}

// TestSeedSatisfiesInvariant seeds 1/100 of the data set and checks that
// every inventory row, and every movement's recorded states, equal a
// replay of the movements, and that the running totals equal the counts.
func TestSeedSatisfiesInvariant(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		start := time.Now()
		if err := benchseed.Seed(ctx, db, benchseed.Small()); err != nil {
			t.Fatal(err)
		}
		t.Logf("small seed in %s", time.Since(start))
		counts := map[string]int{}
		for _, table := range []string{"tipos_producto", "productos", "empresas", "cryptocustodios", "albaranes", "movimientos", "inventario"} {
			var n int
			if err := db.NewRaw("SELECT count(*) FROM "+table).Scan(ctx, &n); err != nil {
				t.Fatal(err)
			}
			counts[table] = n
		}
		want := map[string]int{"tipos_producto": 30, "productos": 20, "empresas": 20, "cryptocustodios": 40, "albaranes": 51, "movimientos": 1000, "inventario": 200}
		for k, v := range want {
			if counts[k] != v {
				t.Errorf("%s: %d rows, want %d", k, counts[k], v)
			}
		}
		checkInvariant(t, db)

		if err := benchseed.Seed(ctx, db, benchseed.Small()); err == nil {
			t.Error("seeding a database that holds data succeeded")
		}
		// The identity sequences follow the explicit ids.
		var id int64
		if err := db.NewRaw("INSERT INTO tipos_producto (nombre) VALUES ('Nuevo') RETURNING id").Scan(ctx, &id); err != nil || id != 31 {
			t.Errorf("next type id %d (%v), want 31", id, err)
		}
	})
}

type invRow struct {
	ID            int64   `bun:"id"`
	ProductoID    int64   `bun:"producto_id"`
	NumeroSerie   string  `bun:"numero_serie"`
	Estado        string  `bun:"estado"`
	EstadoInicial *string `bun:"estado_inicial"`
	UltimoID      *int64  `bun:"ultimo_movimiento_id"`
}

type movRow struct {
	ID          int64   `bun:"id"`
	ProductoID  int64   `bun:"producto_id"`
	NumeroSerie string  `bun:"numero_serie"`
	Anterior    string  `bun:"estado_anterior"`
	Nuevo       string  `bun:"estado_nuevo"`
	Tipo        *string `bun:"tipo_documento"`
	Direccion   *string `bun:"direccion_transferencia"`
}

func checkInvariant(t *testing.T, db *database.DB) {
	t.Helper()
	ctx := context.Background()
	var inv []invRow
	if err := db.NewRaw("SELECT id, producto_id, numero_serie, estado, estado_inicial, ultimo_movimiento_id FROM inventario").Scan(ctx, &inv); err != nil {
		t.Fatal(err)
	}
	var movs []movRow
	if err := db.NewRaw(`SELECT m.id, m.producto_id, m.numero_serie, m.estado_anterior, m.estado_nuevo, a.tipo_documento, a.direccion_transferencia
		FROM movimientos AS m JOIN albaranes AS a ON a.id = m.albaran_id ORDER BY m.producto_id, m.numero_serie, m.fecha, m.id`).Scan(ctx, &movs); err != nil {
		t.Fatal(err)
	}
	byKey := map[custody.ItemKey][]movRow{}
	for _, m := range movs {
		k := custody.ItemKey{ProductoID: m.ProductoID, NumeroSerie: m.NumeroSerie}
		byKey[k] = append(byKey[k], m)
	}
	activos, inactivos := 0, 0
	for _, row := range inv {
		k := custody.ItemKey{ProductoID: row.ProductoID, NumeroSerie: row.NumeroSerie}
		ms := byKey[k]
		delete(byKey, k)
		steps := make([]custody.Step, len(ms))
		for i, m := range ms {
			steps[i] = custody.Step{ID: m.ID, Nuevo: custody.EstadoNuevo(custody.Tipo(deref(m.Tipo)), custody.Direccion(deref(m.Direccion)))}
		}
		var base *custody.Estado
		if row.EstadoInicial != nil {
			e := custody.Estado(*row.EstadoInicial)
			base = &e
		} else if len(steps) > 0 && custody.Baseline(steps[0].Nuevo) != nil {
			t.Errorf("item %d: first movement leaves it %s but estado_inicial is NULL", row.ID, steps[0].Nuevo)
		}
		out := custody.Replay(base, steps)
		if !out.Exists || string(out.Estado) != row.Estado || row.UltimoID == nil || *row.UltimoID != out.Last {
			t.Errorf("item %d: row estado %s last %v; replay %+v", row.ID, row.Estado, row.UltimoID, out)
		}
		for i, m := range ms {
			if m.Anterior != string(out.Anterior[i]) || m.Nuevo != string(steps[i].Nuevo) {
				t.Errorf("movement %d: recorded %s→%s, replay %s→%s", m.ID, m.Anterior, m.Nuevo, out.Anterior[i], steps[i].Nuevo)
			}
		}
		if row.Estado == string(custody.Activo) {
			activos++
		} else {
			inactivos++
		}
	}
	for k := range byKey {
		t.Errorf("movements of %v have no inventory row", k)
	}
	var r struct {
		Total, EnCustodia, FueraCustodia int
	}
	if err := db.NewRaw("SELECT total, en_custodia, fuera_custodia FROM inventario_resumen WHERE id = 1").Scan(ctx, &r.Total, &r.EnCustodia, &r.FueraCustodia); err != nil {
		t.Fatal(err)
	}
	if r.Total != len(inv) || r.EnCustodia != activos || r.FueraCustodia != inactivos || activos != inactivos {
		t.Errorf("resumen %+v; counted %d items, %d in custody, %d out", r, len(inv), activos, inactivos)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestSeedFullScale times the full data set; it runs with
// THOT_BENCH_FULL=1 (the target is under 30 s on either engine).
func TestSeedFullScale(t *testing.T) {
	if os.Getenv("THOT_BENCH_FULL") == "" {
		t.Skip("set THOT_BENCH_FULL=1 to seed the full data set")
	}
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		start := time.Now()
		if err := benchseed.Seed(context.Background(), db, benchseed.Full()); err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		t.Logf("full seed in %s", elapsed)
		checkInvariant(t, db)
		if elapsed > 30*time.Second {
			t.Errorf("full seed took %s, target 30 s", elapsed)
		}
	})
}
