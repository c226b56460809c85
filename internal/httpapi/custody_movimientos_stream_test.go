package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/httpapi"
)

// movPage is the DRF page object of /api/movimientos/?page=.
type movPage struct {
	Count   int                          `json:"count"`
	Next    *string                      `json:"next"`
	Results []httpapi.MovimientoResource `json:"results"`
}

// TestMovimientosStreamedListMatchesPages: the unpaged /api/movimientos/
// (streamed from the cursor) is the same list, in the same order, as the
// pages put together — with and without filters and ordering — and bad
// parameters are still a 400 before anything is streamed.
func TestMovimientosStreamedListMatchesPages(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newAlbWorld(t, db)
		w.typed("K1")
		w.typed("K2")
		for i := range 7 {
			w.create(albDoc("INVENTARIO", "ENTRADA", fmt.Sprintf("ST-%02d", i),
				albLine("K1", fmt.Sprintf("S%02d", i)), albLine("K2", fmt.Sprintf("S%02d", i)), albLine("K2", fmt.Sprintf("T%02d", i))))
		}
		for _, q := range []string{"", "producto_codigo=K2&", "ordering=numero_serie&", "ordering=-id&", "numero_serie=S03&"} {
			whole := decode[[]httpapi.MovimientoResource](t, w.expect(http.StatusOK, "GET", "/api/movimientos/?"+q, nil))
			var paged []httpapi.MovimientoResource
			for page := 1; ; page++ {
				p := decode[movPage](t, w.expect(http.StatusOK, "GET", fmt.Sprintf("/api/movimientos/?%spage=%d&page_size=4", q, page), nil))
				paged = append(paged, p.Results...)
				if p.Next == nil {
					if p.Count != len(whole) {
						t.Errorf("%q: count %d, streamed %d", q, p.Count, len(whole))
					}
					break
				}
			}
			a, _ := json.Marshal(whole)
			b, _ := json.Marshal(paged)
			if len(whole) == 0 || string(a) != string(b) {
				t.Errorf("%q: streamed list (%d) differs from the pages (%d)", q, len(whole), len(paged))
			}
		}
		if n := len(decode[[]httpapi.MovimientoResource](t, w.expect(http.StatusOK, "GET", "/api/movimientos/", nil))); n != 21 {
			t.Errorf("all movements: %d, want 21", n)
		}
		if n := len(decode[[]httpapi.MovimientoResource](t, w.expect(http.StatusOK, "GET", "/api/movimientos/?numero_serie=nada", nil))); n != 0 {
			t.Errorf("no match: %d", n)
		}
		w.expect(http.StatusBadRequest, "GET", "/api/movimientos/?ordering=contraseña", nil)
	})
}
