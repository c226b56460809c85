-- Custody of cryptographic material (cryptotrace "productos"): product
-- types, catalog, companies and their crypto custodians, documents
-- (albaranes / AC21), movements, the inventory each (product, serial)
-- derives from its movements, registry-number counters, and staging lines.
-- +goose Up
CREATE TABLE tipos_producto (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    nombre TEXT NOT NULL
);
CREATE UNIQUE INDEX tipos_producto_nombre_key ON tipos_producto (nombre);

CREATE TABLE productos (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    codigo_producto      TEXT      NOT NULL,
    descripcion          TEXT      NOT NULL DEFAULT '',
    tipo_id              INTEGER   NULL REFERENCES tipos_producto (id) ON DELETE SET NULL,
    search               TEXT      NOT NULL DEFAULT '',
    created_by_id        INTEGER   NULL REFERENCES users (id) ON DELETE SET NULL,
    updated_by_id        INTEGER   NULL REFERENCES users (id) ON DELETE SET NULL,
    ultima_actualizacion TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX productos_codigo_key ON productos (codigo_producto);
CREATE INDEX productos_tipo ON productos (tipo_id);

CREATE TABLE empresas (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    nombre        TEXT    NOT NULL,
    direccion     TEXT    NOT NULL DEFAULT '',
    ciudad        TEXT    NOT NULL DEFAULT '',
    codigo_postal TEXT    NOT NULL DEFAULT '',
    provincia     TEXT    NOT NULL DEFAULT '',
    numero_odmc   TEXT    NOT NULL DEFAULT '',
    activa        BOOLEAN NOT NULL DEFAULT 1
);
CREATE INDEX empresas_nombre ON empresas (nombre);

CREATE TABLE cryptocustodios (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    empresa_id       INTEGER NOT NULL REFERENCES empresas (id) ON DELETE CASCADE,
    empleo_rango     TEXT    NOT NULL DEFAULT '',
    nombre_apellidos TEXT    NOT NULL,
    cargo            TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX cryptocustodios_empresa ON cryptocustodios (empresa_id);

CREATE TABLE albaranes (
    id                                       INTEGER PRIMARY KEY AUTOINCREMENT,
    numero                                   TEXT      NOT NULL,
    fecha                                    TIMESTAMP NOT NULL,
    pagina_numero                            INTEGER   NOT NULL DEFAULT 1,
    total_paginas                            INTEGER   NOT NULL DEFAULT 1,
    documento_principal_id                   INTEGER   NULL REFERENCES albaranes (id) ON DELETE CASCADE,
    direccion_transferencia                  TEXT      NULL CHECK (direccion_transferencia IN ('ENTRADA', 'SALIDA')),
    empresa_origen_id                        INTEGER   NULL REFERENCES empresas (id) ON DELETE RESTRICT,
    empresa_destino_id                       INTEGER   NULL REFERENCES empresas (id) ON DELETE RESTRICT,
    tipo_documento                           TEXT      NULL CHECK (tipo_documento IN ('TRANSFERENCIA', 'INVENTARIO', 'DESTRUCCION', 'RECIBO_MANO', 'OTRO')),
    odmc_numero                              TEXT      NOT NULL DEFAULT '',
    fecha_informe                            DATE      NULL,
    numero_registro_salida                   TEXT      NULL,
    fecha_transaccion                        DATE      NULL,
    numero_registro_entrada                  TEXT      NOT NULL DEFAULT '',
    codigo_contabilidad                      TEXT      NOT NULL DEFAULT '',
    imagen_documento                         TEXT      NOT NULL DEFAULT '',
    accesorios                               TEXT      NOT NULL DEFAULT '[]' CHECK (json_valid(accesorios)),
    equipos_prueba                           TEXT      NOT NULL DEFAULT '[]' CHECK (json_valid(equipos_prueba)),
    estado_material                          TEXT      NULL CHECK (estado_material IN ('RECIBIDO', 'INVENTARIADO', 'DESTRUIDO')),
    destinatario_autorizado_testigo          BOOLEAN   NOT NULL DEFAULT 0,
    destinatario_autorizado_otro             BOOLEAN   NOT NULL DEFAULT 0,
    destinatario_autorizado_otro_especificar TEXT      NULL,
    firma_a                                  TEXT      NULL,
    firma_a_empleo_rango                     TEXT      NULL,
    firma_a_nombre_apellidos                 TEXT      NULL,
    firma_a_cargo                            TEXT      NULL,
    firma_b                                  TEXT      NULL,
    firma_b_empleo_rango                     TEXT      NULL,
    firma_b_nombre_apellidos                 TEXT      NULL,
    firma_b_cargo                            TEXT      NULL,
    observaciones_odmc                       TEXT      NOT NULL DEFAULT '',
    search                                   TEXT      NOT NULL DEFAULT '',
    created_by_id                            INTEGER   NULL REFERENCES users (id) ON DELETE SET NULL,
    updated_by_id                            INTEGER   NULL REFERENCES users (id) ON DELETE SET NULL,
    created_at                               TIMESTAMP NOT NULL,
    updated_at                               TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX albaranes_numero_key ON albaranes (numero);
CREATE UNIQUE INDEX albaranes_registro_salida_key ON albaranes (numero_registro_salida) WHERE numero_registro_salida IS NOT NULL AND documento_principal_id IS NULL;
CREATE INDEX albaranes_principal ON albaranes (documento_principal_id);
CREATE INDEX albaranes_fecha ON albaranes (fecha);

CREATE TABLE registro_contadores (
    serie  TEXT    PRIMARY KEY,
    ultimo INTEGER NOT NULL
);

CREATE TABLE movimientos (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    producto_id     INTEGER   NOT NULL REFERENCES productos (id) ON DELETE RESTRICT,
    numero_serie    TEXT      NOT NULL,
    descripcion     TEXT      NULL,
    albaran_id      INTEGER   NOT NULL REFERENCES albaranes (id) ON DELETE CASCADE,
    fecha           TIMESTAMP NOT NULL,
    tipo_movimiento TEXT      NOT NULL CHECK (tipo_movimiento IN ('TRANSFERENCIA', 'INVENTARIO', 'DESTRUCCION', 'RECIBO_MANO', 'OTRO')),
    estado_anterior TEXT      NOT NULL CHECK (estado_anterior IN ('activo', 'inactivo')),
    estado_nuevo    TEXT      NOT NULL CHECK (estado_nuevo IN ('activo', 'inactivo')),
    cantidad        INTEGER   NOT NULL DEFAULT 1 CHECK (cantidad >= 0),
    cc              INTEGER   NULL,
    observaciones   TEXT      NULL
);
CREATE UNIQUE INDEX movimientos_item_albaran_key ON movimientos (producto_id, numero_serie, albaran_id);
CREATE INDEX movimientos_item_order ON movimientos (producto_id, numero_serie, fecha, id);
CREATE INDEX movimientos_albaran ON movimientos (albaran_id);

CREATE TABLE inventario (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    producto_id          INTEGER   NOT NULL REFERENCES productos (id) ON DELETE RESTRICT,
    numero_serie         TEXT      NOT NULL,
    descripcion          TEXT      NULL,
    estado               TEXT      NOT NULL CHECK (estado IN ('activo', 'inactivo')),
    estado_inicial       TEXT      NULL CHECK (estado_inicial IN ('activo', 'inactivo')),
    ubicacion            TEXT      NULL,
    ultimo_movimiento_id INTEGER   NULL REFERENCES movimientos (id) ON DELETE SET NULL,
    ultima_actualizacion TIMESTAMP NOT NULL,
    notas                TEXT      NULL,
    search               TEXT      NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX inventario_item_key ON inventario (producto_id, numero_serie);
CREATE INDEX inventario_estado ON inventario (estado);
CREATE INDEX inventario_ubicacion ON inventario (ubicacion);

-- Running totals for GET /api/inventario/resumen/: one row, maintained in
-- the same transaction as every inventory change, so the summary costs
-- the same whatever the inventory size.
CREATE TABLE inventario_resumen (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    total          INTEGER NOT NULL,
    en_custodia    INTEGER NOT NULL,
    fuera_custodia INTEGER NOT NULL
);
INSERT INTO inventario_resumen (id, total, en_custodia, fuera_custodia) VALUES (1, 0, 0, 0);

CREATE TABLE lineas_temporales (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    usuario_id        INTEGER   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    numero_albaran    TEXT      NOT NULL,
    codigo_producto   TEXT      NOT NULL,
    descripcion       TEXT      NULL,
    numero_serie      TEXT      NOT NULL,
    bultos_total      INTEGER   NULL,
    observaciones     TEXT      NULL,
    procesado         BOOLEAN   NOT NULL DEFAULT 0,
    cantidad          INTEGER   NOT NULL DEFAULT 1,
    cc                INTEGER   NULL,
    tipo_producto_id  INTEGER   NULL REFERENCES tipos_producto (id) ON DELETE SET NULL,
    datos_adicionales TEXT      NOT NULL DEFAULT '{}' CHECK (json_valid(datos_adicionales)),
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX lineas_temporales_usuario ON lineas_temporales (usuario_id, procesado);

-- +goose Down
DROP TABLE lineas_temporales;
DROP TABLE inventario_resumen;
DROP TABLE inventario;
DROP TABLE movimientos;
DROP TABLE registro_contadores;
DROP TABLE albaranes;
DROP TABLE cryptocustodios;
DROP TABLE empresas;
DROP TABLE productos;
DROP TABLE tipos_producto;
