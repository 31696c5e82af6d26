-- Shared by every regression test (pg_regress runs them in one database, in
-- name order, so this file runs first): sqlstate_of() runs a statement and
-- shows the SQLSTATE and message it raised, or 'no error'; test_items() the
-- rows the vtree files index (each makes its own table of them).
CREATE FUNCTION sqlstate_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- 3,000 deterministic vectors of 16 dimensions (sines), then one NULL.
CREATE FUNCTION test_items() RETURNS TABLE (id int, embedding vector(16)) LANGUAGE sql AS $$
    SELECT i, (SELECT array_agg(sin(i * 0.37 + j * 1.3 + (i % 7) * j) * (1 + (i % 5)))::real[]
               FROM generate_series(1, 16) j)::vector
    FROM generate_series(1, 3000) i
    UNION ALL SELECT 3001, NULL
$$;
