#!/usr/bin/env bash
# Tree images (src/pg/tree_image.h): the backends using an index map one copy
# of its tree's centroids; an image that differs from the index pages (garbled,
# cut short, stale) is never used, and is replaced; images follow their index
# through growth, REINDEX, DROP INDEX and vectordb_cleanup_orphans(); small
# trees stay private. Every answer is compared with an exact scan.
# Runs against the throwaway cluster in build/cluster.env and prints TAP.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh

db=vectordb_tree_share
fresh_database $db
dir=$PGDATA/pg_vectordb
sql -c "CREATE EXTENSION vectordb"
sql -c "SELECT setseed(0.3)" -c "CREATE TABLE t AS
  SELECT i AS id, (SELECT array_agg(random()::real) FROM generate_series(1, 128) WHERE i > 0)::vector(128) AS v
  FROM generate_series(1, 20000) i" -c "ANALYZE t" >/dev/null
# Small leaves: about 640 of them, a tree of about 800 KB (images start at 256 KB).
sql -c "CREATE INDEX t_v ON t USING vtree (v) WITH (max_leaf_size = 50)"
oid() { sql -c "SELECT '$1'::regclass::oid"; }
images_of() { ls "$dir" 2>/dev/null | grep -E "_idx$1_[0-9a-f]{16}\.vec\.tree-[0-9a-f]{16}\$"; }

index_query="SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> (SELECT v FROM t WHERE id = 1) LIMIT 5) s"
# Sessions report their backend pids in this table, under a name.
sql -c "CREATE TABLE pids (name text, pid int)"
# An index query in a new backend that reports its pid as $1, then holds the
# backend open for $2 seconds.
query_and_hold() {
  psql -qX -c "SET enable_seqscan = off" -c "$index_query" \
    -c "INSERT INTO pids VALUES ('$1', pg_backend_pid())" -c "SELECT pg_sleep($2)" >/dev/null
}
# The pid reported as $1 (waits up to 60 s for it).
pid_of() {
  local pid=
  for _ in $(seq 600); do
    pid=$(sql -c "SELECT pid FROM pids WHERE name = '$1'")
    [ -n "$pid" ] && break
    sleep 0.1
  done
  echo "$pid"
}

# Exhaustive index scans (every leaf probed) against exact scans, for 10 rows'
# vectors and LIMIT 20: prints the number of queries whose ids differ.
exhaustive_mismatches() {
  sql -c "SET vtree.probes = 100000" -c "SET enable_seqscan = off" -c "SELECT count(*) FILTER (WHERE NOT same) FROM (
    SELECT q.id,
      (SELECT array_agg(id) FROM (SELECT id FROM t ORDER BY v <-> q.v LIMIT 20) a) =
      (SELECT array_agg(id) FROM (SELECT id FROM t ORDER BY (v <-> q.v) + 0 LIMIT 20) b) AS same
    FROM t q WHERE q.id % 2000 = 7) s"
}

idx=$(oid t_v)
query_and_hold load 0
first=$(images_of "$idx")
[ "$(wc -l <<<"$first")" = 1 ] && [ -n "$first" ]
check $? "a loaded tree of about 800 KB is written once as an image ($first)"

# --- three backends map the same image --------------------------------------
pids=()
for n in 1 2 3; do query_and_hold "reader$n" 6 & done
mapped=0
for n in 1 2 3; do
  pid=$(pid_of "reader$n")
  grep -q "$first" "/proc/$pid/maps" 2>/dev/null && mapped=$((mapped + 1))
  pids+=("$pid")
done
[ "$mapped" = 3 ]
check $? "three backends map the one image (${pids[*]}: $mapped)"
wait
# What a backend keeps of its own: the nodes, radii and leaf heads, not the centroids.
memory=$(sql -c "SET enable_seqscan = off" -c "$index_query" \
  -c "SELECT private_bytes || ' ' || shared_bytes || ' ' || image FROM vectordb_tree_memory('t_v')" | tail -1)
read -r private shared image <<<"$memory"
[ "$image" = "$first" ] && [ "$shared" -gt $((4 * private)) ]
check $? "a backend keeps a fifth or less of the tree of its own ($private private, $shared shared bytes)"
[ "$(exhaustive_mismatches)" = 0 ]
check $? "exhaustive scans through the shared tree equal exact scans"

# --- an image that differs from the index pages is never used ---------------
size=$(stat -c %s "$dir/$first")
as_owner bash -c "head -c $size /dev/urandom >'$dir/garbled.tmp' && mv '$dir/garbled.tmp' '$dir/$first'"
garbage=$(md5sum <"$dir/$first")
[ "$(exhaustive_mismatches)" = 0 ]
check $? "a garbled image: exhaustive scans still equal exact scans"
[ -f "$dir/$first" ] && [ "$(md5sum <"$dir/$first")" != "$garbage" ] &&
  [ "$(stat -c %s "$dir/$first")" = "$size" ]
