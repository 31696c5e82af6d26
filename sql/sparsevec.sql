-- The sparsevec type: text and binary forms, typmods, casts to and from
-- vector, halfvec and arrays, every function and operator, btree ordering,
-- each checked against the same computation on the dense vector, and every
-- error with pgvector's SQLSTATE, message and DETAIL.

-- text form: indices from 1, zeros not stored, indices sorted on input
SELECT '{1:1.5,3:2}/5'::sparsevec;
SELECT ' { 3 : 2 , 1:-0.25 } / 5 '::sparsevec AS sorted;
SELECT '{2:0,4:1}/4'::sparsevec AS zero_dropped, '{}/3'::sparsevec AS empty;
SELECT '{1:1e-3,2:3.4028235e38,3:1e-45}/3'::sparsevec AS extremes;
SELECT '{1:1}/3'::sparsevec(3);
SELECT '{1:0.1,7:0.2}/7'::sparsevec::text::sparsevec = '{1:0.1,7:0.2}/7'::sparsevec AS round_trip;
SELECT '{1:1}/1000000000'::sparsevec AS max_dims;

-- syntax errors carry pgvector's DETAIL lines
SELECT '[1,2]'::sparsevec;
SELECT '{1:2}'::sparsevec;
SELECT '{1:2}/3 x'::sparsevec;
SELECT sqlstate_of($$SELECT '{1:2'::sparsevec$$);
SELECT sqlstate_of($$SELECT '{1}/3'::sparsevec$$);
SELECT sqlstate_of($$SELECT '{1:}/3'::sparsevec$$);
SELECT sqlstate_of($$SELECT '{1:2,}/3'::sparsevec$$);
SELECT sqlstate_of($$SELECT '{1:2}/'::sparsevec$$);
SELECT sqlstate_of($$SELECT ''::sparsevec$$);
-- value, index and dimension errors
SELECT sqlstate_of($$SELECT '{1:4e38}/2'::sparsevec$$);
SELECT sqlstate_of($$SELECT '{1:1e-50}/2'::sparsevec$$);
SELECT sqlstate_of($$SELECT '{1:NaN}/2'::sparsevec$$);
SELECT sqlstate_of($$SELECT '{1:-Infinity}/2'::sparsevec$$);
SELECT sqlstate_of($$SELECT '{0:1}/2'::sparsevec$$);
SELECT sqlstate_of($$SELECT '{3:1}/2'::sparsevec$$);
SELECT sqlstate_of($$SELECT '{2:1,2:3}/2'::sparsevec$$);
SELECT sqlstate_of($$SELECT '{}/0'::sparsevec$$);
SELECT sqlstate_of($$SELECT '{}/1000000001'::sparsevec$$);
SELECT sqlstate_of($$SELECT ('{' || string_agg(i || ':1', ',') || '}/20000')::sparsevec FROM generate_series(1, 16001) i$$);
SELECT l2_norm(('{' || string_agg(i || ':1', ',') || '}/20000')::sparsevec) ^ 2 AS nnz_16000
FROM generate_series(1, 16000) i;
-- typmods
SELECT sqlstate_of($$SELECT '{1:1}/3'::sparsevec(4)$$);
SELECT sqlstate_of($$SELECT '{1:1}/3'::sparsevec(0)$$);
SELECT sqlstate_of($$SELECT '{1:1}/3'::sparsevec(1000000001)$$);
SELECT sqlstate_of($$SELECT '{1:1}/3'::sparsevec(2, 3)$$);
CREATE TABLE styped (v sparsevec(3));
INSERT INTO styped VALUES ('{1:1}/3');
SELECT sqlstate_of($$INSERT INTO styped VALUES ('{1:1}/4')$$);
SELECT sqlstate_of($$INSERT INTO styped VALUES ('[1,2,3,4]'::vector)$$);
DROP TABLE styped;

-- binary form: int32 dim, nnz, reserved, indices from 0, float4 values.
-- sparse_recv_of() writes one binary COPY row holding `payload` and loads it.
CREATE TABLE sbin (v sparsevec);
CREATE TABLE sbin3 (v sparsevec(3));
CREATE FUNCTION sparse_recv_of(payload bytea, target text DEFAULT 'sbin') RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    o oid;
BEGIN
    o := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea || int4send(0) || int4send(0) || int2send(1::int2)
                          || int4send(length(payload)) || payload || int2send(-1::int2));
    PERFORM lo_export(o, '/tmp/vectordb_regress_sparsevec.bin');
    PERFORM lo_unlink(o);
    RETURN sqlstate_of(format($q$COPY %I FROM '/tmp/vectordb_regress_sparsevec.bin' WITH (FORMAT binary)$q$, target));
