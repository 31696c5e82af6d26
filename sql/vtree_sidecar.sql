-- The sidecar's life: created with the index, replaced by REINDEX, TRUNCATE
-- and VACUUM FULL (also twice in one transaction), kept by SET TABLESPACE,
-- removed by DROP (also from a session that never loaded the library), found
-- by vectordb_cleanup_orphans() when nothing owns it, never shared with a
-- database cloned from a template, and never unmapped under an open cursor.
SET client_min_messages = warning;
CREATE TABLE life (id int, v vector(4));
INSERT INTO life SELECT i, ARRAY[i % 17, i % 5, i % 3, 1]::real[]::vector FROM generate_series(1, 500) i;
CREATE INDEX life_v ON life USING vtree (v);
SELECT sidecar_path AS first_path FROM vectordb_index_stats('life_v') \gset
SELECT (pg_stat_file(:'first_path')).size > 4096 AS created,
       ((pg_stat_file(:'first_path')).size - 4096) / 32 AS records;
-- mode 0600 in a 0700 directory (checked through ls, as stat output is not portable)
CREATE TEMP TABLE modes (line text);
COPY modes FROM PROGRAM 'cd "$(dirname "$(ls -d pg_vectordb/*.vec | head -n 1)")" && stat -c %a . && stat -c %a *.vec | sort -u';
SELECT line AS mode FROM modes;

-- REINDEX replaces the file; the old one goes at commit
REINDEX INDEX life_v;
SELECT sidecar_path AS second_path FROM vectordb_index_stats('life_v') \gset
SELECT :'first_path' <> :'second_path' AS new_file, pg_stat_file(:'first_path', true) IS NULL AS old_removed,
       (pg_stat_file(:'second_path', true)).size > 0 AS new_exists;

-- TRUNCATE and VACUUM FULL too
TRUNCATE life;
SELECT sidecar_path AS third_path FROM vectordb_index_stats('life_v') \gset
SELECT pg_stat_file(:'second_path', true) IS NULL AS old_removed, (pg_stat_file(:'third_path', true)).size AS empty_store;
INSERT INTO life SELECT i, ARRAY[i % 17, i % 5, i % 3, 1]::real[]::vector FROM generate_series(1, 100) i;
VACUUM FULL life;
SELECT sidecar_path AS fourth_path FROM vectordb_index_stats('life_v') \gset
SELECT pg_stat_file(:'third_path', true) IS NULL AS old_removed, live_entries FROM vectordb_index_stats('life_v');

-- a REINDEX rolled back keeps the old file and removes the new one
BEGIN;
REINDEX INDEX life_v;
SELECT sidecar_path AS rolled_back_path FROM vectordb_index_stats('life_v') \gset
ROLLBACK;
SELECT pg_stat_file(:'rolled_back_path', true) IS NULL AS new_removed,
       (pg_stat_file(:'fourth_path', true)).size > 0 AS old_kept,
       sidecar_status FROM vectordb_index_stats('life_v');

-- DROP TABLE from a fresh session, which has not loaded the library yet
\c
DROP TABLE life;
SELECT pg_stat_file(:'fourth_path', true) IS NULL AS removed_by_drop;

-- DROP INDEX rolled back keeps the file
CREATE TABLE keep (v vector(2));
INSERT INTO keep VALUES ('[1,2]'), ('[3,4]');
CREATE INDEX keep_v ON keep USING vtree (v);
SELECT sidecar_path AS keep_path FROM vectordb_index_stats('keep_v') \gset
BEGIN;
DROP INDEX keep_v;
ROLLBACK;
SELECT (pg_stat_file(:'keep_path', true)).size > 0 AS kept_after_rollback;
DROP INDEX keep_v;
SELECT pg_stat_file(:'keep_path', true) IS NULL AS removed_by_drop_index;
DROP TABLE keep;

-- two builds of one index in one transaction: the last one's file stays
BEGIN;
CREATE TABLE twice (id int, v vector(3));
INSERT INTO twice SELECT i, ARRAY[i % 7, i % 5, 1]::real[]::vector FROM generate_series(1, 300) i;
CREATE INDEX twice_v ON twice USING vtree (v);
TRUNCATE twice;
INSERT INTO twice SELECT i, ARRAY[i % 7, i % 5, 1]::real[]::vector FROM generate_series(1, 300) i;
COMMIT;
SELECT sidecar_status, live_entries FROM vectordb_index_stats('twice_v');
BEGIN;
REINDEX INDEX twice_v;
REINDEX INDEX twice_v;
COMMIT;
SELECT sidecar_status, live_entries FROM vectordb_index_stats('twice_v');
-- ... unless its subtransaction rolls back: then the one before stays
BEGIN;
REINDEX INDEX twice_v;
SAVEPOINT second;
REINDEX INDEX twice_v;
ROLLBACK TO second;
COMMIT;
SELECT sidecar_status, live_entries FROM vectordb_index_stats('twice_v');
SELECT count(*) AS files_of_index FROM pg_ls_dir('pg_vectordb') f
WHERE f LIKE '%\_idx' || 'twice_v'::regclass::oid || '\_%.vec';

