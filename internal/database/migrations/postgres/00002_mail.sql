-- Outgoing mail (package mail owns this table). One row per message, keyed
-- by an idempotency key so that a retried enqueue never queues a second
-- message; status 'sent' stops a retried send job from sending again.
-- message_id is the RFC 5322 Message-ID every attempt carries, so that the
-- rare duplicate (relay accepted, process died before 'sent') is
-- recognisable downstream. reply_to overrides the configured Reply-To.
-- +goose Up
CREATE TABLE mail_messages (
    id              UUID PRIMARY KEY,
    idempotency_key TEXT        NOT NULL,
    message_id      TEXT        NOT NULL,
    template        TEXT        NOT NULL,
    to_addr         TEXT        NOT NULL,
    reply_to        TEXT        NOT NULL DEFAULT '',
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
