-- Deleting a movement clears inventario.ultimo_movimiento_id (ON DELETE
-- SET NULL); without this index every deleted movement scanned the whole
-- inventory (a 200-line document took ~1 s to delete).
-- +goose Up
CREATE INDEX inventario_ultimo_movimiento ON inventario (ultimo_movimiento_id);

-- +goose Down
DROP INDEX inventario_ultimo_movimiento;
