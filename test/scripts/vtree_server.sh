#!/usr/bin/env bash
# Server-level behaviour of vtree that a single SQL session cannot show:
#   - build progress and a cancel, watched from a second session;
#   - a damaged index page, found after a restart: ERROR XX001, no crash;
#   - a hot standby built with pg_basebackup answering exactly like an exact
#     scan (through the table fallback for vectors its sidecar copy lacks).
# Runs against the throwaway cluster in build/cluster.env and prints TAP.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh

db=vectordb_server
fresh_database $db
# Waits (up to 20 s) until the standby has replayed everything the primary wrote so far.
wait_for_replay() {
  local target caught
  target=$(sql -c "SELECT pg_current_wal_lsn()")
  for _ in $(seq 200); do
    caught=$(psql -AtqX -p "$port2" -c "SELECT pg_last_wal_replay_lsn() >= '$target'" 2>/dev/null)
    [ "$caught" = "t" ] && break
    sleep 0.1
  done
}
sql -c "CREATE EXTENSION vectordb"
sql -c "SELECT setseed(0.7)" -c "CREATE TABLE big AS
  SELECT i AS id, (SELECT array_agg(random()::real) FROM generate_series(1, 96) WHERE i > 0)::vector(96) AS v
  FROM generate_series(1, 40000) i" -c "ANALYZE big" >/dev/null
sidecars() { sql -c "SELECT count(*) FROM pg_ls_dir('pg_vectordb') f WHERE f LIKE '%.vec'"; }

# Polls pg_stat_progress_create_index from this session until a build has
# come and gone (or 60 s), and prints the distinct phases seen, in order of
# first sight. Start it before the build, so no phase is missed.
watch_progress() {
  sql -c "CREATE TEMP TABLE seen (at int, phase text, done bigint, total bigint)" -c "DO \$\$
    DECLARE i int := 0; started boolean := false; running boolean;
    BEGIN
      LOOP
        i := i + 1;
        PERFORM pg_stat_clear_snapshot();
        INSERT INTO seen SELECT i, phase, tuples_done, tuples_total FROM pg_stat_progress_create_index;
        running := EXISTS (SELECT 1 FROM pg_stat_progress_create_index);
        started := started OR running;
        EXIT WHEN i > 6000 OR (started AND NOT running);
        PERFORM pg_sleep(0.01);
      END LOOP;
    END \$\$" -c "SELECT string_agg(phase, ',' ORDER BY first) FROM (SELECT phase, min(at) AS first FROM seen GROUP BY phase) s" \
    -c "SELECT count(*) FROM seen WHERE phase LIKE '%loading tuples' AND done > 0 AND total > 0"
}

# --- progress ------------------------------------------------------------------
log=$(mktemp)
watch_progress >"$log.progress" &
watcher=$!
sleep 1
psql -qX -c "SET vtree.build_threads = 1" -c "CREATE INDEX big_v ON big USING vtree (v) WITH (max_iterations = 60)" >"$log" 2>&1
build_rc=$?
wait "$watcher"
progress=$(cat "$log.progress")
rm -f "$log.progress"
phases=$(sed -n 1p <<<"$progress")
counted=$(sed -n 2p <<<"$progress")
echo "# phases seen: $phases; loading samples with tuple counts: $counted"
check "$build_rc" "CREATE INDEX succeeds while another session watches it"
case "$phases" in *"loading tuples"*clustering*) r=0 ;; *) r=1 ;; esac
check "$r" "pg_stat_progress_create_index shows loading then clustering"
[ "${counted:-0}" -gt 0 ]; check $? "the loading phase reports tuple counts"

# --- phase timings belong to one build ----------------------------------------
# A build that fails after loading, then one that succeeds, in one session: the
# second reports its own phases at DEBUG1, none left over from the first.
phase_log=$(psql -qX -c "SET client_min_messages = debug1" \
  -c "CREATE TABLE wide AS SELECT i AS id, (SELECT array_agg(random()::real) FROM generate_series(1, 2100) WHERE i > 0)::vector(2100) AS v FROM generate_series(1, 50) i" \
  -c "CREATE INDEX wide_pages ON wide USING vtree (v) WITH (storage = pages)" \
  -c "CREATE INDEX wide_mmap ON wide USING vtree (v)" -c "DROP TABLE wide" 2>&1)
