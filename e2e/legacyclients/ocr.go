package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// The legacy OCR service sent the scan to OpenAI and answered its AC21
// extraction (legacy-cryptotrace.md §7.2); thot does not replace it. The
// stub answers one fixed, plausible extraction so that the scan flow can
// reach the save, which is thot's part.
var ocrAC21 = map[string]any{
	"cabecera": map[string]any{
		"tipo_transaccion": "TRANSFERENCIA", "numero_registro_salida": "S2026-0777", "fecha_informe": "2026-03-20",
		"numero_registro_entrada": "E2026-0777", "fecha_transaccion": "2026-03-21", "odmc_numero": "ODMC-100",
	},
	"empresa_origen":  ocrEmpresa("Empresa Origen Harness"),
	"empresa_destino": ocrEmpresa("Empresa Destino Harness"),
	"articulos": []map[string]any{
		{"codigo_producto": "HARN-CC-001", "descripcion": "Cifrador de pruebas", "cantidad": 1, "numero_serie_inicio": "OCR-0001", "numero_serie_fin": "", "cc": 1, "observaciones": ""},
		{"codigo_producto": "HARN-OCR-002", "descripcion": "Terminal escaneado", "cantidad": 1, "numero_serie_inicio": "OCR-0002", "numero_serie_fin": "", "cc": 0, "observaciones": ""},
	},
	"accesorios":      []map[string]any{{"descripcion": "Cable", "cantidad": 1}},
	"equipos_prueba":  []map[string]any{{"codigo": "EP-7"}},
	"estado_material": map[string]any{"recibido": true, "inventariado": false, "destruido": false},
	"firmas": map[string]any{
		"firma_a": map[string]any{"nombre": "Ana Pérez", "cargo": "Custodia", "empleo_rango": "Cte."},
		"firma_b": map[string]any{"nombre": "Luis Gil", "cargo": "Testigo", "empleo_rango": ""},
	},
	"observaciones": "Escaneado por el harness",
}

func ocrEmpresa(name string) map[string]any {
	return map[string]any{"nombre": name, "direccion": "Calle Mayor 1", "codigo_postal": "28001", "ciudad": "Madrid",
		"provincia": "Madrid", "pais": "España", "codigo_odmc": "", "codigo_emad": "", "nif": "", "telefono": "", "email": ""}
}

// startOCRStub serves POST /process-image/ (CORS open, as the legacy
// service was) and returns a function that stops it.
func startOCRStub(addr string) (func(), error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("OCR stub: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/process-image/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		switch r.Method {
		case http.MethodOptions:
			w.WriteHeader(http.StatusNoContent)
		case http.MethodPost:
			if err := r.ParseMultipartForm(32 << 20); err != nil || r.FormValue("document_type") == "" {
				http.Error(w, `{"detail":"multipart file and document_type required"}`, http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(ocrAC21)
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("OCR stub stopped", "err", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
