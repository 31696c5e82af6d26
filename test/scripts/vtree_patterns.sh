#!/usr/bin/env bash
# The index patterns pgvector documents, end to end on vtree, each query
# checked to use the index (EXPLAIN) and, with every leaf probed, to equal the
# same query as an exact scan:
#   - an expression index over halfvec (how pgvector users index wide
#     embeddings): USING vtree ((embedding::halfvec(n)) halfvec_cosine_ops),
#     queried by ORDER BY embedding::halfvec(n) <=> $1::halfvec(n);
#   - a partial index (WHERE category = ...), used by queries that imply its
#     predicate and only by them;
#   - Matryoshka embeddings: an index on a prefix, subvector(embedding, 1, m),
#     whose candidates a subquery re-ranks by the full vector.
# (Unlogged tables: vtree_unlogged.sh. pgvector's binary-quantized index needs
# a bit operator class, which vtree does not have yet.) Prints TAP.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
fresh_database vectordb_patterns
sql -c "CREATE EXTENSION vectordb"
dim=48
sql >/dev/null <<SQL
SELECT setseed(0.61);
CREATE TABLE items (id int PRIMARY KEY, category int, embedding vector($dim));
INSERT INTO items SELECT i, i % 7, (SELECT array_agg((sin(i % 50 + j) + random() * 0.3)::real) FROM generate_series(1, $dim) j)::vector
FROM generate_series(1, 6000) i;
CREATE TABLE queries AS SELECT g AS qid, (SELECT array_agg((sin(g * 3 + j) + random() * 0.3)::real) FROM generate_series(1, $dim) j)::vector($dim) AS v
FROM generate_series(1, 15) g;
ANALYZE items;
SQL

# plan_uses INDEX QUERY: the plan of QUERY (with seqscans off) scans INDEX.
plan_uses() {
  sql -c "SET enable_seqscan = off" -c "EXPLAIN (COSTS OFF) $2" | grep -q "Index Scan using $1"
}
# mismatches INDEXED EXACT: queries (of 15; $1 is the query vector) whose
# INDEXED result (the index, every leaf probed) differs from EXACT's (no index).
sql >/dev/null <<'SQL'
CREATE FUNCTION pattern_mismatches(indexed text, exact text) RETURNS int LANGUAGE plpgsql AS $f$
DECLARE q record; got int[]; want int[]; bad int := 0;
BEGIN
  FOR q IN SELECT v FROM queries LOOP
    PERFORM set_config('enable_seqscan', 'off', true), set_config('enable_indexscan', 'on', true),
            set_config('vtree.probes', '100000', true);
    EXECUTE 'SELECT array_agg(id) FROM (' || indexed || ') s' USING q.v INTO got;
    PERFORM set_config('enable_seqscan', 'on', true), set_config('enable_indexscan', 'off', true),
            set_config('enable_bitmapscan', 'off', true);
    EXECUTE 'SELECT array_agg(id) FROM (' || exact || ') s' USING q.v INTO want;
    IF got IS DISTINCT FROM want THEN bad := bad + 1; END IF;
  END LOOP;
  RETURN bad;
END $f$;
SQL
mismatches() { sql -c "SET client_min_messages = error" -c "SELECT pattern_mismatches(\$q\$$1\$q\$, \$q\$$2\$q\$)"; }

# 1. An expression index over halfvec.
sql -c "CREATE INDEX items_half ON items USING vtree ((embedding::halfvec($dim)) halfvec_cosine_ops)"
check $? "an expression index: USING vtree ((embedding::halfvec($dim)) halfvec_cosine_ops)"
plan_uses items_half "SELECT id FROM items ORDER BY embedding::halfvec($dim) <=> '[$(seq -s, 1 $dim)]'::halfvec($dim) LIMIT 10"
check $? "ORDER BY embedding::halfvec($dim) <=> \$1::halfvec($dim) uses it"
m=$(mismatches "SELECT id FROM items ORDER BY embedding::halfvec($dim) <=> \$1::halfvec($dim), id LIMIT 10" \
               "SELECT id FROM items ORDER BY cosine_distance(embedding::halfvec($dim), \$1::halfvec($dim)), id LIMIT 10")