after_failure=$(awk '/ERROR:  storage = pages holds vectors/ {failed = 1; next}
  failed && /vtree build: loading tuples took/ {n++} END {print n + 0}' <<<"$phase_log")
grep -q "ERROR:  storage = pages holds vectors" <<<"$phase_log" && [ "$after_failure" = 1 ]
check $? "after a failed build, the next one times its own loading phase once ($after_failure)"

# --- cancel --------------------------------------------------------------------
before=$(sidecars)
psql -qX -c "SET vtree.build_threads = 1" -c "CREATE INDEX big_cancelled ON big USING vtree (v) WITH (max_iterations = 60)" >"$log" 2>&1 &
build=$!
pid=""
for _ in $(seq 600); do
  pid=$(sql -c "SELECT pid FROM pg_stat_progress_create_index WHERE phase LIKE '%clustering'")
  [ -n "$pid" ] && break
  sleep 0.05
done
start=$(date +%s%N)
sql -c "SELECT pg_cancel_backend($pid)" >/dev/null
wait "$build"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "# cancel during clustering answered in $elapsed_ms ms"
grep -q "canceling statement due to user request" "$log"; check $? "a cancel during clustering stops the build"
[ -n "$pid" ] && [ "$elapsed_ms" -lt 5000 ]; check $? "the cancel is answered promptly ($elapsed_ms ms)"
[ "$(sql -c "SELECT count(*) FROM pg_class WHERE relname = 'big_cancelled'")" = 0 ] && [ "$(sidecars)" = "$before" ]
check $? "the cancelled build leaves no index and no sidecar"

# --- a damaged page --------------------------------------------------------------
sql -c "CREATE TABLE small AS SELECT i AS id, ARRAY[i % 13, i % 7, i % 5, 1]::real[]::vector(4) AS v FROM generate_series(1, 2000) i" \
    -c "CREATE INDEX small_v ON small USING vtree (v) WITH (max_leaf_size = 100)" -c "CHECKPOINT" >/dev/null
file="$PGDATA/$(sql -c "SELECT pg_relation_filepath('small_v')")"
query_state() {  # prints the SQLSTATE of an index scan, or "none"
  psql -AtqX 2>&1 -c "SET enable_seqscan = off" -c "SET vtree.probes = 100000" -c "DO \$\$ BEGIN
      PERFORM (SELECT array_agg(id) FROM (SELECT id FROM small ORDER BY v <-> '[1,2,3,1]' LIMIT 5) s);
      RAISE NOTICE 'state none';
    EXCEPTION WHEN OTHERS THEN RAISE NOTICE 'state %', SQLSTATE; END \$\$" | sed -n 's/.*state //p'
}
restart() { as_owner "$pg_bin/pg_ctl" -D "$PGDATA" -m fast -w restart -l "$VECTORDB_CLUSTER_LOG" >/dev/null; }
# damage WHAT PATTERN COMMAND...: runs COMMAND on the index's file with the
# server down, then expects a scan to fail with XX001 and vectordb_check to
# return false with a WARNING matching PATTERN.
damage() {
  local what=$1 pattern=$2 state verdict
  shift 2
  as_owner "$pg_bin/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
  "$@"
  as_owner "$pg_bin/pg_ctl" -D "$PGDATA" -w start -l "$VECTORDB_CLUSTER_LOG" >/dev/null
  state=$(query_state)
  [ "$state" = "XX001" ]; check $? "$what is ERROR XX001 (got $state)"
  verdict=$(psql -AtqX -c "SELECT vectordb_check('small_v')" 2>"$log")
  [ "$verdict" = "f" ] && grep -q "$pattern" "$log"; check $? "vectordb_check reports $what and returns false"
}
zero_page() { dd if=/dev/zero of="$file" bs=8192 seek="$1" count=1 conv=notrunc status=none; }
write_at() { printf "$2" | dd of="$file" bs=1 seek="$1" conv=notrunc status=none; }
# Zero leaf head page 1, then garble the metapage's magic number in a copy run.
damage "a zeroed leaf page" "reaches block 1, an all-zero page" zero_page 1
damage "a garbled metapage" "metapage" write_at 24 'XXXX'
! grep -q "terminated by signal" "$VECTORDB_CLUSTER_LOG"; check $? "no backend crashed"
sql -c "REINDEX INDEX small_v" >/dev/null
state=$(query_state)
[ "$state" = "none" ]; check $? "REINDEX repairs the index"
# A leaf page whose header claims 65,520 entries of a capacity of 65,535: the
# counts agree with each other, not with the page's layout.
sql -c "CHECKPOINT" >/dev/null
file="$PGDATA/$(sql -c "SELECT pg_relation_filepath('small_v')")"  # REINDEX gave it a new file
damage "a leaf page with a garbled capacity" "block 1 has bad entry counts" write_at $((8192 + 24)) '\xf0\xff\xff\xff'
! grep -q "terminated by signal" "$VECTORDB_CLUSTER_LOG"; check $? "no backend crashed on the garbled capacity"
sql -c "REINDEX INDEX small_v" >/dev/null
state=$(query_state)
[ "$state" = "none" ]; check $? "REINDEX repairs it again"
[ "$(sql -c "SELECT vectordb_check('small_v')")" = "t" ]; check $? "vectordb_check passes after REINDEX"
# An all-zero page past every chain is what a crash between extending the
# index and logging the new page leaves: no damage.
sql -c "CHECKPOINT" >/dev/null
file="$PGDATA/$(sql -c "SELECT pg_relation_filepath('small_v')")"
as_owner "$pg_bin/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
zero_page $(($(stat -c %s "$file") / 8192))
as_owner "$pg_bin/pg_ctl" -D "$PGDATA" -w start -l "$VECTORDB_CLUSTER_LOG" >/dev/null
[ "$(sql -c "SELECT vectordb_check('small_v')")" = "t" ] && [ "$(query_state)" = "none" ]
check $? "an all-zero page on no chain (an extension a crash cut short) is no damage"
# A missing sidecar is a problem the checker reports (queries still work through the table).
sql -c "DO \$\$ BEGIN EXECUTE format('COPY (SELECT 1) TO PROGRAM %L',
          'rm ' || (SELECT sidecar_path FROM vectordb_index_stats('small_v'))); END \$\$" >/dev/null
