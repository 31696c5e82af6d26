#!/usr/bin/env bash
# Space under a steady update load: a table of constant size whose vectors
# are all rewritten (non-HOT UPDATEs that keep each row near where it was)
# and vacuumed, round after round. Rows an UPDATE replaces do not make a leaf split. VACUUM
# leaves holes in the leaf chains and inserts fill them, so the index stays
# the size its live entries need; answers stay exact throughout. The sidecar
# is append-only for now (its records of deleted rows are reclaimed by
# REINDEX or vectordb_rebuild_sidecar): its size is reported, not checked.
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
  [ "$round" = 2 ] && read -r second_index _ <<<"$(size)"
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
[ "$end_leaves" = "$start_leaves" ]
check $? "no leaf split for rows an UPDATE replaced (leaves $start_leaves -> $end_leaves)"
[ "$mismatches" = 0 ]; check $? "every leaf probed equals the exact scan after every round (mismatches: $mismatches)"
[ "$(sql -c "SELECT vectordb_check('steady_v')" 2>/dev/null)" = t ]; check $? "vectordb_check passes at the end"
psql -qX -d postgres -c "DROP DATABASE vectordb_space" >/dev/null 2>&1
finish_tap
