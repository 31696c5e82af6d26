#!/usr/bin/env bash
# Every WAL record vtree writes replays to the page the primary wrote: a
# primary with wal_consistency_checking on for the generic resource manager
# (each record then carries the page images it produced, and the standby's
# redo compares its result with them, stopping with FATAL on a difference),
# and a streaming hot standby of its own, through rounds of DELETE, VACUUM
# (entries removed, leaves emptied and removed, retired pages recycled),
# INSERT (leaves split, radii raised, freed sidecar slots reused) and UPDATE
# (HOT and not). After each round, on the standby: its index scans equal its
# exact scans with every leaf probed, and its answers at the defaults equal
# the primary's. Prints TAP.
#
#   WAL_ROUNDS (default 10), WAL_ROWS (rows at the start, default 3000)
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
rounds=${WAL_ROUNDS:-10}
rows=${WAL_ROWS:-3000}

work=$(mktemp -d /tmp/vectordb-standby-wal.XXXXXX)
chmod 755 "$work"
[ "$(id -u)" -eq 0 ] && chown postgres: "$work"
p1=$(free_port 31100)  # below the ephemeral port range (scripts/lib/servers.sh)
p2=$(free_port $((p1 + 1)))
cleanup() {
  for d in "$work/standby" "$work/primary"; do
    [ -f "$d/postmaster.pid" ] && as_owner "$pg_bin/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1
  done
  rm -rf "$work"
}
trap cleanup EXIT
start_server() {  # data port
  as_owner "$pg_bin/pg_ctl" -D "$1" -o "-p $2 -k $work -c listen_addresses=127.0.0.1" -l "$1.log" -w -t 120 start >/dev/null
}
P() { psql -AtqX -h 127.0.0.1 -p "$p1" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }
S() { psql -AtqX -h 127.0.0.1 -p "$p2" -U postgres -d postgres "$@"; }

as_owner "$pg_bin/initdb" -D "$work/primary" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null 2>&1
cat >>"$work/primary/postgresql.conf" <<EOF
wal_level = replica
max_wal_senders = 4
hot_standby = on
max_standby_streaming_delay = -1
wal_consistency_checking = 'generic'
autovacuum = off
EOF
start_server "$work/primary" "$p1"
check $? "a primary with wal_consistency_checking = 'generic' starts"
# Small leaves, so that inserts split them and deletes empty them.
P -c "CREATE EXTENSION vectordb" \
  -c "CREATE TABLE t (id int PRIMARY KEY, note text, v vector(16)) WITH (fillfactor = 70)" \
  -c "SELECT setseed(0.5)" \
  -c "INSERT INTO t SELECT i, 'n', (SELECT array_agg(random()::real) FROM generate_series(1, 16) WHERE i > 0)::vector FROM generate_series(1, $rows) i" \
  -c "CREATE INDEX t_v ON t USING vtree (v) WITH (max_leaf_size = 100)" \
  -c "CREATE TABLE queries AS SELECT g AS qid, (SELECT array_agg(random()::real) FROM generate_series(1, 16) WHERE g > 0)::vector(16) AS v FROM generate_series(1, 20) g" \
  -c "CHECKPOINT" >/dev/null
check $? "the primary holds $rows rows with a vtree index"
as_owner "$pg_bin/pg_basebackup" -h 127.0.0.1 -p "$p1" -U postgres -D "$work/standby" -R -X stream >/dev/null 2>&1
start_server "$work/standby" "$p2"
check $? "a streaming standby starts from pg_basebackup"

# Queries whose top 10 through the index (every leaf probed) differ from an exact scan, on the standby.
exhaustive_mismatches() {
  S -c "SET client_min_messages = error" -c "SET enable_seqscan = off" -c "SET vtree.probes = 100000" -c "
    SELECT count(*) FROM queries q
    WHERE ARRAY(SELECT id FROM t ORDER BY v <-> q.v, id LIMIT 10)
          IS DISTINCT FROM ARRAY(SELECT id FROM t ORDER BY l2_distance(v, q.v), id LIMIT 10)"
}
# Every query's top 10 through the index at the defaults, on one server.
default_answers() {  # P or S
  "$1" -c "SET client_min_messages = error" -c "SET enable_seqscan = off" -c "
    SELECT string_agg(ids, ';' ORDER BY qid) FROM (
      SELECT qid, (SELECT string_agg(id::text, ',') FROM (SELECT id FROM t ORDER BY v <-> q.v LIMIT 10) s) AS ids
      FROM queries q) a"
}

