-- vectordb 0.2.0: the vtree index access method and its administration functions.
\echo Use "CREATE EXTENSION vectordb" to load this file. \quit

CREATE FUNCTION vtree_handler(internal) RETURNS index_am_handler
    AS 'MODULE_PATHNAME' LANGUAGE C;
CREATE ACCESS METHOD vtree TYPE INDEX HANDLER vtree_handler;
COMMENT ON ACCESS METHOD vtree IS 'hierarchical k-means tree with binary codes and exact rerank';

-- Support function 1 of each operator class is its distance function; it
-- tells the index which metric to cluster and search with.
CREATE OPERATOR CLASS vector_l2_ops
    DEFAULT FOR TYPE vector USING vtree AS
    OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
    FUNCTION 1 l2_distance(vector, vector);

CREATE OPERATOR CLASS vector_ip_ops
    FOR TYPE vector USING vtree AS
    OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops,
    FUNCTION 1 vector_negative_inner_product(vector, vector);

CREATE OPERATOR CLASS vector_cosine_ops
    FOR TYPE vector USING vtree AS
    OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops,
    FUNCTION 1 cosine_distance(vector, vector);

-- Administration.
CREATE FUNCTION vectordb_index_stats(
    index regclass,
    OUT depth int4, OUT nodes int4, OUT leaves int4,
    OUT min_leaf_size int8, OUT avg_leaf_size float8, OUT max_leaf_size int8,
    OUT live_entries int8, OUT dead_entries int8,
    OUT relation_bytes int8, OUT sidecar_bytes int8, OUT sidecar_path text,
    OUT storage text, OUT is_using_mmap bool, OUT memory_usage_bytes int8,
    OUT dimensions int4, OUT metric text, OUT quantizer text, OUT sidecar_status text)
    AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

CREATE FUNCTION vectordb_prewarm(index regclass) RETURNS int8
    AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

CREATE FUNCTION vectordb_evict(index regclass) RETURNS int8
    AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

CREATE FUNCTION vectordb_recall(index regclass, query vector, k int4 DEFAULT 10) RETURNS float8
    AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

CREATE FUNCTION vectordb_rebuild_sidecar(index regclass) RETURNS int8
    AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

CREATE FUNCTION vectordb_check(index regclass) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

CREATE FUNCTION vectordb_cleanup_orphans() RETURNS SETOF text
    AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

REVOKE ALL ON FUNCTION vectordb_evict(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION vectordb_cleanup_orphans() FROM PUBLIC;

-- DROP of a vtree index removes its sidecar when the transaction commits. The
-- hook that does it lives in the library, which a fresh session may not have
-- loaded yet: this trigger loads it before any DROP runs.
CREATE FUNCTION vectordb_load_library() RETURNS event_trigger
    AS 'MODULE_PATHNAME' LANGUAGE C;
CREATE EVENT TRIGGER vectordb_load_before_drop ON ddl_command_start
    WHEN TAG IN ('DROP TABLE', 'DROP INDEX', 'DROP SCHEMA', 'DROP OWNED', 'DROP MATERIALIZED VIEW',
                 'DROP EXTENSION', 'DROP ACCESS METHOD', 'DROP OPERATOR CLASS', 'DROP OPERATOR FAMILY',
                 'DROP TYPE', 'DROP FUNCTION', 'DROP OPERATOR')
    EXECUTE FUNCTION vectordb_load_library();

CREATE FUNCTION vectordb_heal_sidecar(index regclass) RETURNS int8
    AS 'MODULE_PATHNAME' LANGUAGE C STRICT;
