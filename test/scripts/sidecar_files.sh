#!/usr/bin/env bash
# The sidecar as the server's processes see it (the single-session cases are
# in sql/vtree_sidecar.sql):
#   1. a template and its clone, 1,500 concurrent inserts in each: neither
#      loses a record to the other, every new row finds itself first, and the
#      template's file holds exactly the template's records;
#   2. an idle backend that has used an index lets go of its file after
#      another session drops or rebuilds it (at its next command);
#   3. a build uses at most 1 + max_parallel_maintenance_workers threads.
# Prints TAP.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
export PGDATABASE=postgres
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

export PGDATABASE=postgres
psql -qX -c "DROP DATABASE vdb_files" >/dev/null
finish_tap
