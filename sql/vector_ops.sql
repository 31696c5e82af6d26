-- Operators, distance functions and utility functions of the vector type.
-- (Literals passed to functions are cast: halfvec overloads them, as in pgvector.)

-- distances: operators and their functions agree
SELECT '[1,2,3]'::vector <-> '[4,6,3]' AS l2, l2_distance('[1,2,3]'::vector, '[4,6,3]'::vector);
SELECT '[1,2,3]'::vector <#> '[4,5,6]' AS neg_ip, inner_product('[1,2,3]'::vector, '[4,5,6]'::vector);
SELECT '[1,0]'::vector <=> '[0,1]' AS orthogonal, cosine_distance('[1,1]'::vector, '[2,2]'::vector) AS same_direction,
       cosine_distance('[1,1]'::vector, '[-1,-1]'::vector) AS opposite;
SELECT '[1,2,3]'::vector <+> '[4,0,3]' AS l1, l1_distance('[1,2,3]'::vector, '[4,0,3]'::vector);
SELECT vector_l2_squared_distance('[1,2,3]', '[4,6,3]'), vector_negative_inner_product('[1,2]', '[3,4]');
-- cosine distance of a zero vector is undefined
SELECT cosine_distance('[0,0]'::vector, '[1,1]'::vector);
-- odd lengths exercise the kernels' tails
SELECT round((v <-> w)::numeric, 4) AS l2, round((v <#> w)::numeric, 4) AS neg_ip,
       round((v <+> w)::numeric, 4) AS l1, round((v <=> w)::numeric, 6) AS cosine
FROM (SELECT array_agg(i)::vector AS v, array_agg(i * 0.5 - 3)::real[]::vector AS w
      FROM generate_series(1, 37) i) s;

-- dimension mismatches raise 22000 for every binary operator
SELECT sqlstate_of($$SELECT '[1,2]'::vector <-> '[1,2,3]'$$);
SELECT sqlstate_of($$SELECT '[1,2]'::vector <#> '[1,2,3]'$$);
SELECT sqlstate_of($$SELECT '[1,2]'::vector <=> '[1,2,3]'$$);
SELECT sqlstate_of($$SELECT '[1,2]'::vector <+> '[1,2,3]'$$);
SELECT sqlstate_of($$SELECT '[1,2]'::vector + '[1,2,3]'$$);
SELECT sqlstate_of($$SELECT '[1,2]'::vector - '[1,2,3]'$$);
SELECT sqlstate_of($$SELECT '[1,2]'::vector * '[1,2,3]'$$);
SELECT sqlstate_of($$SELECT vector_l2_squared_distance('[1,2]', '[1,2,3]')$$);
SELECT sqlstate_of($$SELECT inner_product('[1,2]'::vector, '[1,2,3]'::vector)$$);

-- element-wise arithmetic and its overflow checks
SELECT '[1,2,3]'::vector + '[4,5,6]' AS sum, '[1,2,3]'::vector - '[4,5,6]' AS diff,
       '[1,2,3]'::vector * '[4,5,6]' AS product;
SELECT sqlstate_of($$SELECT '[3e38]'::vector + '[3e38]'$$);
SELECT sqlstate_of($$SELECT '[-3e38]'::vector - '[3e38]'$$);
SELECT sqlstate_of($$SELECT '[1e20]'::vector * '[1e20]'$$);
SELECT sqlstate_of($$SELECT '[1e-30]'::vector * '[1e-30]'$$);
SELECT '[1,2]'::vector || '[3]' AS concat;
SELECT sqlstate_of($$SELECT array_fill(1, ARRAY[8000])::vector || array_fill(1, ARRAY[8001])::vector$$);

-- dims, norm, normalize, subvector, binary_quantize
SELECT vector_dims('[1,2,3]'::vector), vector_norm('[3,4]'), vector_norm('[0,0]');
SELECT l2_normalize('[3,4]'::vector), l2_normalize('[0,0]'::vector), vector_norm(l2_normalize('[1,2,3,4,5]'::vector));
SELECT subvector('[1,2,3,4,5]'::vector, 2, 3), subvector('[1,2,3,4,5]'::vector, 4, 10), subvector('[1,2,3,4,5]'::vector, -1, 3);
SELECT sqlstate_of($$SELECT subvector('[1,2,3]'::vector, 1, 0)$$);
SELECT sqlstate_of($$SELECT subvector('[1,2,3]'::vector, 4, 2)$$);
SELECT sqlstate_of($$SELECT subvector('[1,2,3]'::vector, -5, 3)$$);
SELECT binary_quantize('[1,-2,0,3.5,-0.1,7,8,9,-1]'::vector);

-- comparison operators and the btree opclass
SELECT '[1,2]'::vector < '[1,3]' AS lt, '[1,2]'::vector <= '[1,2]' AS le, '[1,2]'::vector = '[1,2]' AS eq,
       '[1,2]'::vector <> '[1,2]' AS ne, '[2]'::vector >= '[1,9]' AS ge, '[1,2,0]'::vector > '[1,2]' AS gt;
SELECT vector_cmp('[1,2]', '[1,2,3]'), vector_cmp('[2]', '[1,2,3]'), vector_cmp('[1,2]', '[1,2]');
CREATE TABLE ordered (v vector);
INSERT INTO ordered VALUES ('[3,1]'), ('[1,2,3]'), ('[1,2]'), ('[0.5]'), ('[1,2]');
CREATE INDEX ON ordered (v);
SET enable_seqscan = off;
SELECT v FROM ordered WHERE v >= '[1,2]' ORDER BY v;
RESET enable_seqscan;
SELECT DISTINCT v FROM ordered ORDER BY v;
DROP TABLE ordered;

-- exact nearest neighbours with ORDER BY distance
CREATE TABLE items (id int, embedding vector(3));
INSERT INTO items VALUES (1, '[1,1,1]'), (2, '[2,2,2]'), (3, '[1,1,2]'), (4, NULL), (5, '[-1,-1,-1]');
SELECT id, round((embedding <-> '[1,1,1]')::numeric, 4) AS dist FROM items ORDER BY embedding <-> '[1,1,1]' LIMIT 3;
SELECT id FROM items ORDER BY embedding <#> '[1,1,1]' LIMIT 2;
SELECT id FROM items ORDER BY embedding <=> '[1,1,1]', id LIMIT 3;
SELECT id FROM items ORDER BY embedding <+> '[1,1,2]' LIMIT 2;
SELECT sqlstate_of($$SELECT id FROM items ORDER BY embedding <-> '[1,1]' LIMIT 1$$);
DROP TABLE items;
