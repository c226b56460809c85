-- Identity: roles and permissions (data, seeded), teams and memberships,
-- profile fields merged from both legacy systems, JWT outstanding and
-- blacklisted tokens, login throttling, and the audit log.
-- +goose Up
CREATE TABLE roles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT      NOT NULL,
    description TEXT      NOT NULL DEFAULT '',
    is_system   BOOLEAN   NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX roles_name_key ON roles (name);

CREATE TABLE permissions (
    codename TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    category TEXT NOT NULL
);

CREATE TABLE role_permissions (
    role_id  INTEGER NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    codename TEXT    NOT NULL REFERENCES permissions (codename) ON DELETE CASCADE,
    PRIMARY KEY (role_id, codename)
);

CREATE TABLE teams (
    id          TEXT PRIMARY KEY,
    name        TEXT      NOT NULL,
    description TEXT      NOT NULL DEFAULT '',
    lead_id     INTEGER   NULL REFERENCES users (id) ON DELETE SET NULL,
    is_active   BOOLEAN   NOT NULL DEFAULT 1,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX teams_active_name_key ON teams (lower(name)) WHERE is_active;
CREATE UNIQUE INDEX teams_active_lead_key ON teams (lead_id) WHERE is_active AND lead_id IS NOT NULL;

CREATE TABLE team_memberships (
    team_id    TEXT      NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    INTEGER   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    is_lead    BOOLEAN   NOT NULL DEFAULT 0,
    is_active  BOOLEAN   NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_memberships_user ON team_memberships (user_id);

ALTER TABLE users ADD COLUMN legacy_hps_id TEXT NULL;
ALTER TABLE users ADD COLUMN role_id INTEGER NULL REFERENCES roles (id) ON DELETE RESTRICT;
ALTER TABLE users ADD COLUMN team_id TEXT NULL REFERENCES teams (id) ON DELETE SET NULL;
ALTER TABLE users ADD COLUMN default_team_id TEXT NULL REFERENCES teams (id) ON DELETE SET NULL;
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN is_temp_password BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN tokens_valid_after TIMESTAMP NULL;
ALTER TABLE users ADD COLUMN updated_at TIMESTAMP NULL;
CREATE UNIQUE INDEX users_legacy_hps_id_key ON users (legacy_hps_id) WHERE legacy_hps_id IS NOT NULL;
CREATE INDEX users_role ON users (role_id);
CREATE INDEX users_team ON users (team_id);

CREATE TABLE jwt_outstanding (
    jti        TEXT PRIMARY KEY,
    user_id    INTEGER   NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX jwt_outstanding_user ON jwt_outstanding (user_id);
CREATE INDEX jwt_outstanding_expires ON jwt_outstanding (expires_at);

CREATE TABLE jwt_blacklist (
    jti            TEXT PRIMARY KEY,
    blacklisted_at TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP NOT NULL
);
CREATE INDEX jwt_blacklist_expires ON jwt_blacklist (expires_at);

CREATE TABLE login_throttle (
    key          TEXT PRIMARY KEY,
    failures     INTEGER   NOT NULL,
    window_start TIMESTAMP NOT NULL,
    locked_until TIMESTAMP NULL
);

CREATE TABLE audit_logs (
    id          TEXT PRIMARY KEY,
    user_id     INTEGER   NULL REFERENCES users (id) ON DELETE SET NULL,
    actor       TEXT      NOT NULL DEFAULT '',
    action      TEXT      NOT NULL,
    table_name  TEXT      NOT NULL DEFAULT '',
    record_id   TEXT      NOT NULL DEFAULT '',
    old_values  TEXT      NULL CHECK (old_values IS NULL OR json_valid(old_values)),
    new_values  TEXT      NULL CHECK (new_values IS NULL OR json_valid(new_values)),
    ip_address  TEXT      NOT NULL DEFAULT '',
    user_agent  TEXT      NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX audit_logs_created ON audit_logs (created_at);
CREATE INDEX audit_logs_user ON audit_logs (user_id, created_at);
CREATE INDEX audit_logs_record ON audit_logs (table_name, record_id);

-- +goose Down
DROP TABLE audit_logs;
DROP TABLE login_throttle;
DROP TABLE jwt_blacklist;
DROP TABLE jwt_outstanding;
DROP INDEX users_team;
DROP INDEX users_role;
DROP INDEX users_legacy_hps_id_key;
ALTER TABLE users DROP COLUMN updated_at;
ALTER TABLE users DROP COLUMN tokens_valid_after;
ALTER TABLE users DROP COLUMN email_verified;
ALTER TABLE users DROP COLUMN is_temp_password;
ALTER TABLE users DROP COLUMN must_change_password;
ALTER TABLE users DROP COLUMN default_team_id;
ALTER TABLE users DROP COLUMN team_id;
ALTER TABLE users DROP COLUMN role_id;
ALTER TABLE users DROP COLUMN legacy_hps_id;
DROP TABLE team_memberships;
DROP TABLE teams;
DROP TABLE role_permissions;
DROP TABLE permissions;
DROP TABLE roles;
