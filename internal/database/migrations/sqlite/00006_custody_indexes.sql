-- Substring filters of the custody lists: PostgreSQL gets trigram indexes
-- in this version; SQLite has no index for infix LIKE, so its filters scan
-- (the catalog and the inventory are small enough on a single-process
-- install). The version exists so both engines keep the same numbering.
-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
