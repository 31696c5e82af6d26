-- vectordb_sharded_knn(): the top k of a partitioned table as one
-- ORDER BY ... LIMIT k per leaf partition, merged (the sharding recipe's
-- helper; over postgres_fdw shards it is tested by test/scripts/shards.sh).
-- Checked against exact scans: every metric, k from 1 to 500, nested
-- partitions, a plain table, an empty one, other column names; errors.
SELECT setseed(0.61);
CREATE TABLE parts (id bigint, embedding vector(8)) PARTITION BY HASH (id);
CREATE TABLE parts_0 PARTITION OF parts FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE TABLE parts_1 PARTITION OF parts FOR VALUES WITH (MODULUS 3, REMAINDER 1);
-- A partition that is itself partitioned: only its leaves are asked.
CREATE TABLE parts_2 PARTITION OF parts FOR VALUES WITH (MODULUS 3, REMAINDER 2) PARTITION BY RANGE (id);
CREATE TABLE parts_2a PARTITION OF parts_2 FOR VALUES FROM (MINVALUE) TO (1000);
CREATE TABLE parts_2b PARTITION OF parts_2 FOR VALUES FROM (1000) TO (MAXVALUE);
INSERT INTO parts SELECT i, (SELECT array_agg(random()::real - 0.5) FROM generate_series(1, 8) WHERE i > 0)::vector
FROM generate_series(1, 3000) i;
CREATE INDEX ON parts USING vtree (embedding);
CREATE INDEX ON parts USING vtree (embedding vector_ip_ops);
CREATE INDEX ON parts USING vtree (embedding vector_cosine_ops);
CREATE TABLE knn_queries AS
SELECT q, (SELECT array_agg(random()::real - 0.5) FROM generate_series(1, 8) WHERE q > 0)::vector(8) AS v
FROM generate_series(1, 15) q;
SET vtree.probes = 100000;

-- Queries whose helper answer (distances, in order) differs from an exact scan's.
CREATE FUNCTION knn_mismatches(op text, n int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    bad bigint := 0;
    query vector;
    helper float8[];
    exact float8[];
BEGIN
    FOR query IN SELECT v FROM knn_queries ORDER BY q LOOP
        SELECT array_agg(distance) INTO helper FROM vectordb_sharded_knn('parts', query, n, operator => op);
        EXECUTE format('SELECT array_agg(d) FROM (SELECT embedding %s $1 AS d FROM parts ORDER BY (embedding %s $1) + 0 LIMIT %s) e',
                       op, op, n) INTO exact USING query;
        IF helper IS DISTINCT FROM exact THEN bad := bad + 1; END IF;
    END LOOP;
    RETURN bad;
END
$$;
SELECT op, n, knn_mismatches(op, n) AS mismatches
FROM unnest(ARRAY['<->', '<#>', '<=>', '<+>']) op, unnest(ARRAY[1, 10, 100, 500]) n ORDER BY op, n;

-- Its ids are the rows' own, in the order of their distances.
SELECT count(*) AS wrong_distances FROM knn_queries q, vectordb_sharded_knn('parts', q.v, 20) h
JOIN parts p ON p.id = h.id WHERE (p.embedding <-> q.v) <> h.distance;

-- A plain table is its own only partition; other column names; an empty table.
CREATE TABLE plain (key int, e vector(8));
INSERT INTO plain SELECT id, embedding FROM parts;
SELECT array_agg(id) = (SELECT array_agg(key::int8) FROM (SELECT key FROM plain ORDER BY e <-> (SELECT v FROM knn_queries WHERE q = 1), key LIMIT 5) s)
       AS plain_exact
FROM vectordb_sharded_knn('plain', (SELECT v FROM knn_queries WHERE q = 1), 5, vector_column => 'e', id_column => 'key');
CREATE TABLE empty_parts (id bigint, embedding vector(8)) PARTITION BY HASH (id);
SELECT count(*) FROM vectordb_sharded_knn('empty_parts', '[1,2,3,4,5,6,7,8]'::vector);
CREATE TABLE empty_parts_0 PARTITION OF empty_parts FOR VALUES WITH (MODULUS 1, REMAINDER 0);
SELECT count(*) FROM vectordb_sharded_knn('empty_parts', '[1,2,3,4,5,6,7,8]'::vector);

-- Errors.
\set VERBOSITY sqlstate
SELECT * FROM vectordb_sharded_knn('parts', '[1,2,3,4,5,6,7,8]'::vector, 0);
SELECT * FROM vectordb_sharded_knn('parts', '[1,2,3,4,5,6,7,8]'::vector, NULL);
SELECT * FROM vectordb_sharded_knn('parts', '[1,2,3,4,5,6,7,8]'::vector, 5, operator => '; DROP TABLE parts');
SELECT * FROM vectordb_sharded_knn('parts', '[1,2,3]'::vector, 5);
SELECT * FROM vectordb_sharded_knn('parts', '[1,2,3,4,5,6,7,8]'::vector, 5, vector_column => 'nope');
SELECT * FROM vectordb_sharded_knn('no_such_table', '[1,2,3,4,5,6,7,8]'::vector);
\set VERBOSITY default
RESET vtree.probes;
DROP TABLE parts, plain, empty_parts, knn_queries;
DROP FUNCTION knn_mismatches;