verdict=$(psql -AtqX -c "SELECT vectordb_check('small_v')" 2>"$log")
[ "$verdict" = "f" ] && grep -q "sidecar" "$log"; check $? "vectordb_check reports a deleted sidecar"
sql -c "SELECT vectordb_rebuild_sidecar('small_v')" >/dev/null
[ "$(sql -c "SELECT vectordb_check('small_v')")" = "t" ]; check $? "vectordb_check passes after vectordb_rebuild_sidecar"
# A non-owner's vectordb_rebuild_sidecar is refused before it queues for the
# index's lock (where it would hold up every writer behind it).
sql -c "CREATE ROLE vtree_other" -c "GRANT SELECT ON small TO vtree_other" >/dev/null
psql -qX -c "BEGIN" -c "INSERT INTO small VALUES (99999, '[1,2,3,4]')" -c "SELECT pg_sleep(3)" -c "COMMIT" >/dev/null 2>&1 &
writer=$!
sleep 0.5
state=$(psql -AtqX -c "SET ROLE vtree_other" -c "SET statement_timeout = '1s'" -c "
  DO \$\$ BEGIN PERFORM vectordb_rebuild_sidecar('small_v'); EXCEPTION WHEN OTHERS THEN RAISE NOTICE 'state %', SQLSTATE; END \$\$" 2>&1 |
  sed -n 's/.*state \([0-9A-Z]*\).*/\1/p')
wait $writer
sql -c "DELETE FROM small WHERE id = 99999" -c "DROP OWNED BY vtree_other" -c "DROP ROLE vtree_other" >/dev/null
[ "$state" = "42501" ]; check $? "a non-owner's vectordb_rebuild_sidecar is refused at once while a writer holds the index (got $state)"

# --- a hot standby ---------------------------------------------------------------
sql -c "CREATE TABLE repl AS SELECT i AS id, (SELECT array_agg(random()::real) FROM generate_series(1, 24) WHERE i > 0)::vector(24) AS v
        FROM generate_series(1, 3000) i" -c "CREATE INDEX repl_v ON repl USING vtree (v) WITH (max_leaf_size = 200)" >/dev/null
standby=$(mktemp -d /tmp/vectordb-standby.XXXXXX)
chmod 755 "$standby"
[ "$(id -u)" -eq 0 ] && chown postgres: "$standby"
port2=$((PGPORT + 100))
while (exec 3<>"/dev/tcp/127.0.0.1/$port2") 2>/dev/null; do port2=$((port2 + 1)); done
as_owner "$pg_bin/pg_basebackup" -h 127.0.0.1 -p "$PGPORT" -U postgres -D "$standby/data" -R -X stream >/dev/null 2>&1
printf "port = %s\nunix_socket_directories = '%s'\nhot_standby = on\n" "$port2" "$standby" | as_owner tee -a "$standby/data/postgresql.conf" >/dev/null
as_owner "$pg_bin/pg_ctl" -D "$standby/data" -l "$standby/server.log" -w -t 60 start >/dev/null
check $? "a streaming standby starts from pg_basebackup"
# Rows the standby's copy of the sidecar never saw.
sql -c "INSERT INTO repl SELECT 10000 + i, (SELECT array_agg(random()::real) FROM generate_series(1, 24) WHERE i > 0)::vector(24)
        FROM generate_series(1, 500) i"
# An index created empty on the primary grows by splitting its leaves; the
# standby replays the new leaves and the tree log.
sql -c "CREATE TABLE grow (id int PRIMARY KEY, v vector(24))" -c "CREATE INDEX grow_v ON grow USING vtree (v) WITH (max_leaf_size = 50)" \
    -c "INSERT INTO grow SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 24) WHERE i > 0)::vector(24)
        FROM generate_series(1, 3000) i" >/dev/null
