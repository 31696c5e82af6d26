-- The vtree access method: operator classes, options, settings, plans, errors
-- and the administration functions. Data is deterministic (sines), so every
-- output here is stable.

SET client_min_messages = warning;
CREATE TABLE items (id int PRIMARY KEY, embedding vector(16));
INSERT INTO items
SELECT i, (SELECT array_agg(sin(i * 0.37 + j * 1.3 + (i % 7) * j) * (1 + (i % 5)))::real[]
           FROM generate_series(1, 16) j)::vector
FROM generate_series(1, 3000) i;
INSERT INTO items VALUES (3001, NULL);
ANALYZE items;

-- operator classes validate
SELECT opcname, amvalidate(c.oid) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE a.amname = 'vtree' ORDER BY opcname;

-- a default L2 index with small leaves, and its shape
CREATE INDEX items_l2 ON items USING vtree (embedding) WITH (branching_factor = 4, max_leaf_size = 200);
SELECT depth >= 2 AS deep, leaves > 4 AS many_leaves, live_entries, dead_entries, min_leaf_size > 0 AS no_empty_leaf,
       max_leaf_size <= 400 AS leaves_bounded, storage, is_using_mmap, dimensions, metric, quantizer, sidecar_status,
       sidecar_bytes > 3000 * 64 AS sidecar_holds_vectors, relation_bytes > 0 AS has_pages,
       memory_usage_bytes >= relation_bytes AS memory_counts_pages, sidecar_path LIKE '%.vec' AS path_shown
FROM vectordb_index_stats('items_l2');

-- the planner uses the index for ORDER BY distance LIMIT, not for other queries
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <-> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE id < 10;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <=> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 5;

-- probes covering every leaf give exactly the rows of an exact scan
SET vtree.probes = 1000;
SET vtree.rerank_factor = 1000;
CREATE TEMP TABLE q AS SELECT embedding AS v FROM items WHERE id IN (17, 1234, 2999);
SELECT count(*) AS mismatches FROM q, LATERAL (
    SELECT array_agg(id ORDER BY d, id) AS ids FROM (
        SELECT id, embedding <-> q.v AS d FROM items ORDER BY embedding <-> q.v LIMIT 10) s) via_index,
    LATERAL (SELECT array_agg(id ORDER BY d, id) AS ids FROM (
        SELECT id, l2_distance(embedding, q.v) AS d FROM items WHERE embedding IS NOT NULL
        ORDER BY 2, 1 LIMIT 10) s) exact
WHERE via_index.ids IS DISTINCT FROM exact.ids;
SELECT vectordb_recall('items_l2', v, 10) AS recall FROM q;
RESET vtree.probes;
RESET vtree.rerank_factor;

-- a NULL query still returns rows (in no useful order); NULL rows are not indexed
SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> NULL LIMIT 5) s;

-- settings
SHOW vtree.probes;
SHOW vtree.rerank_factor;
SHOW vtree.iterative_scan;
SHOW vtree.max_scan_tuples;
SELECT sqlstate_of($$SET vtree.probes = 0$$);
SELECT sqlstate_of($$SET vtree.iterative_scan = 'sideways'$$);
SELECT sqlstate_of($$SET vtree.rerank_factor = -1$$);
SELECT sqlstate_of($$SET vectordb.sidecar_dir = '/tmp'$$);

-- options out of range or unknown
SELECT sqlstate_of($$CREATE INDEX ON items USING vtree (embedding) WITH (branching_factor = 1)$$);
SELECT sqlstate_of($$CREATE INDEX ON items USING vtree (embedding) WITH (max_leaf_size = 5)$$);
SELECT sqlstate_of($$CREATE INDEX ON items USING vtree (embedding) WITH (max_iterations = 0)$$);
SELECT sqlstate_of($$CREATE INDEX ON items USING vtree (embedding) WITH (quantizer = 'pq')$$);
SELECT sqlstate_of($$CREATE INDEX ON items USING vtree (embedding) WITH (storage = 'tape')$$);
SELECT sqlstate_of($$CREATE INDEX ON items USING vtree (embedding) WITH (leaves = 3)$$);

