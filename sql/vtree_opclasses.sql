-- vtree's operator classes: they validate, and each, with its options,
-- gives exactly an exact scan's rows with every leaf probed. Data is
-- deterministic (sines), so every output here is stable.

SET client_min_messages = warning;
CREATE TABLE items (id int PRIMARY KEY, embedding vector(16));
INSERT INTO items SELECT * FROM test_items();
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

-- zero vectors are not indexed under cosine (their direction is undefined)
CREATE TABLE dirs (id int, v vector(2));
INSERT INTO dirs VALUES (1, '[0,0]'), (2, '[1,0]'), (3, '[0,1]');
CREATE INDEX dirs_v ON dirs USING vtree (v vector_cosine_ops);
SELECT live_entries FROM vectordb_index_stats('dirs_v');
DROP TABLE dirs;

-- what vtree cannot index
-- (an expression it can: it is evaluated on the table's rows where the index needs them)
CREATE INDEX items_sum ON items USING vtree ((embedding + embedding));
SELECT vectordb_check('items_sum') AS expression_index_checked;
DROP INDEX items_sum;
SELECT sqlstate_of($$CREATE INDEX ON items USING vtree (embedding vector_ops)$$);
SELECT sqlstate_of($$CREATE INDEX ON items USING vtree (id)$$);
SELECT sqlstate_of($$CREATE INDEX ON items USING vtree (id, embedding)$$);

DROP TABLE items;
