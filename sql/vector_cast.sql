-- Casts between vector and arrays.

-- arrays to vector
SELECT ARRAY[1,2,3]::vector;
SELECT ARRAY[1.5,2.25,-3]::real[]::vector;
SELECT ARRAY[1.5,2.25,-3]::double precision[]::vector;
SELECT ARRAY[1.5,2.25,-3]::numeric[]::vector;
SELECT '{4,5}'::int[]::vector(2);
SELECT sqlstate_of($$SELECT ARRAY[1,2]::vector(3)$$);
-- assignment casts apply on insert
CREATE TABLE cast_target (v vector(2));
INSERT INTO cast_target VALUES (ARRAY[1,2]), (ARRAY[0.5,1]::real[]), (ARRAY[3,4]::float8[]), (ARRAY[5,6]::numeric[]);
SELECT * FROM cast_target;
DROP TABLE cast_target;

-- array errors
SELECT sqlstate_of($$SELECT '{{1,2},{3,4}}'::int[]::vector$$);
SELECT sqlstate_of($$SELECT ARRAY[1,NULL,3]::vector$$);
SELECT sqlstate_of($$SELECT '{}'::int[]::vector$$);
SELECT sqlstate_of($$SELECT ARRAY['NaN']::real[]::vector$$);
SELECT sqlstate_of($$SELECT ARRAY['Infinity']::float8[]::vector$$);
SELECT sqlstate_of($$SELECT ARRAY[1e39]::float8[]::vector$$);
SELECT sqlstate_of($$SELECT ARRAY[1e39]::numeric[]::vector$$);
SELECT sqlstate_of($$SELECT ARRAY['NaN']::numeric[]::vector$$);
SELECT sqlstate_of($$SELECT array_fill(1, ARRAY[16001])::vector$$);

-- vector to arrays
SELECT '[1,2.5,-3]'::vector::real[];
SELECT '[1,2.5,-3]'::vector::double precision[];
SELECT array_length('[1,2,3,4]'::vector::real[], 1);
-- real[] is an implicit cast: array functions accept a vector
CREATE FUNCTION pg_temp.total(real[]) RETURNS float8 LANGUAGE sql AS 'SELECT sum(x) FROM unnest($1) x';
SELECT pg_temp.total('[7,8]'::vector);
-- a round trip keeps every float bit
SELECT ('[0.1,1e-20,3.4e38]'::vector::real[])::vector = '[0.1,1e-20,3.4e38]'::vector AS same;
