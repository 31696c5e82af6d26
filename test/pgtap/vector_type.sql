-- Behaviour of the vector type on seeded random data: round trips, distances
-- against a double-precision reference computed in SQL, exact nearest
-- neighbours and aggregates.
BEGIN;
SELECT plan(12);

SELECT setseed(0.42);
CREATE TEMP TABLE rnd AS
SELECT i, n, (SELECT array_agg((random() * 4 - 2)::real) FROM generate_series(1, n) WHERE i > 0) AS a,
          (SELECT array_agg((random() * 4 - 2)::real) FROM generate_series(1, n) WHERE i > 0) AS b
FROM (SELECT i, 1 + (random() * 300)::int AS n FROM generate_series(1, 400) i) s;
CREATE TEMP TABLE pairs AS
SELECT i, n, a::vector AS va, b::vector AS vb,
       (SELECT sqrt(sum((x::float8 - y::float8) ^ 2)) FROM unnest(a, b) u(x, y)) AS ref_l2,
       (SELECT sum(x::float8 * y::float8) FROM unnest(a, b) u(x, y)) AS ref_ip,
       (SELECT sum(abs(x::float8 * y::float8)) FROM unnest(a, b) u(x, y)) AS ref_ip_mag,
       (SELECT sum(abs(x::float8 - y::float8)) FROM unnest(a, b) u(x, y)) AS ref_l1,
       (SELECT 1 - sum(x::float8 * y::float8) / sqrt(sum(x::float8 ^ 2) * sum(y::float8 ^ 2))
          FROM unnest(a, b) u(x, y)) AS ref_cos
FROM rnd;

SELECT is((SELECT count(*) FROM pairs WHERE va::text::vector <> va), 0::bigint,
          'text output reads back to the same vector for 400 random vectors');
SELECT is((SELECT count(*) FROM pairs WHERE va::real[] IS DISTINCT FROM (SELECT a FROM rnd WHERE rnd.i = pairs.i)),
          0::bigint, 'vector -> real[] returns the original floats');
SELECT is((SELECT count(*) FROM pairs WHERE abs((va <-> vb) - ref_l2) > 1e-5 * ref_l2), 0::bigint,
          'L2 distance within 1e-5 relative of the double reference');
SELECT is((SELECT count(*) FROM pairs WHERE abs(inner_product(va, vb) - ref_ip) > 1e-5 * ref_ip_mag), 0::bigint,
          'inner product within 1e-5 of the reference magnitude');
SELECT is((SELECT count(*) FROM pairs WHERE (va <#> vb) <> -inner_product(va, vb)), 0::bigint,
          '<#> is the negative inner product');
SELECT is((SELECT count(*) FROM pairs WHERE abs((va <+> vb) - ref_l1) > 1e-5 * ref_l1), 0::bigint,
          'L1 distance within 1e-5 relative of the double reference');
SELECT is((SELECT count(*) FROM pairs WHERE abs((va <=> vb) - ref_cos) > 1e-5), 0::bigint,
          'cosine distance within 1e-5 of the double reference');
SELECT is((SELECT count(*) FROM pairs
           WHERE abs((l2_normalize(va) <=> l2_normalize(vb)) - (l2_normalize(va) <-> l2_normalize(vb)) ^ 2 / 2) > 1e-5),
          0::bigint, 'for unit vectors cosine distance is half the squared L2 distance');
SELECT is((SELECT count(*) FROM pairs p, pairs q, pairs r
           WHERE p.n = q.n AND q.n = r.n AND p.i < q.i AND q.i < r.i
             AND (p.va <-> r.va) > (p.va <-> q.va) + (q.va <-> r.va) + 1e-4), 0::bigint,
          'L2 distance obeys the triangle inequality');

-- exact nearest neighbours: ORDER BY <-> LIMIT agrees with the reference order
CREATE TEMP TABLE points AS
SELECT i, ARRAY[random(), random(), random(), random(), random()]::float8[] AS arr FROM generate_series(1, 2000) i;
ALTER TABLE points ADD COLUMN v vector(5);
UPDATE points SET v = arr::vector;
SELECT results_eq(
    $$SELECT i FROM points ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5]' LIMIT 10$$,
    $$SELECT i FROM points ORDER BY (SELECT sum((x::real::float8 - 0.5) ^ 2) FROM unnest(arr) x) LIMIT 10$$,
    'ORDER BY <-> LIMIT 10 returns the exact 10 nearest rows');

SELECT is((SELECT avg(v)::text FROM points),
          (SELECT array_agg(m ORDER BY d)::real[]::vector::text
             FROM (SELECT d, avg(x::real::float8) AS m FROM points, unnest(arr) WITH ORDINALITY u(x, d) GROUP BY d) s),
          'avg(vector) is the element-wise mean');
SELECT is((SELECT sum(v) <-> (SELECT array_agg(m ORDER BY d)::real[]::vector
             FROM (SELECT d, sum(x::real::float8) AS m FROM points, unnest(arr) WITH ORDINALITY u(x, d) GROUP BY d) s)
             FROM points) < 0.25, true,
          'sum(vector) is the element-wise sum (float4 running sum: ~2000 roundings of ~1e-4 each)');

SELECT * FROM finish();
ROLLBACK;
