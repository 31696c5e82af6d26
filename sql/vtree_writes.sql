-- Writes to an indexed table: rows found after INSERT, gone after DELETE and
-- VACUUM, an index created on an empty table, an unlogged table's index.

SET client_min_messages = warning;
CREATE TABLE items (id int PRIMARY KEY, embedding vector(16));
INSERT INTO items SELECT * FROM test_items();
ANALYZE items;
CREATE INDEX items_l2 ON items USING vtree (embedding) WITH (branching_factor = 4, max_leaf_size = 200);

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

-- After a mass DELETE the probes still reach the rows left: without VACUUM
-- (rows the executor finds dead do not use them up) and after it (leaves
-- whose entries are all dead are passed over); at the defaults, iterative
-- scans off.
CREATE TABLE purged AS SELECT * FROM test_items() WHERE embedding IS NOT NULL;
CREATE INDEX purged_v ON purged USING vtree (embedding) WITH (max_leaf_size = 20);
SELECT leaves > 50 AS many_leaves FROM vectordb_index_stats('purged_v');
DELETE FROM purged WHERE id % 100 <> 0;
SET enable_seqscan = off;
CREATE FUNCTION purged_answers() RETURNS TABLE (queries bigint, complete bigint, in_order bigint) LANGUAGE sql AS $$
    SELECT count(*), count(*) FILTER (WHERE n = 10), count(*) FILTER (WHERE ordered) FROM (
        SELECT (SELECT count(*) FROM (SELECT id FROM purged ORDER BY embedding <-> q.embedding LIMIT 10) a) AS n,
               (SELECT bool_and(d >= prev) FROM (SELECT d, lag(d, 1, 0::float8) OVER () AS prev FROM (
                   SELECT embedding <-> q.embedding AS d FROM purged ORDER BY embedding <-> q.embedding LIMIT 10) x) y) AS ordered
        FROM test_items() q WHERE q.id % 150 = 7) s
$$;
SELECT * FROM purged_answers();
VACUUM purged;
SELECT * FROM purged_answers();
RESET enable_seqscan;
DROP FUNCTION purged_answers();
DROP TABLE purged;

DROP TABLE items;
