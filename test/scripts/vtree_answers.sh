#!/usr/bin/env bash
# The wrong answers reported from outside, each replayed as the user met it
# and checked against an exact scan (the differential harness covers the
# classes at random; these are the reports themselves):
#   1. a WHERE filter, LIMITs past the rerank budget: rows in distance order;
#   2. an index created on an empty table, filled by 10 concurrent clients:
#      every leaf probed equals the exact scan, for <-> and <=>;
#   3. 3-dimension rows: every leaf probed is exact for <-> and <#>;
#   4. HOT chains pruned by VACUUM, sidecar lost: the table fallback follows
#      the redirects and the exact neighbours come back;
#   5. reltuples after CREATE INDEX is the heap's row count, NULLs included;
#   6. strict_order drops no true neighbour: with no scan limit it equals the
#      exact scan from a single probe, on an index built full and on one grown
#      from empty (whose radii come from the inserts), WHERE filter or not.
# Prints TAP.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
fresh_database vectordb_answers
sql -c "CREATE EXTENSION vectordb"

# Distances of an index scan and of an exact scan of the same query, one per line.
index_distances() { sql -c "SET enable_seqscan = off" -c "SET vtree.probes = ${2:-8}" -c "$1"; }
exact_distances() { sql -c "SET enable_indexscan = off" -c "SET enable_bitmapscan = off" -c "$1"; }
# exhaustive_mismatches TABLE PROBES "OPS" "QUERY_IDS": how many of the
# queries (each op, each row's own vector as the query, LIMIT 20) give other
# distances through the index at PROBES than an exact scan.
exhaustive_mismatches() {
  local n=0 op q query
  for op in $3; do
    for q in $4; do
      query="SELECT round((v $op (SELECT v FROM $1 WHERE id = $q))::numeric, 6) FROM $1 ORDER BY v $op (SELECT v FROM $1 WHERE id = $q) LIMIT 20"
      [ "$(index_distances "$query" "$2")" = "$(exact_distances "$query")" ] || n=$((n + 1))
    done
  done
  echo "$n"
}
# Distances under strict_order from one probe and no scan limit.
strict_distances() {
  sql -c "SET enable_seqscan = off" -c "SET vtree.probes = 1" -c "SET vtree.iterative_scan = strict_order" \
      -c "SET vtree.max_scan_tuples = 1000000" -c "$1"
}
# Lines of $1 that are smaller than the line before them.
out_of_order() { awk 'NR > 1 && $1 + 1e-6 < prev { n++ } { prev = $1 } END { print n + 0 }' <<<"$1"; }

# 1. 20,000 x 32 with a category, index at its defaults.
sql -c "SELECT setseed(0.11)" \
    -c "CREATE TABLE cats (id int PRIMARY KEY, cat int, v vector(32))" \
    -c "INSERT INTO cats SELECT i, i % 20, (SELECT array_agg(random()::real) FROM generate_series(1, 32) WHERE i > 0)::vector
        FROM generate_series(1, 20000) i" \
    -c "CREATE INDEX ON cats USING vtree (v)" -c "ANALYZE cats" >/dev/null
bad=0
for q in 7 77 777 7777 17777; do
  for query in "SELECT v <-> (SELECT v FROM cats WHERE id = $q) FROM cats WHERE cat = 3 ORDER BY v <-> (SELECT v FROM cats WHERE id = $q) LIMIT 10" \
               "SELECT v <-> (SELECT v FROM cats WHERE id = $q) FROM cats WHERE cat < 10 ORDER BY v <-> (SELECT v FROM cats WHERE id = $q) LIMIT 100" \
               "SELECT v <-> (SELECT v FROM cats WHERE id = $q) FROM cats ORDER BY v <-> (SELECT v FROM cats WHERE id = $q) LIMIT 1000"; do
    got=$(index_distances "$query")
    n=$(out_of_order "$got")
    bad=$((bad + n))
  done
done
[ "$bad" = 0 ]; check $? "WHERE filters and LIMITs up to 1,000: rows in distance order ($bad out of place)"
# Exhaustive with a filter: the exact rows.
got=$(index_distances "SELECT round((v <-> (SELECT v FROM cats WHERE id = 77))::numeric, 5) FROM cats WHERE cat = 3 ORDER BY v <-> (SELECT v FROM cats WHERE id = 77) LIMIT 50" 100000)
want=$(exact_distances "SELECT round((v <-> (SELECT v FROM cats WHERE id = 77))::numeric, 5) FROM cats WHERE cat = 3 ORDER BY v <-> (SELECT v FROM cats WHERE id = 77) LIMIT 50")
[ -n "$want" ] && [ "$got" = "$want" ]; check $? "every leaf probed under a WHERE filter equals the exact scan"

# 2. An index created before its data, filled by 10 concurrent clients.
sql -c "CREATE TABLE early (id int PRIMARY KEY, v vector(3))" \
    -c "CREATE INDEX early_l2 ON early USING vtree (v)" -c "CREATE INDEX early_cos ON early USING vtree (v vector_cosine_ops)"
