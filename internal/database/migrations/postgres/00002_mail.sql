-- Outgoing mail. One row per message, keyed by an idempotency key so that a
-- retried enqueue or a retried send job never produces a second message.
-- +goose Up
CREATE TABLE mail_messages (
    id              UUID PRIMARY KEY,
    idempotency_key TEXT        NOT NULL,
    template        TEXT        NOT NULL,
    to_addr         TEXT        NOT NULL,
    subject         TEXT        NOT NULL,
    body_text       TEXT        NOT NULL,
    body_html       TEXT        NOT NULL DEFAULT '',
    status          TEXT        NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts        INTEGER     NOT NULL DEFAULT 0,
    last_error      TEXT        NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ NULL
);
CREATE UNIQUE INDEX mail_messages_idempotency_key ON mail_messages (idempotency_key);
CREATE INDEX mail_messages_status ON mail_messages (status, created_at);

-- +goose Down
DROP TABLE mail_messages;
