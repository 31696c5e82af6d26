#!/usr/bin/env bash
# Space under a steady update load: a table of constant size whose vectors
# are all rewritten (non-HOT UPDATEs that keep each row near where it was)
# and vacuumed, round after round. Rows an UPDATE replaces do not make a leaf split. VACUUM
# leaves holes in the leaf chains and inserts fill them, and it puts the
# removed entries' sidecar slots on the free stack, from which new rows take
# them, so the index and the sidecar stay the size their live entries need;
# answers stay exact throughout.
# Then a drifting load: rounds of rows from a new region, the rows of two
# rounds before deleted, VACUUM. The tree keeps splitting leaves where the rows
# arrive and VACUUM removes the leaves it empties and recycles the pages of
# retired ones, so the leaf count tracks a fresh build's and the index stops
# growing while answers stay exact.
# Prints TAP.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
fresh_database vectordb_space
rounds=${SPACE_ROUNDS:-8}
sql -c "CREATE EXTENSION vectordb" -c "SELECT setseed(0.9)" \
    -c "CREATE TABLE steady (id int PRIMARY KEY, v vector(768))" \
    -c "INSERT INTO steady SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 768) WHERE i > 0)::vector
        FROM generate_series(1, 3000) i" \
    -c "CREATE INDEX steady_v ON steady USING vtree (v) WITH (max_leaf_size = 300)" >/dev/null
