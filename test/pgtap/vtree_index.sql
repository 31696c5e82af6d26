-- Behaviour of vtree indexes on seeded, clustered data: recall, exactness with
-- full probes, writes after the build, iterative scans, damaged sidecars and
-- the two storage modes.
BEGIN;
SELECT plan(19);
SET client_min_messages = error;

SELECT setseed(0.2024);
-- 40 clusters in 32 dimensions, 6000 rows.
CREATE TEMP TABLE centers AS
SELECT c, (SELECT array_agg((random() * 8 - 4)::real) FROM generate_series(1, 32) WHERE c > 0) AS mu
FROM generate_series(1, 40) c;
CREATE TABLE docs (id int PRIMARY KEY, embedding vector(32));
INSERT INTO docs
SELECT i, (SELECT array_agg((m + (random() - 0.5) * 2)::real) FROM unnest(mu) m)::vector
FROM generate_series(1, 6000) i JOIN centers ON c = 1 + i % 40;
CREATE TEMP TABLE queries AS
SELECT q, (SELECT array_agg((m + (random() - 0.5) * 2.5)::real) FROM unnest(mu) m)::vector AS v
FROM generate_series(1, 25) q JOIN centers ON c = 1 + (q * 7) % 40;
CREATE INDEX docs_idx ON docs USING vtree (embedding) WITH (max_leaf_size = 300);

-- recall@10 of the index (current settings) against an exact scan, averaged over the queries
CREATE FUNCTION pg_temp.mean_recall() RETURNS float8 LANGUAGE sql AS $$
    SELECT avg(hits / 10.0) FROM (
        SELECT q, (SELECT count(*) FROM
                     (SELECT id FROM docs ORDER BY embedding <-> v LIMIT 10) a
                     JOIN (SELECT id FROM docs ORDER BY l2_distance(embedding, v) LIMIT 10) b USING (id)) AS hits
        FROM queries) s $$;
CREATE FUNCTION pg_temp.exact_mismatches() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM queries
    WHERE ARRAY(SELECT id FROM docs ORDER BY embedding <-> v LIMIT 10)
          IS DISTINCT FROM ARRAY(SELECT id FROM docs ORDER BY l2_distance(embedding, v), id LIMIT 10) $$;

CREATE FUNCTION pg_temp.plan_of(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; result text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP result := result || line || E'\n'; END LOOP;
    RETURN result;
END $$;

SELECT ok(pg_temp.plan_of($$SELECT id FROM docs ORDER BY embedding <-> (SELECT v FROM queries WHERE q = 1) LIMIT 10$$)
          LIKE '%Index Scan using docs_idx%', 'the planner picks the index for ORDER BY <-> LIMIT on its own');
-- From here on the index is forced wherever it can serve, so every check exercises it.
SET enable_seqscan = off;
SELECT ok(pg_temp.mean_recall() >= 0.9, 'recall@10 >= 0.9 with default settings');

SET vtree.probes = 100000;
SET vtree.rerank_factor = 1000;
SELECT is(pg_temp.exact_mismatches(), 0::bigint, 'probing every leaf gives exactly the exact-scan rows');

-- writes after the build
INSERT INTO docs SELECT 10000 + q, v FROM queries;
SELECT is((SELECT count(*) FROM queries
           WHERE (SELECT id FROM docs ORDER BY embedding <-> v LIMIT 1) <> 10000 + q), 0::bigint,
          'rows inserted after the build are found');
UPDATE docs SET embedding = embedding + embedding WHERE id BETWEEN 1 AND 50;
SELECT is((SELECT count(*) FROM docs d WHERE id BETWEEN 1 AND 50
           AND (SELECT id FROM docs ORDER BY embedding <-> d.embedding LIMIT 1) <> d.id), 0::bigint,
          'updated rows are found at their new position');
DELETE FROM docs WHERE id > 10000;
SELECT is((SELECT count(*) FROM queries
           WHERE (SELECT id FROM docs ORDER BY embedding <-> v LIMIT 1) > 10000), 0::bigint,
          'deleted rows never return');
RESET vtree.probes;
RESET vtree.rerank_factor;

-- iterative scan under a selective filter
SET vtree.probes = 1;
SET vtree.iterative_scan = relaxed_order;
SELECT is((SELECT count(*) FROM queries, LATERAL (
              SELECT id FROM docs WHERE id % 97 = 0 ORDER BY embedding <-> v LIMIT 10) s), 250::bigint,
          'relaxed_order iterative scan returns the LIMIT under a filter keeping 1% of rows');
SET vtree.iterative_scan = strict_order;
SELECT is((SELECT count(*) FROM queries q, LATERAL (
              SELECT d, lag(d) OVER (ORDER BY n) AS prev FROM (
                  SELECT row_number() OVER () AS n, embedding <-> q.v AS d FROM (
                      SELECT embedding FROM docs WHERE id % 97 = 0 ORDER BY embedding <-> q.v LIMIT 10) x) y) z
           WHERE z.d < z.prev), 0::bigint, 'strict_order returns rows in distance order');
SET vtree.iterative_scan = off;
SELECT ok((SELECT count(*) FROM queries, LATERAL (
              SELECT id FROM docs WHERE id % 97 = 0 ORDER BY embedding <-> v LIMIT 10) s) < 250,
          'without iterative scan one probe cannot fill the LIMIT under that filter');
RESET vtree.iterative_scan;
RESET vtree.probes;

-- damaged sidecars: still exactly the exact-scan rows (full probes), with a warning
SET vtree.probes = 100000;
SET vtree.rerank_factor = 1000;
CREATE TEMP TABLE side AS SELECT sidecar_path AS path FROM vectordb_index_stats('docs_idx');
DO $$ BEGIN EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', 'truncate -s 5000 ' || (SELECT path FROM side)); END $$;
SELECT is(pg_temp.exact_mismatches(), 0::bigint, 'a truncated sidecar still gives the exact rows');
DO $$ BEGIN EXECUTE format('COPY (SELECT 1) TO PROGRAM %L',
    'dd if=/dev/zero of=' || (SELECT path FROM side) || ' bs=4096 count=1 conv=notrunc status=none'); END $$;
SELECT is(pg_temp.exact_mismatches(), 0::bigint, 'a zeroed sidecar header still gives the exact rows');
DO $$ BEGIN EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', 'rm -f ' || (SELECT path FROM side)); END $$;
SELECT is(pg_temp.exact_mismatches(), 0::bigint, 'a deleted sidecar still gives the exact rows');
CREATE TABLE other_docs AS SELECT * FROM docs WHERE id <= 500;
CREATE INDEX other_idx ON other_docs USING vtree (embedding);
DO $$ BEGIN EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', 'cp ' ||
    (SELECT sidecar_path FROM vectordb_index_stats('other_idx')) || ' ' || (SELECT path FROM side)); END $$;
