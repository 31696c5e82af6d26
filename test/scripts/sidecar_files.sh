#!/usr/bin/env bash
# The sidecar as the server's processes see it (the single-session cases are
# in sql/vtree_sidecar.sql):
#   1. a template and its clone, 1,500 concurrent inserts in each: neither
#      loses a record to the other, every new row finds itself first, and the
#      template's file holds exactly the template's records;
#   2. an idle backend that has used an index lets go of its file after
#      another session drops or rebuilds it (at its next command);
#   3. a build uses at most 1 + max_parallel_maintenance_workers threads;
#   4. the background healer: a deleted sidecar, records zeroed in place and
#      a template clone are healed after one scan or insert meets them, with
#      no call by hand; vectordb_heal_sidecar by hand, its privileges, and
#      that it never waits for a lock (no deadlock with DROP TABLE).
# Prints TAP.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
export PGDATABASE=postgres
tmp=$(mktemp -d /tmp/vdb-files.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for db in vdb_files_template vdb_files_clone vdb_files; do
  psql -qX -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" >/dev/null
done

# --- 1. template and clone, concurrent inserts ----------------------------------
psql -qX -c "CREATE DATABASE vdb_files_template" >/dev/null
sql -d vdb_files_template -c "CREATE EXTENSION vectordb" \
    -c "CREATE TABLE t (id int PRIMARY KEY, v vector(8))" \
    -c "SELECT setseed(0.3)" \
    -c "INSERT INTO t SELECT i, (SELECT array_agg(random())::real[]::vector FROM generate_series(1, 8) WHERE i > 0) FROM generate_series(1, 3000) i" \
    -c "CREATE INDEX t_v ON t USING vtree (v)" >/dev/null
psql -qX -c "CREATE DATABASE vdb_files_clone TEMPLATE vdb_files_template" >/dev/null
records() { sql -d vdb_files_template -c "SELECT ((pg_stat_file(sidecar_path)).size - 4096) / 48 FROM vectordb_index_stats('t_v')"; }
before=$(records)
# Three clients per database, 500 rows each, rows of one database unlike the other's.
insert_rows() {  # database first_id offset
  psql -qX -d "$1" -c "SET client_min_messages = error" -c "DO \$\$ BEGIN
      FOR i IN $2..$(($2 + 499)) LOOP
        INSERT INTO t VALUES (i, (SELECT array_agg(random() + $3)::real[]::vector FROM generate_series(1, 8) WHERE i > 0));
        COMMIT;
      END LOOP; END \$\$" >/dev/null
}
pids=()
for c in 0 1 2; do
  insert_rows vdb_files_template $((10000 + c * 500)) 0 & pids+=($!)
  insert_rows vdb_files_clone $((10000 + c * 500)) 5 & pids+=($!)
done
wait "${pids[@]}"
after=$(records)
[ $((after - before)) = 1500 ]; check $? "the template's sidecar gained exactly its own 1,500 records (gained $((after - before)))"
self_found() {  # database: new rows whose own vector finds them first, every leaf probed
  sql -d "$1" -c "SET enable_seqscan = off" -c "SET vtree.probes = 100000" -c "SET client_min_messages = error" \
      -c "SELECT count(*) FROM t WHERE id >= 10000 AND (SELECT u.id FROM t u ORDER BY u.v <-> t.v LIMIT 1) = t.id"
}
n=$(self_found vdb_files_template)
[ "$n" = 1500 ]; check $? "every row inserted in the template finds itself first (found $n of 1500)"
n=$(self_found vdb_files_clone)
[ "$n" = 1500 ]; check $? "every row inserted in the clone finds itself first (found $n of 1500)"
[ "$(sql -d vdb_files_template -c "SELECT vectordb_check('t_v')" 2>/dev/null)" = t ]
check $? "the template's index checks clean"
sql -d vdb_files_clone -c "SELECT vectordb_rebuild_sidecar('t_v')" >/dev/null
status=$(sql -d vdb_files_clone -c "SELECT sidecar_status FROM vectordb_index_stats('t_v')")
[ "$status" = ok ] && [ "$(sql -d vdb_files_clone -c "SELECT vectordb_check('t_v')" 2>/dev/null)" = t ]
check $? "the clone's rebuilt sidecar is its own and checks clean (status: $status)"
psql -qX -c "DROP DATABASE vdb_files_clone" -c "DROP DATABASE vdb_files_template" >/dev/null

# --- 2. an idle backend lets go of a dropped or rebuilt file --------------------
psql -qX -c "CREATE DATABASE vdb_files" >/dev/null
export PGDATABASE=vdb_files
sql -c "CREATE EXTENSION vectordb" \
    -c "CREATE TABLE d (id int, v vector(4))" \
    -c "INSERT INTO d SELECT i, ARRAY[i % 7, i % 5, i % 3, 1]::real[]::vector FROM generate_series(1, 2000) i" \
    -c "CREATE INDEX d_v ON d USING vtree (v)" >/dev/null
path=$(sql -c "SELECT sidecar_path FROM vectordb_index_stats('d_v')")
fifo=$(mktemp -u)
mkfifo "$fifo"
# A session kept open on the fifo: it uses the index, then waits idle.
psql -AtqX <"$fifo" >"$fifo.out" 2>&1 &
idle=$!
exec 7>"$fifo"
echo "SELECT pg_backend_pid(); SET enable_seqscan = off; SELECT count(*) FROM (SELECT id FROM d ORDER BY v <-> '[1,1,1,1]' LIMIT 5) s;" >&7
for _ in $(seq 50); do [ "$(wc -l <"$fifo.out")" -ge 2 ] && break; sleep 0.1; done
backend=$(head -n 1 "$fifo.out")
holds() { ls -l "/proc/$backend/fd" 2>/dev/null | grep -c -- "$1"; }
[ "$(holds "$(basename "$path")")" -ge 1 ]; check $? "the idle backend holds the sidecar it used open"
sql -c "SELECT vectordb_rebuild_sidecar('d_v')" >/dev/null
echo "SELECT 1;" >&7
sleep 0.5
[ "$(holds "$(basename "$path")")" = 0 ]; check $? "after another session's rebuild it lets go of the old file at its next command"
echo "SELECT count(*) FROM (SELECT id FROM d ORDER BY v <-> '[1,1,1,1]' LIMIT 5) s;" >&7
sleep 0.5
path=$(sql -c "SELECT sidecar_path FROM vectordb_index_stats('d_v')")
[ "$(holds "$(basename "$path")")" -ge 1 ]; check $? "and opens the new one when it next uses the index"
sql -c "DROP INDEX d_v" >/dev/null
echo "SELECT 1;" >&7
sleep 0.5
[ "$(holds "$(basename "$path")")" = 0 ] && [ "$(holds '(deleted)')" = 0 ]
check $? "after another session's DROP INDEX it holds no deleted file"
exec 7>&-
wait "$idle" 2>/dev/null
rm -f "$fifo" "$fifo.out"

# --- 3. build threads within PostgreSQL's maintenance budget ------------------
threads_used() {  # max_parallel_maintenance_workers build_threads
  psql -qX -c "SET client_min_messages = debug1" -c "SET max_parallel_maintenance_workers = $1" \
      -c "SET vtree.build_threads = $2" -c "CREATE INDEX d_threads ON d USING vtree (v)" 2>&1 |
    sed -n 's/.*clustering [0-9]* rows on \([0-9]*\) threads.*/\1/p'
  sql -c "DROP INDEX d_threads" >/dev/null
}
used=$(threads_used 0 64)
[ "$used" = 1 ]; check $? "max_parallel_maintenance_workers = 0 makes a build single-threaded (used $used)"
used=$(threads_used 1 64)
[ "$used" = 2 ]; check $? "vtree.build_threads = 64 with max_parallel_maintenance_workers = 1 uses 2 threads (used $used)"
used=$(threads_used 8 1)
[ "$used" = 1 ]; check $? "vtree.build_threads = 1 uses 1 thread (used $used)"

# --- 4. the background healer ---------------------------------------------------
sql -c "CREATE INDEX d_v ON d USING vtree (v)" >/dev/null
# until_checks_clean INDEX [DATABASE]: polls vectordb_check for up to 60 s; prints the seconds it took, or "never".
until_checks_clean() {
  local s
  for s in $(seq 0 60); do
    [ "$(sql -d "${2:-vdb_files}" -c "SELECT vectordb_check('$1')" 2>/dev/null)" = t ] && { echo "$s"; return; }
    sleep 1
  done
  echo never
}
scan() { sql -d "${2:-vdb_files}" -c "SET client_min_messages = error" -c "SET enable_seqscan = off" \
             -c "SELECT count(*) FROM (SELECT id FROM $1 ORDER BY v <-> '[1,2,3,1]' LIMIT 5) s" >/dev/null; }
path=$(sql -c "SELECT sidecar_path FROM vectordb_index_stats('d_v')")
rm -f "$path"
scan d
took=$(until_checks_clean d_v)
[ "$took" != never ]; check $? "a deleted sidecar is healed in the background after one scan (in ${took} s)"
[ "$(sql -c "SELECT sidecar_status = 'ok' AND sidecar_path <> '$path' FROM vectordb_index_stats('d_v')")" = t ]
check $? "the healed index has a new file of its own"
path=$(sql -c "SELECT sidecar_path FROM vectordb_index_stats('d_v')")
# Zero 40 records (32 bytes each at 4 dimensions) in place, under the running server's mappings.
dd if=/dev/zero of="$path" bs=32 seek=$((4096 / 32 + 100)) count=40 conv=notrunc status=none
[ "$(sql -c "SELECT vectordb_check('d_v')" 2>/dev/null)" = f ]; check $? "vectordb_check sees the zeroed records"
scan_all() { sql -c "SET client_min_messages = error" -c "SET enable_seqscan = off" -c "SET vtree.probes = 100000" \
                 -c "SELECT count(*) FROM (SELECT id FROM d ORDER BY v <-> '[1,2,3,1]') s" >/dev/null; }
scan_all
took=$(until_checks_clean d_v)
[ "$took" != never ]; check $? "records zeroed in place are healed in the background after one scan (in ${took} s)"
[ "$(sql -c "SELECT sidecar_path FROM vectordb_index_stats('d_v')")" = "$path" ]; check $? "... into the same file"
[ "$(sql -c "SELECT vectordb_heal_sidecar('d_v')")" = 0 ]; check $? "vectordb_heal_sidecar on a healthy index writes nothing"
# A damaged record whose row nobody can see any more (an aborted INSERT; VACUUM
# removes its entry) is no damage: a scan finds no row behind it, and a healer
# has no row to heal it from. (The crash stress met one: a killed INSERT whose
# index WAL reached disk while a power loss discarded its record.)
sql -c "CREATE TABLE ab (id int, v vector(4))" -c "CREATE INDEX ab_v ON ab USING vtree (v)" \
    -c "INSERT INTO ab SELECT i, ARRAY[i, 1, 2, 3]::vector FROM generate_series(1, 10) i" \
    -c "BEGIN" -c "INSERT INTO ab VALUES (11, '[11,1,2,3]')" -c "ROLLBACK" >/dev/null
ab_path=$(sql -c "SELECT sidecar_path FROM vectordb_index_stats('ab_v')")
ab_size=$(stat -c %s "$ab_path")
dd if=/dev/zero of="$ab_path" bs=32 seek=$((ab_size / 32 - 1)) count=1 conv=notrunc status=none  # the aborted row's record, the last
[ "$(sql -c "SELECT vectordb_check('ab_v')" 2>/dev/null)" = t ]
check $? "vectordb_check passes over a damaged record of an aborted row's entry"
dd if=/dev/zero of="$ab_path" bs=32 seek=$((ab_size / 32 - 2)) count=1 conv=notrunc status=none  # a committed row's
[ "$(sql -c "SELECT vectordb_check('ab_v')" 2>/dev/null)" = f ]; check $? "... but reports a committed row's"
sql -c "DROP TABLE ab" >/dev/null
sql -c "DROP ROLE IF EXISTS vdb_stranger" -c "CREATE ROLE vdb_stranger" -c "GRANT SELECT ON d TO vdb_stranger" >/dev/null
state=$(psql -AtqX -c "SET ROLE vdb_stranger" -c "DO \$\$ BEGIN PERFORM vectordb_heal_sidecar('d_v');
          EXCEPTION WHEN OTHERS THEN RAISE NOTICE 'state %', SQLSTATE; END \$\$" 2>&1 | sed -n 's/.*state //p')
[ "$state" = 42501 ]; check $? "vectordb_heal_sidecar needs the index's owner (got $state)"
sql -c "DROP OWNED BY vdb_stranger" -c "DROP ROLE vdb_stranger" >/dev/null
# A healer never waits for a lock: while a session that will DROP the table
# holds it, vectordb_heal_sidecar returns NULL at once, and the DROP then goes
# through (a healer that locked the index and waited for the table was the
# other half of a deadlock with DROP TABLE; the differential harness met it).
sql -c "CREATE TABLE lk AS SELECT id, v FROM d" -c "CREATE INDEX lk_v ON lk USING vtree (v)" >/dev/null
psql -qXAt -c "BEGIN" -c "LOCK TABLE lk IN ACCESS EXCLUSIVE MODE" -c "SELECT pg_sleep(2)" -c "DROP TABLE lk" \
     -c "COMMIT" >"$tmp/drop.out" 2>&1 &
dropper=$!
sleep 0.7
healed=$(sql -c "SET statement_timeout = '20s'" -c "SELECT coalesce(vectordb_heal_sidecar('lk_v')::text, 'busy')" 2>&1)
wait $dropper; dropped=$?
[ "$healed" = busy ] && [ "$dropped" = 0 ] && ! grep -q ERROR "$tmp/drop.out" && \
  [ -z "$(sql -c "SELECT 1 FROM pg_class WHERE relname = 'lk'")" ]
check $? "vectordb_heal_sidecar on a table a DROP holds: busy at once, and the DROP succeeds (got $healed; $(tr '\n' ' ' <"$tmp/drop.out"))"
# A clone gets its own file as soon as a row is inserted there.
psql -qX -c "CREATE DATABASE vdb_files_clone TEMPLATE vdb_files" >/dev/null
sql -d vdb_files_clone -c "SET client_min_messages = error" -c "INSERT INTO d VALUES (0, '[9,9,9,9]')" >/dev/null
took=$(until_checks_clean d_v vdb_files_clone)
status=$(sql -d vdb_files_clone -c "SELECT sidecar_status FROM vectordb_index_stats('d_v')")
[ "$took" != never ] && [ "$status" = ok ]
check $? "a template clone's index gets its own sidecar in the background after one insert (in ${took} s, status $status)"
psql -qX -c "DROP DATABASE vdb_files_clone" >/dev/null

export PGDATABASE=postgres
psql -qX -c "DROP DATABASE vdb_files" >/dev/null
finish_tap
