-- vtree's index options and settings: defaults, ranges and their errors.

SET client_min_messages = warning;
CREATE TABLE items (id int PRIMARY KEY, embedding vector(16));
INSERT INTO items SELECT * FROM test_items();
ANALYZE items;

-- settings
SHOW vtree.probes;
SHOW vtree.rerank_factor;
SHOW vtree.iterative_scan;
SHOW vtree.max_scan_tuples;
SELECT sqlstate_of($$SET vtree.probes = -1$$);
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

DROP TABLE items;
