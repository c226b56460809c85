-- Personal security clearances (HPS): PDF templates, requests, public form
-- links, sent expiry reminders, and API keys (browser extension). Files
-- (template, filled and response PDFs) live in the file store; the rows
-- keep their keys.
-- +goose Up
CREATE TABLE hps_templates (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT        NOT NULL,
    description   TEXT        NOT NULL DEFAULT '',
    template_type TEXT        NOT NULL DEFAULT 'jefe_seguridad' CHECK (template_type IN ('jefe_seguridad', 'jefe_seguridad_suplente')),
    version       TEXT        NOT NULL DEFAULT '1.0',
    active        BOOLEAN     NOT NULL DEFAULT 1,
    pdf_file      TEXT        NOT NULL,
    created_at    TIMESTAMP   NOT NULL,
    updated_at    TIMESTAMP   NOT NULL
);
-- At most one active template per type, whatever the code does.
CREATE UNIQUE INDEX hps_templates_one_active ON hps_templates (template_type) WHERE active;

CREATE TABLE hps_requests (
    id                       TEXT        PRIMARY KEY,
    user_id                  INTEGER     NULL REFERENCES users (id) ON DELETE SET NULL,
    request_type             TEXT        NOT NULL CHECK (request_type IN ('new', 'renewal', 'transfer')),
    status                   TEXT        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'waiting_dps', 'submitted', 'approved', 'rejected', 'expired')),
    form_type                TEXT        NOT NULL DEFAULT 'solicitud' CHECK (form_type IN ('solicitud', 'traslado')),
    template_id              INTEGER     NULL REFERENCES hps_templates (id) ON DELETE SET NULL,
    filled_pdf               TEXT        NULL,
    response_pdf             TEXT        NULL,
    document_type            TEXT        NOT NULL,
    document_number          TEXT        NOT NULL,
    birth_date               DATE        NOT NULL,
    first_name               TEXT        NOT NULL,
    first_last_name          TEXT        NOT NULL,
    second_last_name         TEXT        NOT NULL DEFAULT '',
    nationality              TEXT        NOT NULL,
    birth_place              TEXT        NOT NULL,
    email                    TEXT        NOT NULL,
    phone                    TEXT        NOT NULL,
    submitted_by_id          INTEGER     NULL REFERENCES users (id) ON DELETE SET NULL,
    submitted_at             TIMESTAMP   NULL,
    approved_by_id           INTEGER     NULL REFERENCES users (id) ON DELETE SET NULL,
    approved_at              TIMESTAMP   NULL,
    expires_at               DATE        NULL,
    notes                    TEXT        NOT NULL DEFAULT '',
    security_clearance_level TEXT        NOT NULL DEFAULT '',
    government_expediente    TEXT        NOT NULL DEFAULT '',
    company_name             TEXT        NOT NULL DEFAULT '',
    company_nif              TEXT        NOT NULL DEFAULT '',
    internal_code            TEXT        NOT NULL DEFAULT '',
    job_position             TEXT        NOT NULL DEFAULT '',
    auto_processed           BOOLEAN     NOT NULL DEFAULT 0,
    source_pdf_filename      TEXT        NOT NULL DEFAULT '',
    auto_processed_at        TIMESTAMP   NULL,
    government_document_type TEXT        NOT NULL DEFAULT '',
    data_source              TEXT        NOT NULL DEFAULT 'manual',
    original_status_text     TEXT        NOT NULL DEFAULT '',
    search                   TEXT        NOT NULL DEFAULT '',
    created_at               TIMESTAMP   NOT NULL,
    updated_at               TIMESTAMP   NOT NULL
);
-- One open request (pending, waiting_dps, submitted) per person: per user
-- and per document number, race-free on every creation path.
CREATE UNIQUE INDEX hps_requests_open_user ON hps_requests (user_id) WHERE status IN ('pending', 'waiting_dps', 'submitted') AND user_id IS NOT NULL;
CREATE UNIQUE INDEX hps_requests_open_document ON hps_requests (document_number) WHERE status IN ('pending', 'waiting_dps', 'submitted');
CREATE INDEX hps_requests_status_created ON hps_requests (status, created_at);
CREATE INDEX hps_requests_created ON hps_requests (created_at);
CREATE INDEX hps_requests_user ON hps_requests (user_id);
CREATE INDEX hps_requests_document ON hps_requests (document_number);
CREATE INDEX hps_requests_expires ON hps_requests (expires_at) WHERE status = 'approved';
CREATE INDEX hps_requests_expediente ON hps_requests (government_expediente);