for c in $(seq 0 9); do
  sql -c "SELECT setseed(0.$((c + 1)))" -c "INSERT INTO early SELECT i, ARRAY[random() - 0.5, random() - 0.5, random() - 0.5]::vector
          FROM generate_series($((c * 10000 + 1)), $(((c + 1) * 10000))) i" >/dev/null &
done
wait
sql -c "ANALYZE early"
mismatches=$(exhaustive_mismatches early 100000 '<-> <=>' '5 500 50000')
[ "$(sql -c "SELECT count(*) FROM early")" = 100000 ] && [ "$mismatches" = 0 ]
check $? "index built on an empty table, 100,000 rows from 10 clients: every leaf probed is exact for <-> and <=> ($mismatches of 6 differ)"

# 3. 100,000 x 3 rows, indexed after loading: exhaustive means exact for <-> and <#>.
sql -c "SELECT setseed(0.3)" -c "CREATE TABLE low (id int PRIMARY KEY, v vector(3))" \
    -c "INSERT INTO low SELECT i, ARRAY[random(), random(), random()]::vector FROM generate_series(1, 100000) i" \
    -c "CREATE INDEX ON low USING vtree (v)" -c "CREATE INDEX ON low USING vtree (v vector_ip_ops)" -c "ANALYZE low" >/dev/null
mismatches=$(exhaustive_mismatches low 32768 '<-> <#>' '3 33333 99999')
[ "$mismatches" = 0 ]; check $? "3 dimensions, every leaf probed: exact for <-> and <#> ($mismatches of 6 differ)"

# 4. HOT chains: updates of another column, VACUUM prunes them into redirects,
# then the sidecar is lost and every vector comes from the table.
sql -c "SELECT setseed(0.4)" \
    -c "CREATE TABLE hot (id int PRIMARY KEY, note text, v vector(16)) WITH (fillfactor = 50)" \
    -c "INSERT INTO hot SELECT i, 'n', (SELECT array_agg(random()::real) FROM generate_series(1, 16) WHERE i > 0)::vector
        FROM generate_series(1, 3000) i" \
    -c "CREATE INDEX hot_v ON hot USING vtree (v) WITH (max_leaf_size = 100)" \
    -c "UPDATE hot SET note = 'updated' WHERE id % 2 = 0" -c "UPDATE hot SET note = 'again' WHERE id % 3 = 0" \
    -c "VACUUM hot" >/dev/null
hot_updates=$(sql -c "SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'hot'")
path=$(sql -c "SELECT sidecar_path FROM vectordb_index_stats('hot_v')")
sql -c "COPY (SELECT 1 WHERE false) TO '$path'"
query="SELECT id FROM hot ORDER BY v <-> (SELECT v FROM hot WHERE id = 42) LIMIT 10"
got=$(index_distances "$query" 100000 2>/dev/null | paste -sd, -)
want=$(exact_distances "$query" | paste -sd, -)
[ "${hot_updates:-0}" -gt 0 ] && [ "$got" = "$want" ]
check $? "after $hot_updates HOT updates, VACUUM and a lost sidecar, the exact neighbours ($got)"

# 5. reltuples counts the heap's rows, not only the indexable ones.
sql -c "CREATE TABLE sparse (id int, v vector(4))" \
    -c "INSERT INTO sparse SELECT i, CASE WHEN i % 10 = 0 THEN ARRAY[i, 1, 2, 3]::vector END FROM generate_series(1, 10000) i" \
    -c "CREATE INDEX sparse_v ON sparse USING vtree (v)"
[ "$(sql -c "SELECT reltuples::bigint FROM pg_class WHERE relname = 'sparse'")" = 10000 ]
check $? "CREATE INDEX sets the table's reltuples to its 10,000 rows although 90% have NULL vectors"

# 6. strict_order drops no true neighbour (it used to drop rows a later round
# found nearer than rows already returned): from one probe and with no scan
# limit it must give the exact rows, on the index built full (cats) and on the
# index grown from empty by 10 clients (early: its radii all come from inserts).
mismatches=0
for q in 7 777 17777; do
  for query in "SELECT round((v <-> (SELECT v FROM cats WHERE id = $q))::numeric, 5) FROM cats WHERE cat = 3 ORDER BY v <-> (SELECT v FROM cats WHERE id = $q) LIMIT 50" \
               "SELECT round((v <-> (SELECT v FROM cats WHERE id = $q))::numeric, 5) FROM cats ORDER BY v <-> (SELECT v FROM cats WHERE id = $q) LIMIT 200"; do
    [ "$(strict_distances "$query")" = "$(exact_distances "$query")" ] || mismatches=$((mismatches + 1))
  done
done
for q in 5 500 50000; do
  for op in '<->' '<=>'; do
    query="SELECT round((v $op (SELECT v FROM early WHERE id = $q))::numeric, 6) FROM early WHERE id % 10 = 3 ORDER BY v $op (SELECT v FROM early WHERE id = $q) LIMIT 20"
    [ "$(strict_distances "$query")" = "$(exact_distances "$query")" ] || mismatches=$((mismatches + 1))
  done
done
[ "$mismatches" = 0 ]
check $? "strict_order from one probe with no scan limit equals the exact scan, built full or grown from empty ($mismatches of 12 differ)"

psql -qX -d postgres -c "DROP DATABASE vectordb_answers" >/dev/null 2>&1
finish_tap