-- a tablespace move keeps the file; cleanup leaves it alone, DROP removes it
SET allow_in_place_tablespaces = on;
CREATE TABLESPACE vdb_moved LOCATION '';
SELECT sidecar_path AS twice_path FROM vectordb_index_stats('twice_v') \gset
ALTER INDEX twice_v SET TABLESPACE vdb_moved;
SELECT count(*) FILTER (WHERE name LIKE '%\_idx' || 'twice_v'::regclass::oid || '\_%') AS removed_of_moved_index
FROM vectordb_cleanup_orphans() name;
SELECT sidecar_status, sidecar_path = :'twice_path' AS same_file,
       (pg_stat_file(:'twice_path', true)).size > 0 AS file_kept FROM vectordb_index_stats('twice_v');
SET enable_seqscan = off;
SELECT id FROM twice ORDER BY v <-> '[3,3,1]', id LIMIT 3;
RESET enable_seqscan;
DROP TABLE twice;
SELECT pg_stat_file(:'twice_path', true) IS NULL AS removed_by_drop;
DROP TABLESPACE vdb_moved;

-- a cursor keeps its sidecar while the same backend rebuilds it
CREATE TABLE curs (id int, v vector(3));
SELECT setseed(0.25);
INSERT INTO curs SELECT i, ARRAY[random(), random(), random()]::real[]::vector FROM generate_series(1, 2000) i;
CREATE INDEX curs_v ON curs USING vtree (v);
CREATE TEMP TABLE curs_exact AS
SELECT id, row_number() OVER (ORDER BY v <-> '[0.5,0.3,0.1]', id) AS rank FROM curs;
SET enable_seqscan = off;
SET vtree.probes = 100000;
EXPLAIN (COSTS OFF) SELECT id FROM curs ORDER BY v <-> '[0.5,0.3,0.1]';
CREATE TEMP TABLE curs_result (fetched int, out_of_place int, rebuilt bigint);
DO $$
DECLARE
    c refcursor;
    r record;
    n int := 0;
    bad int := 0;
    rebuilt bigint;
BEGIN
    OPEN c FOR SELECT id FROM curs ORDER BY v <-> '[0.5,0.3,0.1]';
    FOR i IN 1..50 LOOP
        FETCH c INTO r;
        n := n + 1;
        IF r.id IS DISTINCT FROM (SELECT id FROM curs_exact WHERE rank = n) THEN bad := bad + 1; END IF;
    END LOOP;
    rebuilt := vectordb_rebuild_sidecar('curs_v');
    FOR i IN 1..150 LOOP
        FETCH c INTO r;
        n := n + 1;
        IF r.id IS DISTINCT FROM (SELECT id FROM curs_exact WHERE rank = n) THEN bad := bad + 1; END IF;
    END LOOP;
    CLOSE c;
    INSERT INTO curs_result VALUES (n, bad, rebuilt);
END $$;
SELECT * FROM curs_result;
RESET vtree.probes;
RESET enable_seqscan;
DROP TABLE curs;

-- a database cloned from a template never uses the template's sidecar: its
-- scans rerank from its own table until its own sidecar is built
CREATE DATABASE vdb_template;
\c vdb_template
SET client_min_messages = warning;
CREATE EXTENSION vectordb;
CREATE TABLE t (id int, v vector(3));
INSERT INTO t SELECT i, ARRAY[i % 13, i % 7, i % 3]::real[]::vector FROM generate_series(1, 400) i;
CREATE INDEX t_v ON t USING vtree (v);
\c contrib_regression
CREATE DATABASE vdb_clone TEMPLATE vdb_template;
\c vdb_clone
SET client_min_messages = warning;
SELECT sidecar_path AS template_file, (pg_stat_file(sidecar_path)).size AS template_size
FROM vectordb_index_stats('t_v') \gset
SELECT regexp_replace(sidecar_status, 'database [0-9]+', 'database N') AS clone_status,
       sidecar_path IS NOT NULL AS path_shown FROM vectordb_index_stats('t_v');
