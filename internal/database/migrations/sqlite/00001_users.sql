-- Users with Django auth_user semantics (integer id, same columns), so the
-- legacy import can load ids unchanged. E-mail is unique ignoring case.
-- +goose Up
CREATE TABLE users (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    password     TEXT      NOT NULL,
    last_login   TIMESTAMP NULL,
    is_superuser BOOLEAN   NOT NULL DEFAULT 0,
    username     TEXT      NOT NULL,
    first_name   TEXT      NOT NULL DEFAULT '',
    last_name    TEXT      NOT NULL DEFAULT '',
    email        TEXT      NOT NULL DEFAULT '',
    is_staff     BOOLEAN   NOT NULL DEFAULT 0,
    is_active    BOOLEAN   NOT NULL DEFAULT 1,
    date_joined  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_username_key ON users (username);
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email)) WHERE email <> '';

-- +goose Down
DROP TABLE users;
