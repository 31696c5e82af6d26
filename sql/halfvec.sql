-- The halfvec type: text and binary forms, typmods, casts, every function and
-- operator, aggregates and btree ordering, each checked against the same
-- computation on vector (whose elements are the halves' exact values) where
-- there is one, and every error with pgvector's SQLSTATE and message.

-- text form: elements round to the nearest half; output is the shortest
-- text of the half's value
SELECT '[1,2,3]'::halfvec;
SELECT ' [ 1.5 , -0.25 ,3e-2 ] '::halfvec;
SELECT '[0.1,65504,-65504,6e-8,1e-8]'::halfvec;
SELECT '[1.00048828125,1.00146484375]'::halfvec AS ties_to_even;
SELECT '[1,2,3]'::halfvec(3);
SELECT '[0.1,0.2]'::halfvec::text::halfvec = '[0.1,0.2]'::halfvec AS round_trip;

-- errors (pgvector's texts)
SELECT sqlstate_of($$SELECT '[1,,2]'::halfvec$$);
SELECT sqlstate_of($$SELECT '[1,2'::halfvec$$);
SELECT sqlstate_of($$SELECT '[]'::halfvec$$);
SELECT sqlstate_of($$SELECT '[NaN]'::halfvec$$);
SELECT sqlstate_of($$SELECT '[inf]'::halfvec$$);
SELECT sqlstate_of($$SELECT '[65520]'::halfvec$$);
SELECT sqlstate_of($$SELECT '[1e39]'::halfvec$$);
SELECT sqlstate_of($$SELECT '[1,2]'::halfvec(3)$$);
SELECT sqlstate_of($$SELECT '[1]'::halfvec(0)$$);
SELECT sqlstate_of($$SELECT '[1]'::halfvec(16001)$$);
SELECT sqlstate_of($$SELECT '[1]'::halfvec(2, 3)$$);
SELECT sqlstate_of($$SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::halfvec$$);
SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::halfvec) AS max_dims;

-- binary form: int16 dims, int16 reserved, big-endian binary16s (pgvector's layout)
SELECT halfvec_send('[1.5,-2,0.000061035156]');
CREATE TABLE hbin (v halfvec);
INSERT INTO hbin VALUES ('[1.5,-2,0.000061035156]'), ('[65504,-0.5]');
COPY hbin TO '/tmp/vectordb_regress_halfvec.bin' WITH (FORMAT binary);
CREATE TABLE hbin2 (v halfvec);
COPY hbin2 FROM '/tmp/vectordb_regress_halfvec.bin' WITH (FORMAT binary);
SELECT a.v = b.v AS same, b.v FROM hbin a JOIN hbin2 b ON vector_dims(a.v) = vector_dims(b.v);
CREATE TABLE hbin3 (v halfvec(3));
SELECT sqlstate_of($$COPY hbin3 FROM '/tmp/vectordb_regress_halfvec.bin' WITH (FORMAT binary)$$);
DROP TABLE hbin, hbin2, hbin3;

-- casts: to and from vector (exact one way, rounding the other), arrays
SELECT '[1.1,2.2]'::vector::halfvec, '[1.1,2.2]'::halfvec::vector;
SELECT sqlstate_of($$SELECT '[70000]'::vector::halfvec$$);
SELECT ARRAY[1,2,3]::halfvec, ARRAY[1.5,2.5]::real[]::halfvec, ARRAY[0.1,0.2]::float8[]::halfvec,
       ARRAY[1.25,3]::numeric[]::halfvec;
SELECT '[1,2.5]'::halfvec::real[];
SELECT sqlstate_of($$SELECT ARRAY[1e10]::float8[]::halfvec$$);
SELECT sqlstate_of($$SELECT ARRAY[1,NULL]::int[]::halfvec$$);
SELECT sqlstate_of($$SELECT ARRAY[[1,2]]::int[]::halfvec$$);
SELECT sqlstate_of($$SELECT ARRAY[1,2]::int[]::halfvec(3)$$);
SELECT '[1,2]'::halfvec(2)::halfvec(2);

-- distances and operators equal vector's on the same (exactly converted) values
CREATE TABLE hpairs AS
SELECT i, a::halfvec AS ha, b::halfvec AS hb, a::halfvec::vector AS va, b::halfvec::vector AS vb
FROM (SELECT i, (SELECT array_agg(sin(i * 7 + j) * 3)::vector FROM generate_series(1, 300) j) AS a,
             (SELECT array_agg(cos(i * 5 + j * 2) * 2)::vector FROM generate_series(1, 300) j) AS b
      FROM generate_series(1, 20) i) s;
SELECT count(*) FILTER (WHERE abs((ha <-> hb) - (va <-> vb)) > 1e-5 * (va <-> vb)) AS l2_differ,
       count(*) FILTER (WHERE abs((ha <#> hb) - (va <#> vb)) > 1e-4 * (1 + abs(va <#> vb))) AS ip_differ,
       count(*) FILTER (WHERE abs((ha <=> hb) - (va <=> vb)) > 1e-6) AS cosine_differ,
       count(*) FILTER (WHERE abs((ha <+> hb) - (va <+> vb)) > 1e-5 * (va <+> vb)) AS l1_differ,
       count(*) FILTER (WHERE abs(l2_distance(ha, hb) - (ha <-> hb)) > 0) AS l2_function_differs,
       count(*) FILTER (WHERE abs(inner_product(ha, hb) + (ha <#> hb)) > 0) AS ip_function_differs,
       count(*) FILTER (WHERE abs(cosine_distance(ha, hb) - (ha <=> hb)) > 0) AS cosine_function_differs,
       count(*) FILTER (WHERE abs(l1_distance(ha, hb) - (ha <+> hb)) > 0) AS l1_function_differs,
       count(*) FILTER (WHERE abs(l2_norm(ha) - vector_norm(va)) > 1e-9 * vector_norm(va)) AS norm_differs
FROM hpairs;
SELECT '[1,2]'::halfvec <-> '[4,6]'::halfvec AS l2, '[1,2]'::halfvec <#> '[4,6]'::halfvec AS neg_ip,
       '[1,0]'::halfvec <=> '[0,1]'::halfvec AS cosine, '[1,2]'::halfvec <+> '[4,6]'::halfvec AS l1;
SELECT '[0,0]'::halfvec <=> '[1,1]'::halfvec AS cosine_of_zero;
SELECT sqlstate_of($$SELECT '[1,2]'::halfvec <-> '[1]'::halfvec$$);

-- functions
SELECT vector_dims('[1,2,3]'::halfvec), l2_norm('[3,4]'::halfvec), l2_normalize('[3,4]'::halfvec),
       l2_normalize('[0,0]'::halfvec), subvector('[1,2,3,4,5]'::halfvec, 2, 3), subvector('[1,2,3]'::halfvec, 0, 2),
       binary_quantize('[1,-2,0,0.5,3,-1,2,2,-3]'::halfvec);
SELECT sqlstate_of($$SELECT subvector('[1,2,3]'::halfvec, 4, 1)$$);
SELECT sqlstate_of($$SELECT subvector('[1,2,3]'::halfvec, 1, 0)$$);

-- arithmetic, in float and rounded to half; overflow is an error
SELECT '[1,2]'::halfvec + '[0.5,-3]', '[1,2]'::halfvec - '[0.5,-3]', '[1.5,2]'::halfvec * '[2,-3]',
       '[1,2]'::halfvec || '[3]'::halfvec;
SELECT sqlstate_of($$SELECT '[65504]'::halfvec + '[65504]'::halfvec$$);
SELECT sqlstate_of($$SELECT '[0.0001]'::halfvec * '[0.0001]'::halfvec$$);
SELECT sqlstate_of($$SELECT '[1,2]'::halfvec + '[1]'::halfvec$$);

-- ordering: by element values, then by length; a btree index sorts by it
SELECT '[1,2]'::halfvec < '[1,3]', '[1,2]'::halfvec < '[1,2,0]', '[1,2]'::halfvec = '[1,2]', '[2]'::halfvec > '[1,9]',
       '[1,2]'::halfvec <> '[1,2]', '[1]'::halfvec <= '[1]', '[1]'::halfvec >= '[2]';
CREATE TABLE hsorted (v halfvec);
INSERT INTO hsorted VALUES ('[3]'), ('[1,2]'), ('[1]'), ('[-1,5]'), ('[1,2,0]');
CREATE INDEX ON hsorted (v);
SET enable_seqscan = off;
SELECT v FROM hsorted ORDER BY v;
SELECT v FROM hsorted WHERE v = '[1,2]';
RESET enable_seqscan;
DROP TABLE hsorted;

-- aggregates
-- avg sums in float8 as vector's does; sum adds halves, rounding at each step (as pgvector)
SELECT avg(ha) = avg(va)::halfvec AS avg_equal,
       sum(hb)::vector <-> sum(vb) < 1e-3 * vector_norm(sum(vb)) AS sum_close FROM hpairs WHERE i <= 4;
SELECT avg(v), sum(v) FROM (VALUES ('[1,2]'::halfvec), ('[3,6]')) t(v);
SELECT avg(v) IS NULL AS avg_of_none FROM (SELECT '[1]'::halfvec AS v WHERE false) t;
SELECT sqlstate_of($$SELECT avg(v) FROM (VALUES ('[1,2]'::halfvec), ('[3]')) t(v)$$);
SELECT sqlstate_of($$SELECT halfvec_accum('{0,0}', '[1,2,3]')$$);
SELECT sqlstate_of($$SELECT halfvec_accum('{}', '[1]')$$);
SELECT sqlstate_of($$SELECT halfvec_accum('{1,NULL}', '[1]')$$);
SELECT sqlstate_of($$SELECT halfvec_combine('{1,1e308}', '{1,1e308}')$$);
SELECT sqlstate_of($$SELECT halfvec_avg('{1,1e10}')$$);
SELECT halfvec_avg(halfvec_combine(halfvec_accum(halfvec_accum('{0}', '[1,2]'), '[3,4]'), halfvec_accum('{0}', '[5,6]')));
DROP TABLE hpairs;

-- columns, storage and TOAST
CREATE TABLE hcol (id int, v halfvec(4));
INSERT INTO hcol VALUES (1, '[1,2,3,4]'), (2, ARRAY[4,3,2,1]);
SELECT * FROM hcol ORDER BY v <-> '[1,2,3,5]' LIMIT 1;
SELECT sqlstate_of($$INSERT INTO hcol VALUES (3, '[1,2]')$$);
DROP TABLE hcol;

-- vtree over halfvec: halfvec_l2_ops (the default), halfvec_ip_ops,
-- halfvec_cosine_ops; with every leaf probed, the exact scan's rows
CREATE TABLE hidx (id int PRIMARY KEY, v halfvec(16));
INSERT INTO hidx SELECT i, (SELECT array_agg(sin(i * 13 + j * 7) * 2) FROM generate_series(1, 16) j)::real[]::halfvec
FROM generate_series(1, 3000) i;
CREATE INDEX hidx_l2 ON hidx USING vtree (v) WITH (max_leaf_size = 100);
CREATE INDEX hidx_ip ON hidx USING vtree (v halfvec_ip_ops) WITH (max_leaf_size = 100);
CREATE INDEX hidx_cos ON hidx USING vtree (v halfvec_cosine_ops) WITH (max_leaf_size = 100);
SELECT vectordb_check('hidx_l2') AND vectordb_check('hidx_ip') AND vectordb_check('hidx_cos') AS checked;
-- the sidecar keeps halves (float16 records of 48 bytes at 16 dimensions),
-- where the same values indexed as vector take float32 records of 80
CREATE INDEX hidx_as_vector ON hidx USING vtree ((v::vector(16))) WITH (max_leaf_size = 100);
SELECT h.sidecar_bytes AS half_sidecar, h.sidecar_bytes = 4096 + 3000 * 48 AS float16_records,
       f.sidecar_bytes AS vector_sidecar, f.sidecar_bytes = 4096 + 3000 * 80 AS float32_records
FROM vectordb_index_stats('hidx_l2') h, vectordb_index_stats('hidx_as_vector') f;
DROP INDEX hidx_as_vector;
SET enable_seqscan = off;
SET vtree.probes = 100000;
SELECT count(*) FILTER (WHERE ARRAY(SELECT round((v <-> q.v)::numeric, 5) FROM hidx ORDER BY v <-> q.v LIMIT 10)
                          IS DISTINCT FROM ARRAY(SELECT round(l2_distance(v, q.v)::numeric, 5) FROM hidx ORDER BY 1 LIMIT 10)) AS l2_differ,
       count(*) FILTER (WHERE ARRAY(SELECT round((v <#> q.v)::numeric, 4) FROM hidx ORDER BY v <#> q.v LIMIT 10)
                          IS DISTINCT FROM ARRAY(SELECT round((-inner_product(v, q.v))::numeric, 4) FROM hidx ORDER BY 1 LIMIT 10)) AS ip_differ,
       count(*) FILTER (WHERE ARRAY(SELECT round((v <=> q.v)::numeric, 6) FROM hidx ORDER BY v <=> q.v LIMIT 10)
                          IS DISTINCT FROM ARRAY(SELECT round(cosine_distance(v, q.v)::numeric, 6) FROM hidx ORDER BY 1 LIMIT 10)) AS cosine_differ
FROM (SELECT v FROM hidx WHERE id % 300 = 7) q;
EXPLAIN (COSTS OFF) SELECT id FROM hidx ORDER BY v <=> (SELECT v FROM hidx WHERE id = 1) LIMIT 5;
-- vectordb_recall takes a vector query; the index's key casts it (implicitly, to halfvec)
SELECT vectordb_recall('hidx_cos', (SELECT v FROM hidx WHERE id = 7)::vector, 10) AS recall_cos,
       vectordb_recall('hidx_l2', (SELECT v FROM hidx WHERE id = 7)::vector, 10) AS recall_l2;
RESET enable_seqscan;
RESET vtree.probes;
SELECT sqlstate_of($$CREATE INDEX ON hidx USING vtree (v vector_l2_ops)$$);
DROP TABLE hidx;

-- pgvector's pattern for wide embeddings: index a vector column as halfvec,
-- through an expression; the table fallback (a lost sidecar) evaluates it
CREATE TABLE wide (id int PRIMARY KEY, v vector(32));
INSERT INTO wide SELECT i, (SELECT array_agg(sin(i * 3 + j)) FROM generate_series(1, 32) j)::vector
FROM generate_series(1, 3000) i;
CREATE INDEX wide_h ON wide USING vtree ((v::halfvec(32)) halfvec_cosine_ops) WITH (max_leaf_size = 200);
SELECT vectordb_check('wide_h') AS checked;
SET enable_seqscan = off;
SET vtree.probes = 100000;
EXPLAIN (COSTS OFF) SELECT id FROM wide ORDER BY v::halfvec(32) <=> '[1,2]'::halfvec LIMIT 5;
CREATE FUNCTION pg_temp.wide_mismatches() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM (SELECT v FROM wide WHERE id % 300 = 3) q
    WHERE ARRAY(SELECT round((v::halfvec(32) <=> q.v::halfvec(32))::numeric, 6) FROM wide
                ORDER BY v::halfvec(32) <=> q.v::halfvec(32) LIMIT 10)
          IS DISTINCT FROM ARRAY(SELECT round(cosine_distance(v::halfvec(32), q.v::halfvec(32))::numeric, 6)
                                 FROM wide ORDER BY 1 LIMIT 10) $$;
SELECT pg_temp.wide_mismatches() AS mismatches;
SELECT sidecar_path AS wide_sidecar FROM vectordb_index_stats('wide_h') \gset
SET vectordb.heal_sidecars = off;
COPY (SELECT 1 WHERE false) TO :'wide_sidecar';
SET client_min_messages = error;
SELECT pg_temp.wide_mismatches() AS mismatches_from_the_table;
INSERT INTO wide SELECT i, (SELECT array_agg(cos(i * 3 + j)) FROM generate_series(1, 32) j)::vector
FROM generate_series(3001, 4000) i;
RESET client_min_messages;
SELECT vectordb_rebuild_sidecar('wide_h') > 0 AS rebuilt, vectordb_check('wide_h') AS checked;
SELECT pg_temp.wide_mismatches() AS mismatches_after_growth;
SELECT vectordb_recall('wide_h', (SELECT v FROM wide WHERE id = 5), 10) AS recall_expression_index;
RESET vectordb.heal_sidecars;
RESET enable_seqscan;
RESET vtree.probes;
DROP TABLE wide;
