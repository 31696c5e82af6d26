-- vtree at its limits: 16,000 dimensions, storage = pages at its widest and
-- past it.

SET client_min_messages = warning;
-- 16,000 dimensions: codes too wide for 8-code blocks, centroids across pages
CREATE TABLE huge (id int, v vector(16000));
INSERT INTO huge SELECT i, (SELECT array_agg(sin(i * 0.1 * j)) FROM generate_series(1, 16000) j)::real[]::vector
FROM generate_series(1, 40) i;
CREATE INDEX huge_v ON huge USING vtree (v) WITH (max_leaf_size = 10, branching_factor = 2);
SELECT leaves > 1 AS split, live_entries, dimensions FROM vectordb_index_stats('huge_v');
SET enable_seqscan = off;
SELECT count(*) AS found_itself FROM huge h WHERE (SELECT id FROM huge ORDER BY v <-> h.v LIMIT 1) = h.id;
INSERT INTO huge SELECT 100, (SELECT array_agg(cos(j)) FROM generate_series(1, 16000) j)::real[]::vector;
SELECT id FROM huge ORDER BY v <-> (SELECT v FROM huge WHERE id = 100) LIMIT 1;
RESET enable_seqscan;
DROP TABLE huge;

-- storage = pages at its limit: every record fills a vector page exactly
CREATE TABLE full_pages (id int, v vector(2036));
INSERT INTO full_pages SELECT i, array_fill(i::real, ARRAY[2036])::vector FROM generate_series(1, 3) i;
CREATE INDEX full_pages_v ON full_pages USING vtree (v) WITH (storage = pages);
INSERT INTO full_pages SELECT i, array_fill(i::real, ARRAY[2036])::vector FROM generate_series(4, 6) i;
SELECT vectordb_check('full_pages_v') AS checked, live_entries FROM vectordb_index_stats('full_pages_v');
SET enable_seqscan = off;
SELECT id FROM full_pages ORDER BY v <-> array_fill(5::real, ARRAY[2036])::vector LIMIT 2;
RESET enable_seqscan;
DROP TABLE full_pages;

-- past the pages limit: refused for storage = pages, fine for mmap
CREATE TABLE wide (v vector(3000));
SELECT sqlstate_of($$CREATE INDEX ON wide USING vtree (v) WITH (storage = pages)$$);
CREATE INDEX wide_mmap ON wide USING vtree (v);
DROP TABLE wide;