wait_for_replay
primary_leaves=$(sql -c "SELECT leaves FROM vectordb_index_stats('grow_v')")
standby_leaves=$(psql -AtqX -p "$port2" -c "SELECT leaves FROM vectordb_index_stats('grow_v')" 2>/dev/null)
[ "$primary_leaves" -gt 1 ] && [ "$standby_leaves" = "$primary_leaves" ]
check $? "leaves split on the primary (1 -> $primary_leaves) and the standby replays them ($standby_leaves)"
mismatches=$(psql -AtqX -p "$port2" 2>/dev/null -c "SET client_min_messages = error" -c "SET enable_seqscan = off" \
  -c "SET vtree.probes = 100000" -c "
  SELECT count(*) FROM (SELECT v FROM grow WHERE id % 97 = 0) q
  WHERE ARRAY(SELECT id FROM grow ORDER BY v <-> q.v LIMIT 10)
        IS DISTINCT FROM ARRAY(SELECT id FROM grow ORDER BY l2_distance(v, q.v), id LIMIT 10)")
[ "$mismatches" = "0" ]; check $? "the standby's grown index matches its exact scans (mismatches: $mismatches)"
compare_on_standby() {  # prints the number of queries whose index rows differ from an exact scan
  psql -AtqX -p "$port2" 2>/dev/null -c "SET client_min_messages = error" -c "SET enable_seqscan = off" \
    -c "SET vtree.probes = 100000" -c "SET vtree.rerank_factor = 1000" -c "
    SELECT count(*) FROM (SELECT v FROM repl WHERE id % 97 = 0) q
    WHERE ARRAY(SELECT id FROM repl ORDER BY v <-> q.v LIMIT 10)
          IS DISTINCT FROM ARRAY(SELECT id FROM repl ORDER BY l2_distance(v, q.v), id LIMIT 10)"
}
mismatches=$(compare_on_standby)
[ "$mismatches" = "0" ]; check $? "the standby's index scans match its exact scans after inserts (mismatches: $mismatches)"
rows=$(psql -AtqX -p "$port2" -c "SET client_min_messages = error" -c "SET enable_seqscan = off" -c "SELECT count(*) FROM (SELECT id FROM repl ORDER BY v <-> (SELECT v FROM repl WHERE id = 10007) LIMIT 1) s WHERE id = 10007")
[ "$rows" = "1" ]; check $? "a row inserted on the primary is found through the standby's index"
# until_standby_healed: polls (60 s) for an every-leaf scan on the standby
# that reranks nothing from the table (no WARNING); prints the seconds, or "never".
until_standby_healed() {
  local s out
  for s in $(seq 0 60); do
    out=$(psql -AtqX -p "$port2" -c "SET enable_seqscan = off" -c "SET vtree.probes = 100000" \
         -c "SELECT count(*) = (SELECT count(*) FROM repl) FROM (SELECT id FROM repl ORDER BY v <-> (SELECT v FROM repl WHERE id = 3)) s" 2>&1)
    [ "$out" = t ] && { echo "$s"; return; }  # the answer alone: no WARNING, no error
    sleep 1
  done
  echo never
}
took=$(until_standby_healed)
[ "$took" != never ]; check $? "the standby heals its sidecar for the rows inserted since its base backup (in ${took} s)"
mismatches=$(compare_on_standby)
[ "$mismatches" = "0" ]; check $? "the healed standby's index scans match its exact scans (mismatches: $mismatches)"
sql -c "REINDEX INDEX repl_v" >/dev/null
wait_for_replay
mismatches=$(compare_on_standby)
[ "$mismatches" = "0" ]; check $? "after a REINDEX on the primary (no sidecar on the standby) results still match (mismatches: $mismatches)"
took=$(until_standby_healed)
[ "$took" != never ]; check $? "the standby writes the new sidecar from its own table after the REINDEX (in ${took} s)"
standby_file=$(psql -AtqX -p "$port2" -c "SELECT sidecar_path FROM vectordb_index_stats('repl_v')")
primary_file=$(sql -c "SELECT sidecar_path FROM vectordb_index_stats('repl_v')")
[ "$standby_file" != "$primary_file" ] && [ -s "$standby_file" ] && cmp -s "$standby_file" "$primary_file"
check $? "the standby's healed sidecar is byte for byte its primary's"
mismatches=$(compare_on_standby)
[ "$mismatches" = "0" ]; check $? "and its index scans match its exact scans (mismatches: $mismatches)"
as_owner "$pg_bin/pg_ctl" -D "$standby/data" -m immediate -w stop >/dev/null 2>&1
rm -rf "$standby" "$log"

psql -qX -d postgres -c "DROP DATABASE $db" >/dev/null
finish_tap
