-- The avg and sum aggregates.

SELECT avg(v), sum(v) FROM (VALUES ('[1,2,3]'::vector), ('[3,4,5]'), (NULL)) t(v);
SELECT avg(v) IS NULL AS avg_null, sum(v) IS NULL AS sum_null FROM (SELECT NULL::vector AS v) t;
SELECT avg(v) IS NULL AS avg_of_nothing FROM (SELECT '[1]'::vector AS v WHERE false) t;
SELECT g, avg(v) FROM (VALUES (1, '[1,1]'::vector), (1, '[3,3]'), (2, '[10,0]')) t(g, v) GROUP BY g ORDER BY g;
SELECT sqlstate_of($$SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v)$$);
SELECT sqlstate_of($$SELECT sum(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v)$$);
SELECT sqlstate_of($$SELECT sum(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v)$$);

-- the parallel plan combines partial states and must agree with the serial one
CREATE TABLE many AS SELECT i, ARRAY[i % 7, i % 11, 1]::vector AS v FROM generate_series(1, 50000) i;
ANALYZE many;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT avg(v) FROM many;
SELECT avg(v), sum(v) FROM many;
SET max_parallel_workers_per_gather = 0;
SELECT avg(v), sum(v) FROM many;
DROP TABLE many;
