#!/usr/bin/env bash
# Crash recovery: concurrent single-row INSERTs (or, every third run, a CREATE
# INDEX) while the postmaster and all its processes are killed with SIGKILL at
# a random moment. After each restart: recovery succeeded, vectordb_check passes, every committed row
# (acknowledged to its client) is found by an exact-settings index scan, and
# index scans match exact scans. Prints TAP and a summary line.
#
# INSERT runs also simulate a power loss for the sidecar, which lives outside
# WAL: before the restart, every sidecar write since its last fsync (the
# build's or the last rebuild's) is discarded (the file cut back to its
# synced length and header) or torn (each 4 KB page written since kept,
# zeroed or cut in half, the header old or new, at random). Then no query may
# return a wrong row, and the background healer that those queries start
# repairs the file until vectordb_check passes.
#
#   CRASH_RUNS (default 3; make stress uses 30, 20 of them INSERT runs)
# Runs against the throwaway cluster in build/cluster.env.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
runs=${CRASH_RUNS:-3}

db=vectordb_crash
fresh_database $db
sql -c "CREATE EXTENSION vectordb" -c "CREATE TABLE acked (id int PRIMARY KEY, run int)"
sql -c "CREATE TABLE crash_t (id int PRIMARY KEY, v vector(32))" \
    -c "INSERT INTO crash_t SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 32) WHERE i > 0)::vector
        FROM generate_series(1, 3000) i" \
    -c "CREATE INDEX crash_v ON crash_t USING vtree (v) WITH (max_leaf_size = 200)" \
    -c "CREATE TABLE crash_big AS SELECT i AS id, (SELECT array_agg(random()::real) FROM generate_series(1, 64) WHERE i > 0)::vector(64) AS v
        FROM generate_series(1, 60000) i"
work=$(mktemp -d)
rows_checked=0
kills=0
faults=0
sidecar=$(sql -c "SELECT sidecar_path FROM vectordb_index_stats('crash_v')")
# The sidecar as its last fsync left it: length and header page.
remember_synced_sidecar() {
  sidecar=$(sql -c "SELECT sidecar_path FROM vectordb_index_stats('crash_v')")
  synced_size=$(stat -c %s "$sidecar")
  dd if="$sidecar" of="$work/synced_header" bs=4096 count=1 status=none
}
remember_synced_sidecar

# Applies a power loss to the sidecar (the server is down): $1 = discard or tear.
lose_unsynced_sidecar_writes() {
  local size page pages choice
  size=$(stat -c %s "$sidecar")
  if [ "$1" = discard ]; then
    truncate -s "$synced_size" "$sidecar"
    dd if="$work/synced_header" of="$sidecar" bs=4096 count=1 conv=notrunc status=none
    return
  fi
  pages=$(( (size + 4095) / 4096 ))
  for page in $(seq $((synced_size / 4096)) $((pages - 1))); do
    choice=$((RANDOM % 3))
    if [ "$choice" = 1 ]; then
      dd if=/dev/zero of="$sidecar" bs=4096 seek="$page" count=1 conv=notrunc status=none
    elif [ "$choice" = 2 ]; then
      dd if=/dev/zero of="$sidecar" bs=2048 seek=$((page * 2 + 1)) count=1 conv=notrunc status=none
    fi
  done
  truncate -s "$size" "$sidecar"  # zeroing the last page must not lengthen the file
  [ $((RANDOM % 2)) = 0 ] && dd if="$work/synced_header" of="$sidecar" bs=4096 count=1 conv=notrunc status=none
  return 0
}

kill_postmaster() {
  local pid
  pid=$(head -n 1 "$PGDATA/postmaster.pid")
  # SIGKILL the postmaster and, at the same moment, every process of this
  # server (its children; not other servers on the machine): an orphaned
  # backend would otherwise run on (a CPU-bound CREATE INDEX even commits),
  # which is not what a crash does.
  local children
  children=$(pgrep -P "$pid")
  kill -9 "$pid" $children 2>/dev/null
  for _ in $(seq 200); do
    kill -0 "$pid" $children 2>/dev/null || break
    sleep 0.05
  done
}

restart() {
  as_owner "$pg_bin/pg_ctl" -D "$PGDATA" -l "$VECTORDB_CLUSTER_LOG" -w -t 120 start >/dev/null 2>&1
}