check $? "the garbled image is replaced by the true one"
as_owner bash -c "head -c $((size / 2)) '$dir/$first' >'$dir/short.tmp' && mv '$dir/short.tmp' '$dir/$first'"
[ "$(exhaustive_mismatches)" = 0 ] && [ "$(stat -c %s "$dir/$first")" = "$size" ]
check $? "an image cut short is not used, and is rewritten whole"

# --- growth: splits make the tree private, it is shared again once still ----
# One long-lived backend: queries (maps the image), inserts 5,000 rows (splits:
# its tree goes private), queries, waits out kTreeShareQuietSeconds, queries
# (shares the grown tree as a new image), then holds on while we look.
leaves_before=$(sql -c "SELECT leaves FROM vectordb_index_stats('t_v')")
psql -AtqX -c "SET enable_seqscan = off" -c "$index_query" -c "SELECT setseed(0.4)" -c "INSERT INTO t
  SELECT 20000 + i, (SELECT array_agg(random()::real) FROM generate_series(1, 128) WHERE i > 0)::vector(128)
  FROM generate_series(1, 5000) i" -c "$index_query" -c "SELECT pg_sleep(6)" -c "$index_query" \
  -c "INSERT INTO pids VALUES ('grower', pg_backend_pid())" -c "SELECT pg_sleep(5)" >/dev/null &
pid=$(pid_of grower)
leaves_after=$(sql -c "SELECT leaves FROM vectordb_index_stats('t_v')")
grown=$(images_of "$idx")
[ "$leaves_after" -gt "$leaves_before" ] && [ "$(wc -l <<<"$grown")" = 1 ] && [ -n "$grown" ] &&
  [ "$grown" != "$first" ]
check $? "after splits ($leaves_before -> $leaves_after leaves) a new image replaces the old one"
grep -q "$grown" "/proc/$pid/maps" 2>/dev/null && ! grep -q "$first" "/proc/$pid/maps"
check $? "the backend that split leaves maps the new image once splits pause"
wait
[ "$(exhaustive_mismatches)" = 0 ]
check $? "exhaustive scans after growth equal exact scans"

# --- REINDEX and DROP INDEX take their images with them ---------------------
sql -c "REINDEX INDEX t_v"
query_and_hold after-reindex 0
reindexed=$(images_of "$idx")
[ "$(wc -l <<<"$reindexed")" = 1 ] && [ -n "$reindexed" ] && [ "${reindexed%%.vec*}" != "${grown%%.vec*}" ]
check $? "REINDEX: the old build's image is gone, the new build has one"
# An idle backend that maps the image lets go of it at its next command after
# another session's DROP INDEX, so the file's space is freed.
psql -qX -c "SET enable_seqscan = off" -c "$index_query" -c "INSERT INTO pids VALUES ('idle', pg_backend_pid())" \
  -c "SELECT pg_sleep(3)" -c "SELECT 1" -c "INSERT INTO pids VALUES ('idle-after', pg_backend_pid())" \
  -c "SELECT pg_sleep(4)" >/dev/null &
idle=$(pid_of idle)
grep -q "$reindexed" "/proc/$idle/maps" 2>/dev/null
mapped_before=$?
sql -c "DROP INDEX t_v"
[ -z "$(images_of "$idx")" ]
check $? "DROP INDEX removes the index's image"
pid_of idle-after >/dev/null
! grep -q "$reindexed" "/proc/$idle/maps" 2>/dev/null && [ "$mapped_before" = 0 ]
check $? "an idle backend unmaps a dropped index's image at its next command"
wait

# --- an orphan image, and a small tree -----------------------------------------
sys=$(sql -c "SELECT system_identifier FROM pg_control_system()")
dbid=$(sql -c "SELECT oid FROM pg_database WHERE datname = current_database()")
orphan="sys${sys}_db${dbid}_idx999999_0123456789abcdef.vec.tree-00000000000000aa"
as_owner touch "$dir/$orphan"
removed=$(sql -c "SELECT count(*) FROM vectordb_cleanup_orphans() f WHERE f = '$orphan'")
[ "$removed" = 1 ] && [ ! -e "$dir/$orphan" ]
check $? "vectordb_cleanup_orphans() removes an image whose index is gone"
sql -c "CREATE TABLE small AS SELECT id, v FROM t WHERE id <= 300" -c "CREATE INDEX small_v ON small USING vtree (v)"
sql -c "SET enable_seqscan = off" -c "SELECT id FROM small ORDER BY v <-> (SELECT v FROM small WHERE id = 1) LIMIT 3" >/dev/null
[ -z "$(images_of "$(oid small_v)")" ] &&
  [ "$(sql -c "SELECT shared_bytes = 0 AND image IS NULL AND private_bytes > 0 FROM vectordb_tree_memory('small_v')")" = t ]
check $? "a small tree stays private (no image)"

finish_tap
