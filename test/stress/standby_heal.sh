#!/usr/bin/env bash
# A hot standby heals its sidecar, measured: a primary and a streaming
# standby of its own (pg_basebackup) on loopback, each in a memory cgroup
# smaller than the table's vectors (cgroup v1 memory controller, nested under
# the cgroup this script starts in; skipped, and said so, where there is
# none). Then, twice (after STANDBY_INSERTS rows inserted on the primary since
# the base backup, and after a REINDEX on the primary):
#   - the standby's index scans equal its exact scans, before, during and
#     after healing (every leaf probed);
#   - the time until the standby's healer (started by its scans) has left
#     nothing to rerank from the table;
#   - queries per second on the standby and on the primary at the defaults
#     (pgbench, 1 client, prepared), and their ratio: printed, not asserted
#     (a measurement; both servers share the machine).
# Prints TAP and a summary line.
#
#   STANDBY_ROWS (default 100000), STANDBY_DIMS (768), STANDBY_INSERTS (10000),
#   STANDBY_SECONDS per pgbench run (15), STANDBY_MEMORY_MB (cgroup limit;
#   default: 90% of the table's vectors, or none when STANDBY_MEMORY_MB=0)
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
rows=${STANDBY_ROWS:-100000}
dims=${STANDBY_DIMS:-768}
inserts=${STANDBY_INSERTS:-10000}
seconds=${STANDBY_SECONDS:-15}
vector_mb=$((rows * dims * 4 / 1048576))
limit_mb=${STANDBY_MEMORY_MB:-$((vector_mb * 9 / 10))}

work=$(mktemp -d /tmp/vectordb-standby-heal.XXXXXX)
chown postgres "$work" 2>/dev/null
p1=$(free_port 31050)  # below the ephemeral port range (scripts/lib/servers.sh)
p2=$(free_port $((p1 + 1)))

# The memory cgroups the servers run in, one each (v1: directories under the
# controller's mount), so that neither evicts the other's pages.
cgroups=""
if [ "$limit_mb" -gt 0 ] && [ -w /sys/fs/cgroup/memory/cgroup.procs ] 2>/dev/null; then
  parent=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
  cgroups="/sys/fs/cgroup/memory${parent%/}/vectordb_standby_$$"
  for server in primary standby; do
    mkdir -p "$cgroups/$server" && echo $((limit_mb * 1048576)) >"$cgroups/$server/memory.limit_in_bytes" || cgroups=""
  done
fi
memory_note=$([ -n "$cgroups" ] && echo "each server in a ${limit_mb} MB memory cgroup, vectors ${vector_mb} MB" ||
              echo "no memory cgroup (vectors ${vector_mb} MB)")