[ "$m" = 0 ]; check $? "its rows equal the exact scan's (queries that differ: $m)"
sql -c "DROP INDEX items_half"

# 2. A partial index.
sql -c "CREATE INDEX items_cat3 ON items USING vtree (embedding) WHERE category = 3"
check $? "a partial index: USING vtree (embedding) WHERE category = 3"
[ "$(sql -c "SELECT live_entries FROM vectordb_index_stats('items_cat3')")" = "$(sql -c "SELECT count(*) FROM items WHERE category = 3")" ]
check $? "it holds exactly the rows of its predicate"
plan_uses items_cat3 "SELECT id FROM items WHERE category = 3 ORDER BY embedding <-> '[$(seq -s, 1 $dim)]' LIMIT 10"
check $? "a query with the predicate uses it"
! plan_uses items_cat3 "SELECT id FROM items WHERE category = 4 ORDER BY embedding <-> '[$(seq -s, 1 $dim)]' LIMIT 10"
check $? "a query with another category does not"
sql -c "INSERT INTO items SELECT 10000 + i, 3, (SELECT array_agg((cos(i + j))::real) FROM generate_series(1, $dim) j)::vector FROM generate_series(1, 500) i" \
    -c "INSERT INTO items SELECT 20000 + i, 5, (SELECT array_agg((cos(i + j))::real) FROM generate_series(1, $dim) j)::vector FROM generate_series(1, 500) i" \
    -c "DELETE FROM items WHERE category = 3 AND id % 5 = 0" -c "VACUUM items"
[ "$(sql -c "SELECT live_entries FROM vectordb_index_stats('items_cat3')")" = "$(sql -c "SELECT count(*) FROM items WHERE category = 3")" ]
check $? "after inserts inside and outside the predicate, a delete and VACUUM, it still holds exactly the predicate's rows"
m=$(mismatches "SELECT id FROM items WHERE category = 3 ORDER BY embedding <-> \$1, id LIMIT 10" \
               "SELECT id FROM items WHERE category = 3 ORDER BY l2_distance(embedding, \$1), id LIMIT 10")
[ "$m" = 0 ]; check $? "its rows equal the exact scan's (queries that differ: $m)"
sql -c "DROP INDEX items_cat3"

# 3. Matryoshka: index a prefix, re-rank its candidates by the full vector.
prefix=16
sql -c "CREATE INDEX items_prefix ON items USING vtree ((subvector(embedding, 1, $prefix)::vector($prefix)))"
check $? "a subvector index: USING vtree ((subvector(embedding, 1, $prefix)::vector($prefix)))"
inner="SELECT id, embedding FROM items ORDER BY subvector(embedding, 1, $prefix)::vector($prefix) <-> subvector('[$(seq -s, 1 $dim)]'::vector, 1, $prefix)::vector($prefix) LIMIT 40"
plan_uses items_prefix "SELECT id FROM ($inner) c ORDER BY embedding <-> '[$(seq -s, 1 $dim)]' LIMIT 10"
check $? "the re-ranking query's subquery uses it"
m=$(mismatches "SELECT id FROM (SELECT id, embedding FROM items ORDER BY subvector(embedding, 1, $prefix)::vector($prefix) <-> subvector(\$1, 1, $prefix)::vector($prefix), id LIMIT 40) c ORDER BY embedding <-> \$1, id LIMIT 10" \
               "SELECT id FROM (SELECT id, embedding FROM items ORDER BY l2_distance(subvector(embedding, 1, $prefix)::vector($prefix), subvector(\$1, 1, $prefix)::vector($prefix)), id LIMIT 40) c ORDER BY l2_distance(embedding, \$1), id LIMIT 10")
[ "$m" = 0 ]; check $? "its re-ranked rows equal the exact scan's (queries that differ: $m)"

psql -qX -d postgres -c "DROP DATABASE vectordb_patterns" >/dev/null 2>&1
finish_tap
