-- Who may call vtree's administration functions, and on what.

SET client_min_messages = warning;
CREATE TABLE items (id int PRIMARY KEY, embedding vector(16));
INSERT INTO items SELECT * FROM test_items();
ANALYZE items;
CREATE INDEX items_l2 ON items USING vtree (embedding) WITH (branching_factor = 4, max_leaf_size = 200);

-- administration functions refuse what is not a vtree index
SELECT sqlstate_of($$SELECT * FROM vectordb_index_stats('items')$$);
SELECT sqlstate_of($$SELECT * FROM vectordb_index_stats('items_pkey')$$);
SELECT sqlstate_of($$SELECT * FROM vectordb_tree_memory('items')$$);
SELECT sqlstate_of($$SELECT vectordb_recall('items_l2', '[1,2,3]', 0)$$);

-- privileges: evict and cleanup are for superusers, the path only for owners
CREATE ROLE vtree_reader;
GRANT SELECT ON items TO vtree_reader;
SET ROLE vtree_reader;
SELECT sidecar_path IS NULL AS path_hidden, live_entries FROM vectordb_index_stats('items_l2');
-- a small tree stays this backend's own: no image
SELECT private_bytes > 0 AS private, shared_bytes, image FROM vectordb_tree_memory('items_l2');
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
SELECT sqlstate_of($$SELECT * FROM vectordb_tree_memory('items_l2')$$);
RESET ROLE;
DROP ROLE vtree_stranger;

DROP TABLE items;
