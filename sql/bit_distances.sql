-- Distances between bit strings (pgvector's <~> and <%>), alone and on
-- binary_quantize() of vector and halfvec, checked against counts of bits.
SELECT B'1010' <~> B'0110' AS hamming, hamming_distance(B'1010', B'0110'),
       B'1010' <%> B'0110' AS jaccard, jaccard_distance(B'1010', B'0110');
SELECT B'0000' <%> B'0000' AS jaccard_of_empty_sets, B'1111' <%> B'1111' AS jaccard_same, B'' <~> B'' AS hamming_empty;
SELECT sqlstate_of($$SELECT B'101' <~> B'10'$$);
SELECT sqlstate_of($$SELECT B'101' <%> B'10'$$);
-- every length from 1 to 130 bits, against bit-by-bit counts
CREATE TEMP TABLE bitpairs AS
SELECT n, a, b FROM (
    SELECT n, (SELECT string_agg(((n * 7 + i * 13) % 3 = 0)::int::text, '') FROM generate_series(1, n) i)::varbit AS a,
              (SELECT string_agg(((n * 5 + i * 11) % 4 = 1)::int::text, '') FROM generate_series(1, n) i)::varbit AS b
    FROM generate_series(1, 130) n) s;
SELECT count(*) FILTER (WHERE (a <~> b) <> length(replace((a # b)::text, '0', ''))) AS hamming_wrong,
       count(*) FILTER (WHERE abs((a <%> b) - CASE WHEN length(replace((a & b)::text, '0', '')) = 0 THEN 1
                        ELSE 1 - length(replace((a & b)::text, '0', ''))::float8 / length(replace((a | b)::text, '0', '')) END) > 1e-12)
           AS jaccard_wrong
FROM bitpairs;
-- binary quantization then a rerank, pgvector's documented pattern
SELECT binary_quantize('[1,-2,3,-4]'::vector) <~> binary_quantize('[1,2,3,4]'::vector) AS from_vectors,
       binary_quantize('[1,-2,3,-4]'::halfvec) <~> binary_quantize('[-1,-2,3,4]'::halfvec) AS from_halfvecs;
