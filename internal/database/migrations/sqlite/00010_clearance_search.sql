-- ?search= on HPS requests: PostgreSQL gets a trigram index in this
-- version; SQLite has no index for infix LIKE, so the filter scans. The
-- version exists so both engines keep the same numbering.
-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
