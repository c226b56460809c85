-- Substring filters of the custody lists (icontains on product code and
-- serial, ?search= on the folded search columns) use trigram indexes when
-- the pg_trgm extension can be installed (it is a trusted extension: the
-- database owner may create it). Without it the filters still work, as
-- scans: the extension and the indexes are an optimisation, so a server
-- that refuses them only gets a notice.
-- +goose Up
-- +goose StatementBegin
DO $$
DECLARE
    ext_schema text;
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'pg_trgm not installed (%): custody substring filters will scan', SQLERRM;
    END;
    SELECT n.nspname INTO ext_schema
        FROM pg_extension AS e JOIN pg_namespace AS n ON n.oid = e.extnamespace
        WHERE e.extname = 'pg_trgm';
    IF ext_schema IS NOT NULL THEN
        EXECUTE format('CREATE INDEX IF NOT EXISTS productos_codigo_trgm ON productos USING gin (lower(codigo_producto) %I.gin_trgm_ops)', ext_schema);
        EXECUTE format('CREATE INDEX IF NOT EXISTS productos_search_trgm ON productos USING gin (search %I.gin_trgm_ops)', ext_schema);
        EXECUTE format('CREATE INDEX IF NOT EXISTS inventario_serie_trgm ON inventario USING gin (lower(numero_serie) %I.gin_trgm_ops)', ext_schema);
        EXECUTE format('CREATE INDEX IF NOT EXISTS inventario_search_trgm ON inventario USING gin (search %I.gin_trgm_ops)', ext_schema);
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP INDEX IF EXISTS inventario_search_trgm;
DROP INDEX IF EXISTS inventario_serie_trgm;
DROP INDEX IF EXISTS productos_search_trgm;
DROP INDEX IF EXISTS productos_codigo_trgm;