# 768 dimensions: 63 entries a page, so a leaf's chain has several pages.
size() { sql -c "SELECT relation_bytes || ' ' || sidecar_bytes || ' ' || leaves FROM vectordb_index_stats('steady_v')"; }
read -r start_index start_sidecar start_leaves <<<"$(size)"
mismatches=0
for round in $(seq 1 "$rounds"); do
  # Every row gets a new entry (the value changes, so the UPDATE is not HOT) in
  # the leaf it was in: the leaf holds twice its rows until VACUUM.
  sql -c "UPDATE steady SET v = (SELECT array_agg(x * (1 + 0.001 * ($round % 2 * 2 - 1))) FROM unnest(v::real[]) x)::vector" \
      -c "VACUUM steady" >/dev/null
  [ "$round" = 2 ] && read -r second_index second_sidecar _ <<<"$(size)"
  n=$(sql -c "SET enable_seqscan = off" -c "SET vtree.probes = 100000" -c "
      SELECT count(*) FROM (SELECT v FROM steady WHERE id % 299 = 0) q
      WHERE ARRAY(SELECT id FROM steady ORDER BY v <-> q.v LIMIT 10)
            IS DISTINCT FROM ARRAY(SELECT id FROM steady ORDER BY l2_distance(v, q.v), id LIMIT 10)")
  mismatches=$((mismatches + n))
done
read -r end_index end_sidecar end_leaves <<<"$(size)"
echo "# index $start_index -> $second_index (round 2) -> $end_index bytes (round $rounds); sidecar $start_sidecar -> $end_sidecar bytes; leaves $start_leaves -> $end_leaves"
awk -v a="$second_index" -v b="$end_index" 'BEGIN { exit !(b <= a * 1.25) }'
check $? "$rounds rounds of rewriting every vector: the index stays within 1.25x of its size after round 2 ($second_index -> $end_index bytes)"
awk -v a="$second_sidecar" -v b="$end_sidecar" 'BEGIN { exit !(b <= a * 1.1) }'
check $? "$rounds rounds of rewriting every vector: new rows reuse freed sidecar slots, so the sidecar stays within 1.1x of its size after round 2 ($second_sidecar -> $end_sidecar bytes)"
[ "$end_leaves" = "$start_leaves" ]
check $? "no leaf split for rows an UPDATE replaced (leaves $start_leaves -> $end_leaves)"
[ "$mismatches" = 0 ]; check $? "every leaf probed equals the exact scan after every round (mismatches: $mismatches)"
[ "$(sql -c "SELECT vectordb_check('steady_v')" 2>/dev/null)" = t ]; check $? "vectordb_check passes at the end"

# --- a drifting load: splits where rows arrive, empty leaves behind ---------
sql -c "CREATE TABLE drift (id serial PRIMARY KEY, r int, v vector(32))" \
    -c "CREATE INDEX drift_v ON drift USING vtree (v) WITH (max_leaf_size = 100)" >/dev/null
drift_rounds=${SPACE_DRIFT_ROUNDS:-10}
mismatches=0
for r in $(seq 1 "$drift_rounds"); do
  sql -c "SELECT setseed(0.$r)" \
      -c "INSERT INTO drift (r, v) SELECT $r, (SELECT array_agg((random() + $r * 0.3)::real) FROM generate_series(1, 32) WHERE g > 0)::vector
          FROM generate_series(1, 4000) g" \
      -c "DELETE FROM drift WHERE r <= $r - 2" -c "VACUUM drift" >/dev/null
  pages=$(sql -c "SELECT pg_relation_size('drift_v') / 8192")
  [ "$r" = $((drift_rounds / 2)) ] && half_pages=$pages
  n=$(sql -c "SET enable_seqscan = off" -c "SET vtree.probes = 100000" -c "
      SELECT count(*) FROM (SELECT v FROM drift WHERE id % 397 = 0) q
      WHERE ARRAY(SELECT round((v <-> q.v)::numeric, 5) FROM drift ORDER BY v <-> q.v LIMIT 10)
            IS DISTINCT FROM ARRAY(SELECT round(l2_distance(v, q.v)::numeric, 5) FROM drift ORDER BY l2_distance(v, q.v) LIMIT 10)")
  mismatches=$((mismatches + n))
done
# recall@10 at the defaults over 100 of the table's rows as queries (ties count as hits).
drift_recall() {
  sql -c "SET enable_seqscan = off" -c "
      SELECT round(avg(hits)::numeric / 10, 3) FROM (
        SELECT (SELECT count(*) FROM (SELECT v <-> q.v AS d FROM drift ORDER BY v <-> q.v LIMIT 10) got
                WHERE got.d <= (SELECT max(d) FROM (SELECT l2_distance(v, q.v) AS d FROM drift ORDER BY 1 LIMIT 10) e) + 1e-6) AS hits
        FROM (SELECT v FROM drift WHERE id % 80 = 0 LIMIT 100) q) s"
}
grown_leaves=$(sql -c "SELECT leaves FROM vectordb_index_stats('drift_v')")
grown_recall=$(drift_recall)
[ "$(sql -c "SELECT vectordb_check('drift_v')" 2>/dev/null)" = t ]; drift_checked=$?
sql -c "REINDEX INDEX drift_v" >/dev/null
fresh_leaves=$(sql -c "SELECT leaves FROM vectordb_index_stats('drift_v')")
fresh_pages=$(sql -c "SELECT pg_relation_size('drift_v') / 8192")
fresh_recall=$(drift_recall)
echo "# drift: index $half_pages pages (round $((drift_rounds / 2))) -> $pages (round $drift_rounds), $fresh_pages after REINDEX; leaves $grown_leaves, $fresh_leaves after REINDEX; recall@10 at the defaults $grown_recall, $fresh_recall after REINDEX"
awk -v a="$half_pages" -v b="$pages" 'BEGIN { exit !(b <= a * 1.1) }'
check $? "a drifting load: the index stops growing once VACUUM recycles ($half_pages -> $pages pages from round $((drift_rounds / 2)) to $drift_rounds)"
awk -v g="$grown_leaves" -v f="$fresh_leaves" 'BEGIN { exit !(g >= f / 3 && g <= f * 3) }'
check $? "a drifting load: VACUUM removes emptied leaves, so the leaf count tracks a fresh build's ($grown_leaves against $fresh_leaves)"
# A split re-clusters its leaf with the two nearest (before, splitting one
# leaf alone left this gap at 0.09).
awk -v g="$grown_recall" -v f="$fresh_recall" -v t="${SPACE_DRIFT_TOLERANCE:-0.02}" 'BEGIN { exit !(g >= f - t) }'
check $? "a drifting load: recall at the defaults within ${SPACE_DRIFT_TOLERANCE:-0.02} of a fresh REINDEX ($grown_recall against $fresh_recall)"
[ "$mismatches" = 0 ]; check $? "a drifting load: every leaf probed equals the exact scan after every round (mismatches: $mismatches)"
[ "$drift_checked" = 0 ]; check $? "a drifting load: vectordb_check passes with recycled pages and removed leaves"

[ -n "${KEEP_DB:-}" ] || psql -qX -d postgres -c "DROP DATABASE vectordb_space" >/dev/null 2>&1
finish_tap
