-- Sessions: one row per login (or per adopted legacy refresh token). The
-- access and refresh tokens of a login carry its id as the `sid` claim,
-- and authentication checks that the session is not revoked in the same
-- statement that reads the user, so "end this session" and "end every
-- other session of this user" are exact (docs/identity.md).
-- +goose Up
CREATE TABLE auth_sessions (
    id             TEXT        PRIMARY KEY,
    user_id        INTEGER     NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     TIMESTAMP   NOT NULL,
    expires_at     TIMESTAMP   NOT NULL,
    revoked_at     TIMESTAMP   NULL,
    revoked_reason TEXT        NOT NULL DEFAULT '',
    ip_address     TEXT        NOT NULL DEFAULT '',
    user_agent     TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX auth_sessions_user_live ON auth_sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX auth_sessions_expires ON auth_sessions (expires_at);

-- +goose Down
DROP TABLE auth_sessions;