-- what vtree cannot index
-- (an expression it can: it is evaluated on the table's rows where the index needs them)
CREATE INDEX items_sum ON items USING vtree ((embedding + embedding));
SELECT vectordb_check('items_sum') AS expression_index_checked;
DROP INDEX items_sum;
SELECT sqlstate_of($$CREATE INDEX ON items USING vtree (embedding vector_ops)$$);
SELECT sqlstate_of($$CREATE INDEX ON items USING vtree (id)$$);
SELECT sqlstate_of($$CREATE INDEX ON items USING vtree (id, embedding)$$);
CREATE TABLE wide (v vector(3000));
SELECT sqlstate_of($$CREATE INDEX ON wide USING vtree (v) WITH (storage = pages)$$);
CREATE INDEX wide_mmap ON wide USING vtree (v);
DROP TABLE wide;

-- a query with the wrong number of dimensions
SELECT sqlstate_of($$SELECT id FROM items ORDER BY embedding <-> '[1,2,3]' LIMIT 1$$);

-- administration functions refuse what is not a vtree index
SELECT sqlstate_of($$SELECT * FROM vectordb_index_stats('items')$$);
SELECT sqlstate_of($$SELECT * FROM vectordb_index_stats('items_pkey')$$);
SELECT sqlstate_of($$SELECT vectordb_recall('items_l2', '[1,2,3]', 0)$$);

-- the other operator classes and options
CREATE INDEX items_ip ON items USING vtree (embedding vector_ip_ops) WITH (max_leaf_size = 300, quantizer = hamming);
CREATE INDEX items_cos ON items USING vtree (embedding vector_cosine_ops) WITH (storage = pages, max_leaf_size = 300);
SELECT indexrelid::regclass, metric, quantizer, storage, is_using_mmap, live_entries
FROM pg_index, vectordb_index_stats(indexrelid)
WHERE indrelid = 'items'::regclass AND indexrelid::regclass::text LIKE 'items\_%' AND indexrelid <> 'items_pkey'::regclass
ORDER BY 1;
-- (a table this small is cheaper to sort; forbid that to see the plans)
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <#> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <=> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 5;
-- with every leaf probed and reranked they return exactly the exact-scan rows
SET vtree.probes = 1000;
SET vtree.rerank_factor = 1000;
SELECT ARRAY(SELECT id FROM items ORDER BY embedding <=> v LIMIT 10)
       = ARRAY(SELECT id FROM items WHERE embedding IS NOT NULL ORDER BY cosine_distance(embedding, v), id LIMIT 10)
       AS cosine_exact,
       ARRAY(SELECT id FROM items ORDER BY embedding <#> v LIMIT 10)
       = ARRAY(SELECT id FROM items WHERE embedding IS NOT NULL ORDER BY -inner_product(embedding, v), id LIMIT 10)
       AS ip_exact
FROM q;
RESET vtree.probes;
RESET vtree.rerank_factor;
RESET enable_seqscan;
-- every index checks out, including after writes to storage = pages
INSERT INTO items SELECT 10000 + id, embedding FROM items WHERE id <= 300;
SELECT vectordb_check('items_l2') AS l2, vectordb_check('items_ip') AS ip, vectordb_check('items_cos') AS cos_pages;
DELETE FROM items WHERE id > 10000;
DROP INDEX items_ip, items_cos;

-- writes after the build: a new row is found, a deleted one is gone after VACUUM
INSERT INTO items VALUES (5000, '[9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9]');
SELECT id FROM items ORDER BY embedding <-> '[9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9]' LIMIT 1;
DELETE FROM items WHERE id = 5000;
VACUUM items;
SELECT id FROM items ORDER BY embedding <-> '[9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9]' LIMIT 1;
SELECT live_entries, dead_entries FROM vectordb_index_stats('items_l2');
SELECT vectordb_check('items_l2') AS checked_after_vacuum;

-- an index over an empty table accepts rows afterwards
CREATE TABLE later (id int, v vector(4));
CREATE INDEX later_v ON later USING vtree (v);
INSERT INTO later SELECT i, ARRAY[i, i * 2, 0, 1]::real[]::vector FROM generate_series(1, 50) i;
SELECT id FROM later ORDER BY v <-> '[10,20,0,1]' LIMIT 3;
SELECT leaves, live_entries FROM vectordb_index_stats('later_v');
DROP TABLE later;

-- 16,000 dimensions: codes too wide for 8-code blocks, centroids across pages
CREATE TABLE huge (id int, v vector(16000));
INSERT INTO huge SELECT i, (SELECT array_agg(sin(i * 0.1 * j)) FROM generate_series(1, 16000) j)::real[]::vector
FROM generate_series(1, 40) i;
CREATE INDEX huge_v ON huge USING vtree (v) WITH (max_leaf_size = 10, branching_factor = 2);
SELECT leaves > 1 AS split, live_entries, dimensions FROM vectordb_index_stats('huge_v');
SET enable_seqscan = off;
SELECT count(*) AS found_itself FROM huge h WHERE (SELECT id FROM huge ORDER BY v <-> h.v LIMIT 1) = h.id;
INSERT INTO huge SELECT 100, (SELECT array_agg(cos(j)) FROM generate_series(1, 16000) j)::real[]::vector;
SELECT id FROM huge ORDER BY v <-> (SELECT v FROM huge WHERE id = 100) LIMIT 1;
RESET enable_seqscan;
DROP TABLE huge;

-- storage = pages at its limit: every record fills a vector page exactly
CREATE TABLE full_pages (id int, v vector(2036));
INSERT INTO full_pages SELECT i, array_fill(i::real, ARRAY[2036])::vector FROM generate_series(1, 3) i;
CREATE INDEX full_pages_v ON full_pages USING vtree (v) WITH (storage = pages);
INSERT INTO full_pages SELECT i, array_fill(i::real, ARRAY[2036])::vector FROM generate_series(4, 6) i;
SELECT vectordb_check('full_pages_v') AS checked, live_entries FROM vectordb_index_stats('full_pages_v');
SET enable_seqscan = off;
SELECT id FROM full_pages ORDER BY v <-> array_fill(5::real, ARRAY[2036])::vector LIMIT 2;
RESET enable_seqscan;
DROP TABLE full_pages;

-- zero vectors are not indexed under cosine (their direction is undefined)
CREATE TABLE dirs (id int, v vector(2));
INSERT INTO dirs VALUES (1, '[0,0]'), (2, '[1,0]'), (3, '[0,1]');
CREATE INDEX dirs_v ON dirs USING vtree (v vector_cosine_ops);
SELECT live_entries FROM vectordb_index_stats('dirs_v');
DROP TABLE dirs;

-- unlogged tables: the index is unlogged too, with an init fork (ambuildempty),
-- and answers like an exact scan (crash resets: test/scripts/vtree_unlogged.sh)
CREATE UNLOGGED TABLE scratch (id int, v vector(4));
INSERT INTO scratch SELECT i, ARRAY[sin(i), cos(i), sin(i * 2), cos(i * 3)]::vector FROM generate_series(1, 300) i;
CREATE INDEX scratch_v ON scratch USING vtree (v) WITH (max_leaf_size = 50);
SELECT relpersistence FROM pg_class WHERE relname = 'scratch_v';
SET enable_seqscan = off;
SET vtree.probes = 100000;
SELECT ARRAY(SELECT id FROM scratch ORDER BY v <-> '[0.5,0.5,0,0]' LIMIT 10)
     = ARRAY(SELECT id FROM scratch ORDER BY l2_distance(v, '[0.5,0.5,0,0]'), id LIMIT 10) AS same_as_exact;
RESET vtree.probes;
RESET enable_seqscan;
DROP TABLE scratch;

-- privileges: evict and cleanup are for superusers, the path only for owners
CREATE ROLE vtree_reader;
GRANT SELECT ON items TO vtree_reader;
SET ROLE vtree_reader;
SELECT sidecar_path IS NULL AS path_hidden, live_entries FROM vectordb_index_stats('items_l2');
SELECT sqlstate_of($$SELECT vectordb_evict('items_l2')$$);
SELECT sqlstate_of($$SELECT vectordb_rebuild_sidecar('items_l2')$$);
SELECT sqlstate_of($$SELECT * FROM vectordb_cleanup_orphans()$$);
SELECT sqlstate_of($$SELECT vectordb_check('items_l2')$$);
RESET ROLE;
DROP OWNED BY vtree_reader;
DROP ROLE vtree_reader;
-- without SELECT on the table: no statistics (they count its rows), no prewarm
CREATE ROLE vtree_stranger;
SET ROLE vtree_stranger;
SELECT sqlstate_of($$SELECT live_entries FROM vectordb_index_stats('items_l2')$$);
SELECT sqlstate_of($$SELECT vectordb_prewarm('items_l2')$$);
RESET ROLE;
DROP ROLE vtree_stranger;

DROP TABLE items;
