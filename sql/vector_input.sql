-- Text and binary input/output of the vector type, typmods and every input error.
-- text form, white space tolerance, shortest round-trip output
SELECT '[1,2,3]'::vector;
SELECT ' [ 1 , 2.5 ,-3e-2 ] '::vector;
SELECT E'[\t1,\n2]'::vector;
SELECT '[-0.0000001,1e10,123456789,0.1,1.5e-38]'::vector;
SELECT '[+1,-1]'::vector;
SELECT '[3.4028235e38,-3.4028235e38]'::vector;
SELECT '[0.1,0.2,0.3]'::vector::text::vector = '[0.1,0.2,0.3]'::vector AS round_trip;
SELECT '[1e-46]'::vector AS underflow_to_zero;

-- malformed text
SELECT sqlstate_of($$SELECT '[1,,2]'::vector$$);
SELECT sqlstate_of($$SELECT '[1,2'::vector$$);
SELECT sqlstate_of($$SELECT '1,2'::vector$$);
SELECT sqlstate_of($$SELECT '[]'::vector$$);
SELECT sqlstate_of($$SELECT '[ ]'::vector$$);
SELECT sqlstate_of($$SELECT ''::vector$$);
SELECT sqlstate_of($$SELECT '[1,2],'::vector$$);
SELECT sqlstate_of($$SELECT '[1,2]x'::vector$$);
SELECT sqlstate_of($$SELECT '[1 2]'::vector$$);
SELECT sqlstate_of($$SELECT '[,1]'::vector$$);
SELECT sqlstate_of($$SELECT '[1,]'::vector$$);
SELECT sqlstate_of($$SELECT '[a]'::vector$$);
SELECT sqlstate_of($$SELECT '[[1]]'::vector$$);
SELECT sqlstate_of($$SELECT '[NaN]'::vector$$);
SELECT sqlstate_of($$SELECT '[1,nan]'::vector$$);
SELECT sqlstate_of($$SELECT '[Infinity]'::vector$$);
SELECT sqlstate_of($$SELECT '[-inf]'::vector$$);
SELECT sqlstate_of($$SELECT '[1e39]'::vector$$);
SELECT sqlstate_of($$SELECT '[-1e39]'::vector$$);

-- pgvector's DETAIL lines
SELECT '1,2'::vector;
SELECT '[1,2] x'::vector;
SELECT ' 1'::halfvec;
SELECT '[1]]'::halfvec;

-- dimension limits: 16,000 is the maximum
SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::vector);
SELECT sqlstate_of($$SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::vector$$);

-- typmod
SELECT '[1,2,3]'::vector(3);
SELECT sqlstate_of($$SELECT '[1,2]'::vector(3)$$);
SELECT sqlstate_of($$SELECT '[1,2]'::vector(0)$$);
SELECT sqlstate_of($$SELECT '[1,2]'::vector(16001)$$);
SELECT sqlstate_of($$SELECT '[1,2]'::vector(2,3)$$);
SELECT sqlstate_of($$CREATE TEMP TABLE widest (v vector(16000))$$);
CREATE TABLE typed (v vector(3));
\d typed
INSERT INTO typed VALUES ('[1,2,3]');
INSERT INTO typed VALUES ('[1,2]');
UPDATE typed SET v = '[1,2,3,4]';
SELECT sqlstate_of($$INSERT INTO typed VALUES ('[1,2]')$$);
SELECT * FROM typed;
SELECT ('[1,2]'::vector)::vector(2);
SELECT sqlstate_of($$SELECT ('[1,2]'::vector)::vector(3)$$);
DROP TABLE typed;

-- binary output: int16 dims, int16 reserved, big-endian float4s (pgvector's layout)
SELECT vector_send('[1,2,-0.5]');

-- binary input through COPY (FORMAT binary); bad payloads are crafted byte by byte
CREATE FUNCTION pg_temp.copy_file(payload bytea) RETURNS bytea LANGUAGE sql AS $$
    SELECT '\x5047434f50590aff0d0a00'::bytea      -- signature
        || '\x0000000000000000'::bytea            -- flags, header extension
        || '\x0001'::bytea || int4send(length(payload)) || payload
        || '\xffff'::bytea                        -- trailer
$$;
CREATE FUNCTION pg_temp.copy_in(payload bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    obj oid := lo_from_bytea(0, pg_temp.copy_file(payload));
    result text;
BEGIN
    PERFORM lo_export(obj, '/tmp/vectordb_regress_copy.bin');
    PERFORM lo_unlink(obj);
    TRUNCATE bin;
    result := sqlstate_of($q$COPY bin FROM '/tmp/vectordb_regress_copy.bin' WITH (FORMAT binary)$q$);
    RETURN result;
END $$;
CREATE TABLE bin (v vector);
-- a well-formed value round-trips
SELECT pg_temp.copy_in(vector_send('[1,2,-0.5]'));
SELECT * FROM bin;
-- reserved field not zero
SELECT pg_temp.copy_in('\x000200013f80000040000000'::bytea);
-- zero and negative dimensions, too many dimensions
SELECT pg_temp.copy_in('\x00000000'::bytea);
SELECT pg_temp.copy_in('\xffff0000'::bytea);
SELECT pg_temp.copy_in('\x3e8100003f800000'::bytea);
-- fewer or more bytes than the dimensions say
SELECT pg_temp.copy_in('\x000200003f800000'::bytea);
SELECT pg_temp.copy_in('\x000100003f80000040000000'::bytea);
-- truncated header
SELECT pg_temp.copy_in('\x00'::bytea);
-- NaN and infinity
SELECT pg_temp.copy_in('\x000100007fc00000'::bytea);
SELECT pg_temp.copy_in('\x000100007f800000'::bytea);
SELECT count(*) AS rows_after_bad_input FROM bin;
-- typmod enforced on binary input
CREATE TABLE bin3 (v vector(3));
INSERT INTO bin VALUES ('[1,2]');
COPY bin TO '/tmp/vectordb_regress_copy.bin' WITH (FORMAT binary);
SELECT sqlstate_of($$COPY bin3 FROM '/tmp/vectordb_regress_copy.bin' WITH (FORMAT binary)$$);
DROP TABLE bin, bin3;