END $f$;
SELECT sparsevec_send('{1:1.5,3:-2}/4');
SELECT sparse_recv_of(sparsevec_send('{1:1.5,3:-2}/4'));
SELECT sparse_recv_of(int4send(3) || int4send(1) || int4send(0) || int4send(2) || float4send(7));
SELECT v FROM sbin;
SELECT sparse_recv_of(int4send(4) || int4send(0) || int4send(0), 'sbin3');
SELECT sparse_recv_of(int4send(0) || int4send(0) || int4send(0));
SELECT sparse_recv_of(int4send(1000000001) || int4send(0) || int4send(0));
SELECT sparse_recv_of(int4send(3) || int4send(-1) || int4send(0));
SELECT sparse_recv_of(int4send(20000) || int4send(16001) || int4send(0));
SELECT sparse_recv_of(int4send(2) || int4send(3) || int4send(0));
SELECT sparse_recv_of(int4send(3) || int4send(0) || int4send(1));
SELECT sparse_recv_of(int4send(3) || int4send(1) || int4send(0) || int4send(3) || float4send(1));
SELECT sparse_recv_of(int4send(3) || int4send(1) || int4send(0) || int4send(-1) || float4send(1));
SELECT sparse_recv_of(int4send(3) || int4send(2) || int4send(0) || int4send(2) || int4send(1) || float4send(1) || float4send(1));
SELECT sparse_recv_of(int4send(3) || int4send(2) || int4send(0) || int4send(1) || int4send(1) || float4send(1) || float4send(1));
SELECT sparse_recv_of(int4send(3) || int4send(1) || int4send(0) || int4send(1) || float4send(0));
SELECT sparse_recv_of(int4send(3) || int4send(1) || int4send(0) || int4send(1) || float4send('NaN'));
SELECT sparse_recv_of(int4send(3) || int4send(1) || int4send(0) || int4send(1) || float4send('Infinity'));
SELECT count(*) AS rows_loaded FROM sbin;
DROP FUNCTION sparse_recv_of(bytea, text);
DROP TABLE sbin, sbin3;

-- casts: vector and halfvec both ways, arrays in; a zero of either sign is not stored
SELECT '[1,0,-2,-0]'::vector::sparsevec, '[0,1.5,0]'::halfvec::sparsevec;
SELECT '{1:1,3:-2}/4'::sparsevec::vector, '{2:0.1}/3'::sparsevec::halfvec;
SELECT ARRAY[0,3,0]::sparsevec, ARRAY[0.5,0]::real[]::sparsevec, ARRAY[0,1e-3]::float8[]::sparsevec,
       ARRAY[2.5,0]::numeric[]::sparsevec;
SELECT '{1:1}/3'::sparsevec::vector(3), '[1,2]'::vector::sparsevec(2);
SELECT sqlstate_of($$SELECT '{1:1}/16001'::sparsevec::vector$$);
SELECT sqlstate_of($$SELECT '{1:1}/16001'::sparsevec::halfvec$$);
SELECT sqlstate_of($$SELECT '{1:70000}/2'::sparsevec::halfvec$$);
SELECT sqlstate_of($$SELECT '{1:1}/3'::sparsevec::vector(2)$$);
SELECT sqlstate_of($$SELECT '[1,2]'::vector::sparsevec(3)$$);
SELECT sqlstate_of($$SELECT ARRAY[]::int[]::sparsevec$$);
SELECT sqlstate_of($$SELECT ARRAY[[1,2],[3,4]]::int[]::sparsevec$$);
SELECT sqlstate_of($$SELECT ARRAY[1,NULL]::int[]::sparsevec$$);
SELECT sqlstate_of($$SELECT ARRAY[1,'NaN']::float8[]::sparsevec$$);
SELECT sqlstate_of($$SELECT ARRAY[1,1e39]::float8[]::sparsevec$$);
SELECT sqlstate_of($$SELECT array_fill(1, ARRAY[16001])::sparsevec$$);
SELECT l2_norm(array_fill(1, ARRAY[16000])::sparsevec) ^ 2 AS nnz_16000;

-- Functions and operators against the dense vectors: random sparse pairs of
-- 1 to 40 dimensions (seeded), every operator and function, compared with
-- vector's on the same values (multiples of 1/8, so every sum is exact).
SELECT setseed(0.42);
CREATE TABLE spairs AS
SELECT p, d,
       (SELECT array_agg(CASE WHEN random() < 0.4 THEN round((random() * 4 - 2) * 8) / 8 ELSE 0 END)
        FROM generate_series(1, d) WHERE p > 0)::real[]::vector AS a,
       (SELECT array_agg(CASE WHEN random() < 0.4 THEN round((random() * 4 - 2) * 8) / 8 ELSE 0 END)
        FROM generate_series(1, d) WHERE p > 0)::real[]::vector AS b