CREATE TABLE hps_tokens (
    id              TEXT        PRIMARY KEY,
    token_hash      TEXT        NOT NULL,
    token_prefix    TEXT        NOT NULL,
    email           TEXT        NOT NULL,
    requested_by_id INTEGER     NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose         TEXT        NOT NULL DEFAULT '',
    form_type       TEXT        NOT NULL DEFAULT 'solicitud' CHECK (form_type IN ('solicitud', 'traslado')),
    request_type    TEXT        NOT NULL DEFAULT 'new' CHECK (request_type IN ('new', 'renewal', 'transfer')),
    is_used         BOOLEAN     NOT NULL DEFAULT 0,
    used_at         TIMESTAMP   NULL,
    request_id      TEXT        NULL REFERENCES hps_requests (id) ON DELETE SET NULL,
    revoked_at      TIMESTAMP   NULL,
    expires_at      TIMESTAMP   NOT NULL,
    created_at      TIMESTAMP   NOT NULL,
    updated_at      TIMESTAMP   NOT NULL
);
CREATE UNIQUE INDEX hps_tokens_hash_key ON hps_tokens (token_hash);
CREATE INDEX hps_tokens_requested_by ON hps_tokens (requested_by_id);
CREATE INDEX hps_tokens_expires ON hps_tokens (expires_at);

-- Expiry reminders already sent: one per request and distance in days.
CREATE TABLE hps_reminders (
    request_id TEXT        NOT NULL REFERENCES hps_requests (id) ON DELETE CASCADE,
    days       INTEGER     NOT NULL,
    sent_at    TIMESTAMP   NOT NULL,
    PRIMARY KEY (request_id, days)
);

-- Named API keys for machine clients (scope "extension"). Only the SHA-256
-- of the key is kept; the prefix identifies it in lists and logs.
CREATE TABLE api_keys (
    id            TEXT        PRIMARY KEY,
    name          TEXT        NOT NULL,
    scope         TEXT        NOT NULL CHECK (scope IN ('extension')),
    prefix        TEXT        NOT NULL,
    key_hash      TEXT        NOT NULL,
    created_by_id INTEGER     NULL REFERENCES users (id) ON DELETE SET NULL,
    created_at    TIMESTAMP   NOT NULL,
    last_used_at  TIMESTAMP   NULL,
    revoked_at    TIMESTAMP   NULL
);
CREATE UNIQUE INDEX api_keys_hash_key ON api_keys (key_hash);

-- Codenames added with the HPS work (identity.Permissions): granted to the
-- two roles that hold every codename but a few.
INSERT INTO permissions (codename, name, category) VALUES ('hps.gestionar_solicitudes', 'Tramitar, aprobar y rechazar solicitudes HPS', 'hps');
INSERT INTO permissions (codename, name, category) VALUES ('hps.gestionar_claves_api', 'Gestionar claves API (extensión del navegador)', 'hps');
INSERT INTO role_permissions (role_id, codename) SELECT id, 'hps.gestionar_solicitudes' FROM roles WHERE name IN ('admin', 'jefe_seguridad');
INSERT INTO role_permissions (role_id, codename) SELECT id, 'hps.gestionar_claves_api' FROM roles WHERE name IN ('admin', 'jefe_seguridad');

-- +goose Down
DELETE FROM permissions WHERE codename IN ('hps.gestionar_solicitudes', 'hps.gestionar_claves_api');
DROP TABLE api_keys;
DROP TABLE hps_reminders;
DROP TABLE hps_tokens;
DROP TABLE hps_requests;
DROP TABLE hps_templates;
