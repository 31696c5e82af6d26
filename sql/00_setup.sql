-- Shared by every regression test (pg_regress runs them in one database, in
-- name order, so this file runs first): sqlstate_of() runs a statement and
-- shows the SQLSTATE and message it raised, or 'no error'.
CREATE FUNCTION sqlstate_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