FROM generate_series(1, 300) p, LATERAL (SELECT 1 + (p * 7919) % 40 AS d) dims;
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE a::sparsevec <-> b::sparsevec = a <-> b) AS l2_same,
       count(*) FILTER (WHERE a::sparsevec <#> b::sparsevec = a <#> b) AS ip_same,
       count(*) FILTER (WHERE a::sparsevec <+> b::sparsevec = a <+> b) AS l1_same,
       count(*) FILTER (WHERE l2_distance(a::sparsevec, b::sparsevec) = l2_distance(a, b)) AS l2_fn_same,
       count(*) FILTER (WHERE inner_product(a::sparsevec, b::sparsevec) = inner_product(a, b)) AS ip_fn_same,
       count(*) FILTER (WHERE l1_distance(a::sparsevec, b::sparsevec) = l1_distance(a, b)) AS l1_fn_same,
       count(*) FILTER (WHERE abs((a::sparsevec <=> b::sparsevec) - (a <=> b)) < 1e-12
                          OR ((a::sparsevec <=> b::sparsevec) = 'NaN' AND (a <=> b) = 'NaN')) AS cosine_same,
       count(*) FILTER (WHERE l2_norm(a::sparsevec) = vector_norm(a)) AS norm_same,
       count(*) FILTER (WHERE l2_normalize(a::sparsevec)::vector = l2_normalize(a)) AS normalize_same,
       count(*) FILTER (WHERE a::sparsevec::vector = a) AS round_trip_same
FROM spairs;
SELECT sparsevec_l2_squared_distance('{1:1,2:2}/3', '{2:1,3:3}/3') AS l2_squared,
       sparsevec_negative_inner_product('{1:1,2:2}/3', '{2:1,3:3}/3') AS negative_ip,
       cosine_distance('{}/2'::sparsevec, '{1:1}/2') AS cosine_of_zero,
       l2_normalize('{}/2'::sparsevec) AS normalize_zero,
       l2_normalize('{1:1e-45,2:1e38}/2'::sparsevec) AS underflow_dropped;
SELECT sqlstate_of($$SELECT '{1:1}/2'::sparsevec <-> '{1:1}/3'$$);
SELECT sqlstate_of($$SELECT inner_product('{1:1}/2'::sparsevec, '{1:1}/3')$$);

-- btree order: the dense vectors' order (element by element, then length),
-- over pairs of different lengths too
CREATE TABLE sorder AS
SELECT p, (SELECT array_agg(CASE WHEN random() < 0.5 THEN floor(random() * 5) - 2 ELSE 0 END)
           FROM generate_series(1, 1 + (p * 31) % 4) WHERE p > 0)::real[]::vector AS v
FROM generate_series(1, 120) p;
SELECT count(*) AS comparisons,
       count(*) FILTER (WHERE (x.v::sparsevec < y.v::sparsevec) = (x.v < y.v)
                          AND (x.v::sparsevec <= y.v::sparsevec) = (x.v <= y.v)
                          AND (x.v::sparsevec = y.v::sparsevec) = (x.v = y.v)
                          AND (x.v::sparsevec <> y.v::sparsevec) = (x.v <> y.v)
                          AND (x.v::sparsevec >= y.v::sparsevec) = (x.v >= y.v)
                          AND (x.v::sparsevec > y.v::sparsevec) = (x.v > y.v)
                          AND sparsevec_cmp(x.v::sparsevec, y.v::sparsevec) = vector_cmp(x.v, y.v)) AS agree
FROM sorder x, sorder y;
CREATE INDEX ON sorder ((v::sparsevec));
SET enable_seqscan = off;
SELECT count(*) AS found_by_btree FROM sorder WHERE v::sparsevec = '{1:1}/2'::sparsevec;
RESET enable_seqscan;
SELECT count(*) AS found_by_scan FROM sorder WHERE v = '[1,0]'::vector;
DROP TABLE spairs, sorder;

-- Not indexed by vtree itself, but through an expression as a dense vector:
-- with every leaf probed the index gives the exact scan's distances.
CREATE TABLE sindexed AS
SELECT i AS id, (SELECT array_agg(CASE WHEN random() < 0.3 THEN round(random() * 16) / 16 ELSE 0 END)
                 FROM generate_series(1, 16) WHERE i > 0)::real[]::sparsevec AS v
FROM generate_series(1, 2000) i;
CREATE INDEX sindexed_dense ON sindexed USING vtree ((v::vector(16)));
SELECT sqlstate_of($$CREATE INDEX ON sindexed USING vtree (v)$$);
SET enable_seqscan = off;
SET vtree.probes = 100000;
EXPLAIN (COSTS OFF) SELECT id FROM sindexed ORDER BY v::vector(16) <-> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]' LIMIT 10;
SELECT (SELECT array_agg(round(d::numeric, 5)) FROM (SELECT v::vector(16) <-> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]' AS d
         FROM sindexed ORDER BY v::vector(16) <-> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]' LIMIT 10) s)
     = (SELECT array_agg(round(d::numeric, 5)) FROM (SELECT d FROM (SELECT v <-> '{1:1,16:1}/16'::sparsevec AS d
         FROM sindexed OFFSET 0) e ORDER BY d LIMIT 10) x) AS index_equals_exact;
RESET vtree.probes;
RESET enable_seqscan;
DROP TABLE sindexed;
