-- vtree over bit strings (bit_hamming_ops): the bits indexed as 0s and 1s,
-- ordered by Hamming distance. Checked against exact scans: with every leaf
-- probed the index gives the exact scan's distances for any LIMIT, after
-- inserts too; pgvector's binary quantization pattern (an expression index on
-- binary_quantize(v)::bit(n), reranked by the full vector); errors.
SELECT setseed(0.17);
CREATE TABLE bits AS
SELECT i AS id, (SELECT string_agg(CASE WHEN random() < 0.5 THEN '1' ELSE '0' END, '')
                 FROM generate_series(1, 64) WHERE i > 0)::bit(64) AS b
FROM generate_series(1, 3000) i;
CREATE TABLE bit_queries AS
SELECT q, (SELECT string_agg(CASE WHEN random() < 0.5 THEN '1' ELSE '0' END, '')
           FROM generate_series(1, 64) WHERE q > 0)::bit(64) AS b
FROM generate_series(1, 20) q;
CREATE INDEX bits_b ON bits USING vtree (b bit_hamming_ops) WITH (max_leaf_size = 100);
SELECT leaves > 10 AS several_leaves FROM vectordb_index_stats('bits_b');

-- The distances an ORDER BY ... LIMIT n returns, through the index and by an
-- exact scan (the + 0 hides the operator from the planner), for every query:
-- how many queries differ.
CREATE FUNCTION bit_mismatches(n int) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FILTER (WHERE NOT same) FROM (
        SELECT (SELECT array_agg(d) FROM (SELECT b <~> q.b AS d FROM bits ORDER BY b <~> q.b LIMIT n) i) =
               (SELECT array_agg(d) FROM (SELECT b <~> q.b AS d FROM bits ORDER BY (b <~> q.b) + 0 LIMIT n) e) AS same
        FROM bit_queries q) s
$$;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM bits ORDER BY b <~> B'0101010101010101010101010101010101010101010101010101010101010101' LIMIT 5;
SET vtree.probes = 100000;
SELECT n, bit_mismatches(n) AS mismatches FROM unnest(ARRAY[1, 10, 100, 1000]) n;
-- inserts after the build, which split leaves, are found too
INSERT INTO bits
SELECT 3000 + i, (SELECT string_agg(CASE WHEN random() < 0.3 THEN '1' ELSE '0' END, '')
                  FROM generate_series(1, 64) WHERE i > 0)::bit(64)
FROM generate_series(1, 2000) i;
SELECT bit_mismatches(50) AS mismatches_after_inserts;
SELECT count(*) AS nearest_is_itself FROM bits r
WHERE r.id % 500 = 3 AND (SELECT b <~> r.b FROM bits ORDER BY b <~> r.b LIMIT 1) = 0;
RESET vtree.probes;
-- at the default settings, rows still come in distance order
SELECT count(*) FILTER (WHERE NOT ordered) AS out_of_order FROM (
    SELECT (SELECT bool_and(d >= prev) FROM (
              SELECT d, lag(d, 1, 0::float8) OVER () AS prev FROM (
                SELECT b <~> q.b AS d FROM bits ORDER BY b <~> q.b LIMIT 200) x) y) AS ordered
    FROM bit_queries q) s;

-- errors: a query of another length, keys beyond vector's dimensions or empty
SELECT sqlstate_of($$SELECT id FROM bits ORDER BY b <~> B'101' LIMIT 1$$);
CREATE TABLE wide_bits (b bit varying);
INSERT INTO wide_bits SELECT repeat('1', 16001)::bit varying;
SELECT sqlstate_of($$CREATE INDEX ON wide_bits USING vtree (b bit_hamming_ops)$$);
TRUNCATE wide_bits;
INSERT INTO wide_bits VALUES (B'');
SELECT sqlstate_of($$CREATE INDEX ON wide_bits USING vtree (b bit_hamming_ops)$$);
DROP TABLE wide_bits;
RESET enable_seqscan;

-- pgvector's binary quantization: an expression index on the bits, whose
-- candidates a subquery reranks by the full vectors.
CREATE TABLE quantized AS SELECT * FROM test_items() WHERE embedding IS NOT NULL;
CREATE INDEX quantized_bits ON quantized USING vtree ((binary_quantize(embedding)::bit(16)) bit_hamming_ops);
SET enable_seqscan = off;
SET vtree.probes = 100000;
EXPLAIN (COSTS OFF)
SELECT id FROM (SELECT id, embedding FROM quantized
                ORDER BY binary_quantize(embedding)::bit(16) <~> binary_quantize('[1,-1,1,-1,1,-1,1,-1,1,-1,1,-1,1,-1,1,-1]'::vector)
                LIMIT 40) c
ORDER BY embedding <=> '[1,-1,1,-1,1,-1,1,-1,1,-1,1,-1,1,-1,1,-1]' LIMIT 5;
-- The candidates' Hamming distances equal an exact scan's (which rows among
-- ties at the 40th may differ), and the five come in cosine order.
SELECT count(*) FILTER (WHERE NOT same) AS mismatches FROM (
    SELECT (SELECT array_agg(d) FROM (SELECT binary_quantize(embedding)::bit(16) <~> binary_quantize(q.embedding) AS d
              FROM quantized ORDER BY binary_quantize(embedding)::bit(16) <~> binary_quantize(q.embedding) LIMIT 40) i) =
           (SELECT array_agg(d) FROM (SELECT binary_quantize(embedding)::bit(16) <~> binary_quantize(q.embedding) AS d
              FROM quantized ORDER BY (binary_quantize(embedding)::bit(16) <~> binary_quantize(q.embedding)) + 0 LIMIT 40) e) AS same
    FROM quantized q WHERE q.id % 300 = 1) s;
SELECT bool_and(d >= prev) AS reranked_in_order FROM (
    SELECT d, lag(d, 1, 0::float8) OVER () AS prev FROM (
        SELECT embedding <=> '[1,-1,1,-1,1,-1,1,-1,1,-1,1,-1,1,-1,1,-1]' AS d
        FROM (SELECT embedding FROM quantized
              ORDER BY binary_quantize(embedding)::bit(16) <~> binary_quantize('[1,-1,1,-1,1,-1,1,-1,1,-1,1,-1,1,-1,1,-1]'::vector)
              LIMIT 40) c
        ORDER BY embedding <=> '[1,-1,1,-1,1,-1,1,-1,1,-1,1,-1,1,-1,1,-1]' LIMIT 5) x) y;
RESET vtree.probes;
RESET enable_seqscan;
DROP FUNCTION bit_mismatches(int);
DROP TABLE bits, bit_queries, quantized;