replay_failures=0 exact_failures=0 agree_failures=0 next_id=$((rows + 1))
start_lsn=$(P -c "SELECT pg_current_wal_lsn()")
for r in $(seq 1 "$rounds"); do
  n=$((rows / 5))
  P -c "SELECT setseed(0.$r)" \
    -c "DELETE FROM t WHERE id IN (SELECT id FROM t ORDER BY random() LIMIT $n)" \
    -c "VACUUM t" \
    -c "INSERT INTO t SELECT i, 'n', (SELECT array_agg((random() + $r * 0.05)::real) FROM generate_series(1, 16) WHERE i > 0)::vector
        FROM generate_series($next_id, $((next_id + n - 1))) i" \
    -c "UPDATE t SET note = note || 'x' WHERE id % 17 = $r" \
    -c "UPDATE t SET v = (SELECT array_agg(random()::real) FROM generate_series(1, 16) WHERE id > 0)::vector WHERE id % 23 = $r" \
    >/dev/null || replay_failures=$((replay_failures + 1))
  next_id=$((next_id + n))
  # Every other round, a second VACUUM: the pages of leaves the first one retired are recycled
  # once no snapshot is older than their retirement.
  [ $((r % 2)) = 0 ] && P -c "VACUUM t" >/dev/null
  replay_caught_up "$p1" "$p2" || replay_failures=$((replay_failures + 1))
  m=$(exhaustive_mismatches)
  [ "$m" = 0 ] || exact_failures=$((exact_failures + 1))
  [ "$(default_answers S)" = "$(default_answers P)" ] || agree_failures=$((agree_failures + 1))
done
end_lsn=$(P -c "SELECT pg_current_wal_lsn()")
# The records do carry the images the standby compares against.
verified=$(as_owner "$pg_bin/pg_waldump" -p "$work/primary/pg_wal" -r Generic -s "$start_lsn" -e "$end_lsn" 2>/dev/null |
           grep -c "for WAL verification")
generic=$(as_owner "$pg_bin/pg_waldump" -p "$work/primary/pg_wal" -r Generic -s "$start_lsn" -e "$end_lsn" 2>/dev/null | grep -c "rmgr: Generic")
inconsistent=$(grep -c "inconsistent page" "$work/standby.log" 2>/dev/null)
leaves=$(P -c "SELECT leaves FROM vectordb_index_stats('t_v')")
S -c "SELECT 1" >/dev/null 2>&1; alive=$?
echo "# $rounds rounds; leaves at the end $leaves; $generic generic WAL records, $verified page images for verification; standby log: ${inconsistent:-0} inconsistent pages"
[ "${verified:-0}" -gt 0 ]; check $? "vtree's WAL records carry page images for the standby to verify against ($verified in $generic records)"
[ "$replay_failures" = 0 ] && [ "$alive" = 0 ]
check $? "the standby replays every round and stays up ($replay_failures rounds not replayed)"
[ "${inconsistent:-0}" = 0 ]; check $? "redo of every generic WAL record matches the primary's page (wal_consistency_checking)"
[ "$exact_failures" = 0 ]; check $? "after every round the standby's index scans equal its exact scans ($exact_failures rounds differed)"
[ "$agree_failures" = 0 ]; check $? "after every round the standby answers as the primary at the defaults ($agree_failures rounds differed)"
[ "$(P -c "SELECT vectordb_check('t_v')" 2>/dev/null)" = t ]; check $? "vectordb_check passes on the primary"
# A standby cannot block its primary's writes as the check must: it says so.
standby_check=$(S -v VERBOSITY=verbose -c "SELECT vectordb_check('t_v')" 2>&1)
echo "$standby_check" | grep -q "ERROR:  55000: vectordb_check cannot run during recovery"
check $? "on the standby, vectordb_check refuses with SQLSTATE 55000 ($(echo "$standby_check" | head -1))"
finish_tap
