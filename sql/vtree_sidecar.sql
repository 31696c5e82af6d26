-- The sidecar's life: created with the index, replaced by REINDEX, TRUNCATE
-- and VACUUM FULL, removed by DROP (also from a session that never loaded the
-- library), and found by vectordb_cleanup_orphans() when nothing owns it.
SET client_min_messages = warning;
CREATE TABLE life (id int, v vector(4));
INSERT INTO life SELECT i, ARRAY[i % 17, i % 5, i % 3, 1]::real[]::vector FROM generate_series(1, 500) i;
CREATE INDEX life_v ON life USING vtree (v);
SELECT sidecar_path AS first_path FROM vectordb_index_stats('life_v') \gset
SELECT (pg_stat_file(:'first_path')).size > 4096 AS created,
       ((pg_stat_file(:'first_path')).size - 4096) / 24 AS records;
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

-- orphans: a file of a database that does not exist, and a stale generation
COPY (SELECT 'x') TO PROGRAM 'cat > pg_vectordb/db4000000000_idx1_rel1_00000000000000aa.vec';
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
SELECT regexp_replace(name, 'db[0-9]+_idx[0-9]+_rel[0-9]+_', 'db*_idx*_rel*_') AS removed
FROM vectordb_cleanup_orphans() name ORDER BY 1;
SELECT (pg_stat_file(:'orph_path', true)).size > 0 AS live_file_kept,
       (pg_stat_file('pg_vectordb/not-a-sidecar.txt', true)).size > 0 AS other_files_kept;
COPY (SELECT 1) TO PROGRAM 'rm -f pg_vectordb/not-a-sidecar.txt';
DROP TABLE orph;
