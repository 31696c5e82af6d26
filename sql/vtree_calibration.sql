-- vtree.target_recall: the curve each build measures on the index's own rows,
-- what the scan reads from it, VACUUM's and vectordb_calibrate()'s refresh,
-- and the settings' errors. Recall is measured against exact scans of the
-- same rows, for queries that are not rows of the table.

SET client_min_messages = warning;
LOAD 'vectordb';
SHOW vtree.target_recall;
SELECT sqlstate_of($$SET vtree.target_recall = 0$$);
SELECT sqlstate_of($$SET vtree.target_recall = 1.5$$);
SELECT sqlstate_of($$SET vtree.target_recall = 'high'$$);

-- 6,000 rows of 24 dimensions around 60 overlapping centres, and 80 queries
-- that are other points of the same kind.
SELECT setseed(0.17);
CREATE TABLE centres AS SELECT c, array_agg(random() * 2 - 1)::real[] AS x
    FROM generate_series(1, 60) c, generate_series(1, 24) j GROUP BY c;
CREATE FUNCTION near_centres(n int) RETURNS TABLE (id int, v vector(24)) LANGUAGE sql AS $$
    SELECT i, (SELECT array_agg(x[j] + (random() - 0.5) * 1.8 ORDER BY j)
               FROM centres, generate_series(1, 24) j WHERE c = 1 + i % 60)::vector(24)
    FROM generate_series(1, n) i
$$;
CREATE TABLE pts AS SELECT * FROM near_centres(6000);
CREATE TABLE qs AS SELECT * FROM near_centres(80);
ANALYZE pts;
CREATE INDEX pts_v ON pts USING vtree (v) WITH (max_leaf_size = 40);

-- The curve: from 1 probe up, recall rising to at least 0.999 (or every leaf).
SELECT count(*) >= 5 AS points, min(probes) = 1 AS from_one_probe,
       bool_and(recall >= 0 AND recall <= 1) AS recalls,
       max(recall) >= 0.999 OR max(probes) = (SELECT leaves FROM vectordb_index_stats('pts_v')) AS reaches_the_top
FROM vectordb_recall_curve('pts_v');
SELECT bool_and(probes > prev_probes AND recall >= prev_recall) AS rising FROM (
    SELECT probes, recall, lag(probes, 1, 0) OVER w AS prev_probes, lag(recall, 1, 0::real) OVER w AS prev_recall
    FROM vectordb_recall_curve('pts_v') WINDOW w AS (ORDER BY probes)) c;

-- recall@10 of the index at the current settings, over the queries.
CREATE FUNCTION measured_recall() RETURNS float8 LANGUAGE sql AS $$
    SELECT avg(hits) / 10 FROM (
        SELECT (SELECT count(*) FROM
                    (SELECT id FROM pts ORDER BY v <-> q.v LIMIT 10) got
                    JOIN (SELECT id FROM pts ORDER BY (v <-> q.v) + 0 LIMIT 10) truth  -- + 0: not by the index
                    USING (id)) AS hits
        FROM qs q) s
$$;
CREATE FUNCTION recall_at(target float8) RETURNS float8 LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('vtree.target_recall', target::text, true);
    PERFORM set_config('enable_seqscan', 'off', true);
    RETURN measured_recall();
END $$;
-- Each target is met within 0.05 (80 queries), and a higher one finds more.
SELECT t AS target, abs(recall_at(t) - t) <= 0.05 AS within FROM unnest(ARRAY[0.8, 0.9, 0.95, 0.99]) t;
SELECT recall_at(0.99) > recall_at(0.8) AS higher_target_finds_more;
-- vtree.probes, when set, decides instead.
SET vtree.probes = 1;
SELECT recall_at(0.99) < recall_at(0.8) + 0.01 AND recall_at(0.99) < 0.9 AS probes_override_the_target;
RESET vtree.probes;

-- vectordb_calibrate measures again (the same rows: the same curve) and stores it.
CREATE TABLE stored AS SELECT * FROM vectordb_recall_curve('pts_v');
SELECT count(*) = (SELECT count(*) FROM stored) AS same_curve
FROM vectordb_calibrate('pts_v') c JOIN stored s USING (probes, recall);
SELECT count(*) = (SELECT count(*) FROM stored) AS stored_again
FROM vectordb_recall_curve('pts_v') c JOIN stored s USING (probes, recall);

-- An index built on an empty table has no curve (scans probe 8 leaves) until
-- VACUUM, once rows have grown the tree, calibrates it.
CREATE TABLE grown (id int, v vector(24));
CREATE INDEX grown_v ON grown USING vtree (v) WITH (max_leaf_size = 40);
SELECT count(*) AS points_when_empty FROM vectordb_recall_curve('grown_v');
INSERT INTO grown SELECT * FROM pts;
SELECT count(*) AS points_before_vacuum FROM vectordb_recall_curve('grown_v');
VACUUM grown;
SELECT count(*) >= 5 AS calibrated_by_vacuum FROM vectordb_recall_curve('grown_v');
SELECT min(calibrated_leaves) = max(calibrated_leaves) AND
       max(calibrated_leaves) = (SELECT leaves FROM vectordb_index_stats('grown_v')) AS at_its_leaves
FROM vectordb_recall_curve('grown_v');
-- VACUUM calibrates again once the tree has grown by half, not before.
CREATE TABLE grown_curve AS SELECT * FROM vectordb_recall_curve('grown_v');
INSERT INTO grown SELECT id + 6000, v FROM near_centres(600);
VACUUM grown;
SELECT count(*) = (SELECT count(*) FROM grown_curve) AS kept_after_a_tenth
FROM vectordb_recall_curve('grown_v') JOIN grown_curve USING (probes, recall, calibrated_leaves);
INSERT INTO grown SELECT id + 7000, v FROM near_centres(6000);
VACUUM grown;
SELECT max(calibrated_leaves) > (SELECT max(calibrated_leaves) FROM grown_curve) * 1.5 AS again_after_doubling,
       max(calibrated_leaves) = (SELECT leaves FROM vectordb_index_stats('grown_v')) AS at_its_leaves
FROM vectordb_recall_curve('grown_v');

-- Errors: not a vtree index, not the owner.
CREATE INDEX pts_id ON pts (id);
SELECT sqlstate_of($$SELECT * FROM vectordb_calibrate('pts_id')$$);
SELECT sqlstate_of($$SELECT * FROM vectordb_recall_curve('pts_id')$$);
CREATE ROLE calibration_stranger;
GRANT SELECT ON pts TO calibration_stranger;
SET ROLE calibration_stranger;
SELECT sqlstate_of($$SELECT * FROM vectordb_calibrate('pts_v')$$);
SELECT count(*) > 0 AS reader_sees_curve FROM vectordb_recall_curve('pts_v');
RESET ROLE;
REVOKE SELECT ON pts FROM calibration_stranger;
SET ROLE calibration_stranger;
SELECT sqlstate_of($$SELECT * FROM vectordb_recall_curve('pts_v')$$);
RESET ROLE;
DROP ROLE calibration_stranger;

DROP FUNCTION recall_at(float8);
DROP FUNCTION measured_recall();
DROP FUNCTION near_centres(int);
DROP TABLE pts, qs, centres, stored, grown, grown_curve;
