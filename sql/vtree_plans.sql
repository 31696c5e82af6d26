-- When the planner uses a vtree index, and what a scan does with odd queries.

SET client_min_messages = warning;
CREATE TABLE items (id int PRIMARY KEY, embedding vector(16));
INSERT INTO items SELECT * FROM test_items();
ANALYZE items;
CREATE INDEX items_l2 ON items USING vtree (embedding) WITH (branching_factor = 4, max_leaf_size = 200);

-- the planner uses the index for ORDER BY distance LIMIT, not for other queries
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <-> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE id < 10;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <=> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 5;

-- a NULL query still returns rows (in no useful order); NULL rows are not indexed
SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> NULL LIMIT 5) s;

-- a query with the wrong number of dimensions
SELECT sqlstate_of($$SELECT id FROM items ORDER BY embedding <-> '[1,2,3]' LIMIT 1$$);

DROP TABLE items;