SELECT is(pg_temp.exact_mismatches(), 0::bigint, 'another index''s sidecar in its place still gives the exact rows');
DO $$ BEGIN EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', 'chmod 000 ' || (SELECT path FROM side)); END $$;
SELECT is(pg_temp.exact_mismatches(), 0::bigint, 'an unreadable sidecar still gives the exact rows');
DO $$ BEGIN EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', 'rm -f ' || (SELECT path FROM side)); END $$;
SELECT ok(vectordb_rebuild_sidecar('docs_idx') >= 6000
          AND (SELECT sidecar_status FROM vectordb_index_stats('docs_idx')) = 'ok',
          'vectordb_rebuild_sidecar repairs it');

-- a build that does not fit maintenance_work_mem trains on a sample and assigns every row after
SET maintenance_work_mem = '1MB';
CREATE INDEX docs_sampled ON docs USING vtree (embedding) WITH (max_leaf_size = 300);
RESET maintenance_work_mem;
SELECT is((SELECT live_entries + dead_entries FROM vectordb_index_stats('docs_sampled')),
          (SELECT live_entries + dead_entries FROM vectordb_index_stats('docs_idx')),
          'a sampled build indexes every row');
DROP INDEX docs_idx;
SELECT is(pg_temp.exact_mismatches(), 0::bigint, 'a sampled build gives the exact rows with full probes');
DROP INDEX docs_sampled;
CREATE INDEX docs_idx ON docs USING vtree (embedding) WITH (max_leaf_size = 300);

-- storage = pages gives the same rows as mmap
CREATE INDEX docs_pages ON docs USING vtree (embedding) WITH (max_leaf_size = 300, storage = pages);
DROP INDEX docs_idx;
SELECT is(pg_temp.exact_mismatches(), 0::bigint, 'storage = pages gives the exact rows too');

-- a CREATE INDEX rolled back takes its sidecar with it
SAVEPOINT before_index;
CREATE INDEX docs_doomed ON docs USING vtree (embedding);
SELECT sidecar_path AS doomed_path FROM vectordb_index_stats('docs_doomed') \gset
SELECT (pg_stat_file(:'doomed_path', true)).size > 0 AS existed \gset
ROLLBACK TO SAVEPOINT before_index;
SELECT ok(:'existed' AND (pg_stat_file(:'doomed_path', true)).size IS NULL,
          'a rolled back CREATE INDEX removes its sidecar');

SELECT * FROM finish();
ROLLBACK;