-- the clone's rows take the same TIDs as the template's next rows would
-- (the warning that they go without sidecar records names a database OID)
SET client_min_messages = error;
INSERT INTO t SELECT i, ARRAY[100 + i, 0, 0]::real[]::vector FROM generate_series(401, 450) i;
SET client_min_messages = warning;
SELECT (pg_stat_file(:'template_file')).size = :template_size AS template_file_untouched;
SET enable_seqscan = off;
SET vtree.probes = 100000;
SELECT count(*) FILTER (WHERE (SELECT id FROM t u ORDER BY u.v <-> t.v LIMIT 1) = t.id) AS found_itself
FROM t WHERE id > 400;
SELECT vectordb_rebuild_sidecar('t_v') AS rebuilt;
SELECT sidecar_status, sidecar_path <> :'template_file' AS own_file FROM vectordb_index_stats('t_v');
SELECT count(*) FILTER (WHERE (SELECT id FROM t u ORDER BY u.v <-> t.v LIMIT 1) = t.id) AS found_itself
FROM t WHERE id > 400;
\c vdb_template
SET client_min_messages = warning;
INSERT INTO t SELECT i, ARRAY[0, 100 + i, 0]::real[]::vector FROM generate_series(401, 450) i;
SELECT sidecar_status, sidecar_path = :'template_file' AS same_file FROM vectordb_index_stats('t_v');
SET enable_seqscan = off;
SELECT count(*) FILTER (WHERE (SELECT id FROM t u ORDER BY u.v <-> t.v LIMIT 1) = t.id) AS found_itself
FROM t WHERE id > 400;
SELECT vectordb_check('t_v') AS template_clean;
\c contrib_regression
SET client_min_messages = warning;
SELECT oid AS clone_oid FROM pg_database WHERE datname = 'vdb_clone' \gset
SELECT oid AS template_oid FROM pg_database WHERE datname = 'vdb_template' \gset
LOAD 'vectordb';
DROP DATABASE vdb_clone;
DROP DATABASE vdb_template;
-- dropping a database removes its sidecars
SELECT count(*) AS files_of_dropped_databases FROM pg_ls_dir('pg_vectordb') f
WHERE f LIKE '%\_db' || :clone_oid || '\_%' OR f LIKE '%\_db' || :template_oid || '\_%';

-- orphans: a file of a database that does not exist, one of another server
-- (left alone), and a stale generation
SELECT 'sys' || system_identifier || '_db4000000000_idx1_00000000000000aa.vec' AS gone_db_file,
       'sys' || (system_identifier + 1) || '_db4000000000_idx1_00000000000000aa.vec' AS foreign_file
FROM pg_control_system() \gset
SET vdb.gone = :'gone_db_file';
SET vdb.other_server = :'foreign_file';
DO $$ BEGIN
    EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', 'cat > pg_vectordb/' || current_setting('vdb.gone'));
    EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', 'cat > pg_vectordb/' || current_setting('vdb.other_server'));
END $$;
CREATE TABLE orph (v vector(2));
INSERT INTO orph VALUES ('[1,2]');
CREATE INDEX orph_v ON orph USING vtree (v);
SELECT sidecar_path AS orph_path FROM vectordb_index_stats('orph_v') \gset
SELECT regexp_replace(:'orph_path', '_[0-9a-f]{16}\.vec$', '_00000000000000bb.vec') AS stale_path \gset
COPY (SELECT 'x') TO PROGRAM 'cat > pg_vectordb/not-a-sidecar.txt';
SET vdb.copy = :'orph_path';
SET vdb.stale = :'stale_path';
DO $$ BEGIN
    EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', 'cp ' || current_setting('vdb.copy') || ' ' || current_setting('vdb.stale'));
END $$;
SELECT regexp_replace(name, 'sys[0-9]+_db[0-9]+_idx[0-9]+_', 'sys*_db*_idx*_') AS removed
FROM vectordb_cleanup_orphans() name ORDER BY 1;
SELECT (pg_stat_file(:'orph_path', true)).size > 0 AS live_file_kept,
       (pg_stat_file('pg_vectordb/not-a-sidecar.txt', true)).size > 0 AS other_files_kept,
       (pg_stat_file('pg_vectordb/' || :'foreign_file', true)).size > 0 AS other_servers_file_kept;
DO $$ BEGIN
    EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', 'rm -f pg_vectordb/not-a-sidecar.txt pg_vectordb/' || current_setting('vdb.other_server'));
END $$;
DROP TABLE orph;

-- vectordb_check is cancelled like any statement, leaking nothing; and then clean
CREATE TABLE chk AS SELECT i AS id, ARRAY[random(), random(), random(), random()]::real[]::vector(4) AS v
FROM generate_series(1, 50000) i;
CREATE INDEX chk_v ON chk USING vtree (v);
SET client_min_messages = notice;
SET statement_timeout = '5ms';
SELECT vectordb_check('chk_v');
RESET statement_timeout;
SELECT vectordb_check('chk_v') AS clean;
SET client_min_messages = warning;
DROP TABLE chk;
