-- HPS request reads (docs/clearance.md): the stats count by status and
-- type, and "expiring soon" by expiry date, from one covering index
-- instead of the table; the team scope reaches a user's requests newest
-- first.
-- +goose Up
CREATE INDEX hps_requests_stats ON hps_requests (status, request_type, expires_at);
CREATE INDEX hps_requests_user_created ON hps_requests (user_id, created_at);

-- +goose Down
DROP INDEX hps_requests_user_created;
DROP INDEX hps_requests_stats;