for run in $(seq "$runs"); do
  base=$((100000 * run))
  if [ $((run % 3)) -eq 0 ]; then
    # A CREATE INDEX killed mid-way: no index afterwards, and its sidecar is an orphan.
    psql -qX -c "SET maintenance_work_mem = '512MB'" -c "SET vtree.build_threads = 1" \
      -c "CREATE INDEX crash_build ON crash_big USING vtree (v) WITH (max_leaf_size = 10, max_iterations = 200)" \
      >/dev/null 2>&1 &   # about 12 s on one thread (60,000 rows): the kill, before 4 s, lands inside it
    sleep "$((RANDOM % 4)).$((RANDOM % 9 + 1))"
    kind="CREATE INDEX"
  else
    # Four writers, one autocommitted INSERT ... RETURNING id per statement: an id
    # is printed only once its COMMIT was acknowledged (lines still buffered when
    # the server dies are lost, which only makes the check smaller).
    for w in 1 2 3 4; do
      seq $((base + w * 10000)) $((base + w * 10000 + 5000)) |
        awk '{ printf "INSERT INTO crash_t SELECT %d, (SELECT array_agg(random()::real) FROM generate_series(1, 32) WHERE %d > 0)::vector RETURNING id;\n", $1, $1 }' \
        >"$work/writer.$w.sql"
      psql -AtqX -f "$work/writer.$w.sql" >"$work/acked.$run.$w" 2>/dev/null &
    done
    sleep "$((RANDOM % 3)).$((RANDOM % 9))"
    kind="INSERT"
  fi
  kill_postmaster
  kills=$((kills + 1))
  wait 2>/dev/null
  fault=none
  if [ "$kind" = INSERT ]; then
    fault=$([ $((RANDOM % 2)) = 0 ] && echo discard || echo tear)
    lose_unsynced_sidecar_writes "$fault"
    faults=$((faults + 1))
  fi
  restart
  check $? "run $run ($kind, sidecar writes since the last fsync: $fault): the server recovers after SIGKILL"
  if [ "$fault" = none ]; then
    [ "$(sql -c "SELECT vectordb_check('crash_v')" 2>"$work/check.log")" = "t" ]
    check $? "run $run: vectordb_check passes$( [ -s "$work/check.log" ] && echo " ($(head -c 200 "$work/check.log" | tr '\n' ' '))")"
  fi
  if [ "$kind" = "CREATE INDEX" ]; then
    [ "$(sql -c "SELECT count(*) FROM pg_class WHERE relname = 'crash_build'")" = 0 ]; check $? "run $run: the killed build left no index"
    sql -c "SELECT count(*) FROM vectordb_cleanup_orphans()" >/dev/null
    # This database's sidecars: only crash_v's is left (other databases may have their own).
    [ "$(sql -c "SELECT count(*) FROM pg_ls_dir('pg_vectordb') f
                 WHERE f LIKE '%\_db' || (SELECT oid FROM pg_database WHERE datname = current_database()) || '\_%.vec'")" = 1 ]
    check $? "run $run: vectordb_cleanup_orphans removes the killed build's sidecar"
    continue
  fi
  cat "$work"/acked."$run".* 2>/dev/null | grep -E '^[0-9]+$' >"$work/ids"
  sed "s/\$/\t$run/" "$work/ids" >"$work/ids.run"
  sql -c "\\copy acked FROM '$work/ids.run'"
  acked=$(sql -c "SELECT count(*) FROM acked WHERE run = $run")
  rows_checked=$((rows_checked + acked))
  # Every row acknowledged in this run is in the table and found first for its
  # own vector (earlier runs' rows: vectordb_check above proves each live row
  # has its entry, and they are all still in the table).
  lost=$(sql -c "SET enable_seqscan = off" -c "SET vtree.probes = 100000" -c "
    SELECT count(*) FROM acked a LEFT JOIN crash_t t USING (id)
    WHERE a.run = $run AND (t.id IS NULL OR (SELECT x.id FROM crash_t x ORDER BY x.v <-> t.v LIMIT 1) <> t.id)")
  [ "$lost" = 0 ]; check $? "run $run: all $acked rows committed in this run are found through the index (lost: $lost)"
  missing=$(sql -c "SELECT count(*) FROM acked a LEFT JOIN crash_t t USING (id) WHERE t.id IS NULL")
  [ "$missing" = 0 ]; check $? "run $run: no row committed in any run is missing from the table (missing: $missing)"
  mismatches=$(sql -c "SET enable_seqscan = off" -c "SET vtree.probes = 100000" -c "SET vtree.rerank_factor = 1000" -c "
    SELECT count(*) FROM (SELECT v FROM crash_t WHERE id % 307 = 0) q
    WHERE ARRAY(SELECT id FROM crash_t ORDER BY v <-> q.v LIMIT 10)
          IS DISTINCT FROM ARRAY(SELECT id FROM crash_t ORDER BY l2_distance(v, q.v), id LIMIT 10)")
  [ "$mismatches" = 0 ]; check $? "run $run: index scans match exact scans (mismatches: $mismatches)"
  # At the default settings too: every returned row in distance order.
  unordered=$(sql -c "SET enable_seqscan = off" -c "SET client_min_messages = error" -c "
    SELECT count(*) FROM (SELECT v FROM crash_t WHERE id % 311 = 0) q
    WHERE (SELECT array_agg(d) FROM (SELECT v <-> q.v AS d FROM crash_t ORDER BY v <-> q.v LIMIT 50) s)
          IS DISTINCT FROM (SELECT array_agg(d ORDER BY d) FROM (SELECT v <-> q.v AS d FROM crash_t ORDER BY v <-> q.v LIMIT 50) s)")
  [ "$unordered" = 0 ]; check $? "run $run: index scans at the defaults return rows in distance order (queries out of order: $unordered)"
  if [ "$fault" != none ]; then
    # The scans above met unusable records and asked for a healer: no one
    # repairs anything by hand.
    healed=f
    for _ in $(seq 90); do
      healed=$(sql -c "SELECT vectordb_check('crash_v')" 2>"$work/check.log")
      [ "$healed" = t ] && break
      sleep 1
    done
    [ "$healed" = t ]
    check $? "run $run: after the power loss, the background healer repairs the sidecar and vectordb_check passes$( [ -s "$work/check.log" ] && echo " ($(head -c 200 "$work/check.log" | tr '\n' ' '))")"
    # The healer's appends are not fsynced: a rebuild gives the next run a known synced state.
    sql -c "SELECT vectordb_rebuild_sidecar('crash_v')" >/dev/null
    remember_synced_sidecar
  fi
done

rm -rf "$work"
[ "$failures" -eq 0 ] && psql -qX -d postgres -c "DROP DATABASE $db" >/dev/null 2>&1
echo "# crash summary: $runs runs, $kills kills survived, $faults sidecar power losses, $rows_checked committed rows checked, $failures failures"
finish_tap