echo "# $memory_note"
# pg_ctl start, inside the server's cgroup when there is one.
start_server() {  # data port
  ( [ -n "$cgroups" ] && echo "$BASHPID" >"$cgroups/$(basename "$1")/cgroup.procs"
    as_owner "$pg_bin/pg_ctl" -D "$1" -o "-p $2 -k $work -c listen_addresses=127.0.0.1" \
      -l "$1.log" -w -t 300 start ) >/dev/null
}
cleanup() {
  for d in "$work/standby" "$work/primary"; do
    [ -f "$d/postmaster.pid" ] && as_owner "$pg_bin/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1
  done
  [ -n "$cgroups" ] && rmdir "$cgroups/primary" "$cgroups/standby" "$cgroups" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

as_owner "$pg_bin/initdb" -D "$work/primary" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null 2>&1
cat >>"$work/primary/postgresql.conf" <<EOF
shared_buffers = 32MB
wal_level = replica
max_wal_senders = 4
hot_standby = on
max_standby_streaming_delay = -1
autovacuum = off
EOF
start_server "$work/primary" "$p1"
check $? "the primary starts ($memory_note)"
P() { psql -AtqX -h 127.0.0.1 -p "$p1" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }
S() { psql -AtqX -h 127.0.0.1 -p "$p2" -U postgres -d postgres "$@"; }
P -c "CREATE EXTENSION vectordb" \
  -c "CREATE TABLE t (id int PRIMARY KEY, v vector($dims))" \
  -c "SELECT setseed(0.42)" \
  -c "INSERT INTO t SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, $dims) WHERE i > 0)::vector FROM generate_series(1, $rows) i" \
  -c "CREATE TABLE queries AS SELECT g AS qid, (SELECT array_agg(random()::real) FROM generate_series(1, $dims) WHERE g > 0)::vector($dims) AS v FROM generate_series(1, 200) g" \
  -c "CREATE INDEX t_v ON t USING vtree (v)" -c "CHECKPOINT" >/dev/null
check $? "the primary holds $rows rows of $dims dimensions with a vtree index"
as_owner "$pg_bin/pg_basebackup" -h 127.0.0.1 -p "$p1" -U postgres -D "$work/standby" -R -X stream >/dev/null 2>&1
start_server "$work/standby" "$p2"
check $? "a streaming standby starts from pg_basebackup"

# Queries (of the 200) whose rows differ from an exact scan on the standby, every leaf probed.
standby_mismatches() {
  S -c "SET client_min_messages = error" -c "SET enable_seqscan = off" -c "SET vtree.probes = 100000" -c "
    SELECT count(*) FROM (SELECT v FROM queries WHERE qid % 20 = 0) q
    WHERE ARRAY(SELECT id FROM t ORDER BY v <-> q.v LIMIT 10)
          IS DISTINCT FROM ARRAY(SELECT id FROM t ORDER BY l2_distance(v, q.v), id LIMIT 10)"
}
# Seconds until the standby's healers are done and a scan over every row
# reranks nothing from the table ("never" after 1,800 s). Waits on the
# healers in pg_stat_activity, so that polling does not add full scans.
until_healed() {
  local start out
  start=$(date +%s)
  while [ $(($(date +%s) - start)) -lt 1800 ]; do
    if [ "$(S -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'vectordb sidecar healer'")" = 0 ]; then
      out=$(S -c "SET enable_seqscan = off" -c "SET vtree.probes = 100000" \
              -c "SELECT count(*) = (SELECT count(*) FROM t) FROM (SELECT id FROM t ORDER BY v <-> (SELECT v FROM queries WHERE qid = 1)) s" 2>&1)
      [ "$out" = t ] && { echo $(($(date +%s) - start)); return; }
    fi
    sleep 1
  done
  echo never
}
cat >"$work/query.sql" <<'EOF'
\set qid random(1, 200)
SELECT id FROM t ORDER BY v <-> (SELECT v FROM queries WHERE qid = :qid) LIMIT 10;
EOF
chown postgres "$work/query.sql"
qps() {  # port: a 5 s warm-up, then the measured run
  "$pg_bin/pgbench" -n -M prepared -c 1 -T 5 -f "$work/query.sql" -h 127.0.0.1 -p "$1" -U postgres postgres >/dev/null 2>&1
  "$pg_bin/pgbench" -n -M prepared -c 1 -T "$seconds" -f "$work/query.sql" -h 127.0.0.1 -p "$1" -U postgres postgres 2>>"$work/pgbench.err" |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p' | cut -d. -f1
}

summary=""
log_mark=1
phase() {  # label
  local before during took standby primary ratio after
  before=$(standby_mismatches)
  [ "$before" = 0 ]; check $? "$1: before healing, the standby's scans equal its exact scans (mismatches: $before)"
  # Those scans met records the standby's sidecar lacks and started its healer.
  during=$(standby_mismatches)
  [ "$during" = 0 ]; check $? "$1: while it heals, too (mismatches: $during)"
  # What healing costs the primary: the healer reads only the standby's own
  # table, so nothing of it should reach the primary. Its counters while the
  # standby heals (no client of ours runs on it meanwhile; autovacuum is off):
  # WAL written, transactions, blocks read, and the standby's connections to it.
  local counters='SELECT pg_current_wal_lsn(), sum(xact_commit + xact_rollback), sum(blks_read + blks_hit) FROM pg_stat_database'
  local primary_before primary_after
  sleep 1  # so that the sessions before this one have exited and flushed their counters
  primary_before=$(P -F ' ' -c "$counters")
  took=$(until_healed)
  [ "$took" != never ]; check $? "$1: the standby's healer finishes"
  primary_after=$(P -F ' ' -c "$counters")
  local standby_connections
  standby_connections=$(P -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type NOT IN ('walsender', 'checkpointer', 'background writer', 'walwriter', 'archiver', 'logical replication launcher', 'autovacuum launcher') AND pid <> pg_backend_pid()")
  # The first counters session's own: two transactions (its start-up and its
  # query) and its catalog reads.
  local wal_bytes xacts blocks
  read -r wal_bytes xacts blocks < <(P -F ' ' -c "SELECT pg_wal_lsn_diff('${primary_after%% *}', '${primary_before%% *}'),
      $(echo "$primary_after" | cut -d' ' -f2) - $(echo "$primary_before" | cut -d' ' -f2) - 2,
      $(echo "$primary_after" | cut -d' ' -f3) - $(echo "$primary_before" | cut -d' ' -f3)")
  echo "# $1: on the primary while the standby healed: ${wal_bytes} WAL bytes, ${xacts} transactions, ${blocks} blocks accessed (the counters session's own), ${standby_connections} connections besides the walsender"
  [ "$xacts" -le 0 ] && [ "$standby_connections" = 0 ]
  check $? "$1: healing the standby runs nothing on the primary (transactions: $xacts, connections: $standby_connections)"
  # How long the healers worked, from their own log lines since this phase began.
  took=$(sed -n "$log_mark,\$p" "$work/standby.log" | sed -n 's/.*records rewritten in \([0-9.]*\) s.*/\1/p' |
         awk '{ t += $1 } END { printf "%.1f", t }')
  log_mark=$(($(wc -l <"$work/standby.log") + 1))
  after=$(standby_mismatches)
  [ "$after" = 0 ]; check $? "$1: after healing, the standby's scans equal its exact scans (mismatches: $after)"
  standby=$(qps "$p2")
  primary=$(qps "$p1")
  ratio=$(awk -v s="${standby:-0}" -v p="${primary:-0}" 'BEGIN { printf "%.2f", (p > 0) ? s / p : 0 }')
  # A figure, not a pass/fail: the two servers share this machine's cores.
  echo "# $1: healed in ${took} s; QPS standby ${standby:-?}, primary ${primary:-?} (ratio $ratio)"
  [ -n "$standby" ] && [ -n "$primary" ]; check $? "$1: pgbench ran on both servers$( [ -s "$work/pgbench.err" ] && echo " ($(tail -c 300 "$work/pgbench.err" | tr '\n' ' '))")"
  : >"$work/pgbench.err"
  summary="$summary; $1: heal ${took} s (primary meanwhile: ${xacts} transactions, ${wal_bytes} WAL bytes), standby/primary QPS ${standby:-?}/${primary:-?} = $ratio"
}

P -c "INSERT INTO t SELECT $rows + i, (SELECT array_agg(random()::real) FROM generate_series(1, $dims) WHERE i > 0)::vector FROM generate_series(1, $inserts) i" >/dev/null
replay_caught_up "$p1" "$p2" 300
phase "after $inserts inserts on the primary"
P -c "REINDEX INDEX t_v" >/dev/null
replay_caught_up "$p1" "$p2" 300
phase "after a REINDEX on the primary"

echo "# standby summary: $rows x $dims, $memory_note$summary; $failures failures"
finish_tap
