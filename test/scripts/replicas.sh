#!/usr/bin/env bash
# Read replicas behind pgpool-II (scripts/replicas.sh: a primary, two
# streaming hot standbys and pgpool in streaming-replication mode), checked
# against the primary: every answer through pgpool must be exactly the
# primary's at the same settings.
#   - reads are spread over the standbys (pgpool's select_cnt) and none go to
#     the primary; settings made with SET through pgpool reach the standbys;
#   - after inserts and after a REINDEX, answers equal the primary's once
#     pgpool's replication check has run, and new rows are found;
#   - a standby whose replay is paused is seen lagging and gets no reads
#     while the answers stay the primary's;
#   - a standby stopped under load: the others go on answering, errors stay
#     within what pgpool documents (sessions that used the stopped node), and
#     the node is attached again when it streams again;
#   - 8 clients through pgpool and on the primary alone: printed, not
#     asserted (a measurement; every node shares this machine's two cores).
# REPLICAS_ROWS (default 20000), REPLICAS_DIMS (64). Prints TAP.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
rows=${REPLICAS_ROWS:-20000}
dims=${REPLICAS_DIMS:-64}
load=build/cmake/vectordb_load  # run through knn_load (test/lib/tap.sh)

if ! command -v pgpool >/dev/null; then
  echo "1..0 # SKIP pgpool-II is not installed"
  exit 0
fi
work=$(mktemp -d /tmp/vectordb-replicas-test.XXXXXX)
export REPLICAS_STATE=$work/replicas.env
cleanup() { bash scripts/replicas.sh stop >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT

VECTORDB_REPLICAS_PORT=31200 bash scripts/replicas.sh start >"$work/start.log" 2>&1
check $? "a primary, two streaming standbys and pgpool-II start ($(tail -n 1 "$work/start.log"))"
. "$REPLICAS_STATE" || { finish_tap; }
read -r s1_port s2_port <<<"$REPLICAS_STANDBY_PORTS"
POOL() { psql_on "$REPLICAS_PGPOOL_PORT" "$@"; }
PRIMARY() { psql_on "$REPLICAS_PRIMARY_PORT" "$@"; }
# SHOW POOL_NODES' field $2 (4 status, 9 select_cnt, 11 replication_delay) for node $1.
node_field() { POOL -c "SHOW POOL_NODES" | awk -F'|' -v n="$1" -v f="$2" '$1 == n { print $f }'; }
reads() { echo "$(node_field 0 9) $(node_field 1 9) $(node_field 2 9)"; }
# pgpool routes by what its last replication check saw; one check runs every
# second (sr_check_period), so two seconds after a commit every standby that
# gets reads has replayed it.
after_replication_check() { sleep 2.2; }

[ "$(POOL -c "SHOW POOL_NODES" | awk -F'|' '$4 == "up" && ($12 == "streaming" || $7 == "primary")' | wc -l)" = 3 ]
check $? "pgpool shows the primary and both standbys up and streaming"

# Everything, DDL included, goes through pgpool: writes reach the primary, WAL the standbys.
POOL -c "CREATE EXTENSION vectordb" \
  -c "CREATE TABLE t (id int PRIMARY KEY, v vector($dims))" \
  -c "SELECT setseed(0.14)" \
  -c "INSERT INTO t SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, $dims) WHERE i > 0)::vector FROM generate_series(1, $rows) i" \
  -c "CREATE TABLE queries AS SELECT g AS qid, (SELECT array_agg(random()::real) FROM generate_series(1, $dims) WHERE g > 0)::vector($dims) AS v FROM generate_series(1, 40) g" \
  -c "CREATE INDEX t_v ON t USING vtree (v)" >/dev/null
check $? "a table of $rows x $dims with a vtree index is created through pgpool"
after_replication_check

# One statement per query, so that pgpool balances each on its own.
answers_sql() {  # [SET ...]
  [ -n "${1:-}" ] && echo "$1;"
  for q in $(seq 40); do
    echo "SELECT $q, array(SELECT id FROM t ORDER BY v <-> (SELECT v FROM queries WHERE qid = $q) LIMIT 10);"
  done
}
# Queries whose answer through pgpool differs from the primary's (same settings).
mismatches() {  # [SET ...]
  answers_sql "${1:-}" >"$work/answers.sql"
  POOL -f "$work/answers.sql" >"$work/pool.out" 2>&1
  PRIMARY -f "$work/answers.sql" >"$work/primary.out" 2>&1
  if [ ! -s "$work/primary.out" ] || [ "$(wc -l <"$work/primary.out")" -ne 40 ]; then echo "no answers"; return; fi
  diff "$work/pool.out" "$work/primary.out" | grep -c '^>'
}

before=$(reads)
m=$(mismatches)
after=$(reads)
read -r b0 b1 b2 <<<"$before"; read -r a0 a1 a2 <<<"$after"
[ "$m" = 0 ]; check $? "40 queries through pgpool return exactly the primary's rows (mismatches: $m)"
[ $((a1 - b1)) -ge 8 ] && [ $((a2 - b2)) -ge 8 ] && [ $((a0 - b0)) -eq 0 ]
check $? "pgpool spread them over the standbys (select_cnt primary +$((a0 - b0)), standby1 +$((a1 - b1)), standby2 +$((a2 - b2)))"
m=$(mismatches "SET vtree.probes = 2")
[ "$m" = 0 ]; check $? "with SET vtree.probes = 2 through pgpool, too (mismatches: $m)"
m=$(mismatches "SET vtree.probes = 100000")
[ "$m" = 0 ]; check $? "and with every leaf probed (mismatches: $m)"

# Inserts: rows that copy the queries (nudged), so each query's nearest row is a new one.
POOL -c "INSERT INTO t SELECT $rows + qid, (SELECT array_agg(x + 0.0001) FROM unnest(v::real[]) x)::vector FROM queries" \
  -c "INSERT INTO t SELECT $rows + 100 + i, (SELECT array_agg(random()::real) FROM generate_series(1, $dims) WHERE i > 0)::vector FROM generate_series(1, 2000) i" >/dev/null
after_replication_check
m=$(mismatches)
[ "$m" = 0 ]; check $? "after 2,040 inserts through pgpool, answers equal the primary's (mismatches: $m)"
found=$(awk -F'|' -v r="$rows" '{ split(substr($2, 2), ids, ","); if (ids[1] == r + $1) n++ } END { print n + 0 }' "$work/pool.out")
[ "$found" = 40 ]; check $? "and each query's new nearest row is found through pgpool ($found of 40)"

# Replica lag, as pgpool handles it: standby1 stops replaying, the primary writes on.
psql_on "$s1_port" -c "SELECT pg_wal_replay_pause()" >/dev/null
POOL -c "INSERT INTO t SELECT $rows + 3000 + qid, (SELECT array_agg(x - 0.0002) FROM unnest(v::real[]) x)::vector FROM queries" >/dev/null
lagging=1
for _ in $(seq 100); do
  delay=$(node_field 1 11)
  [ "${delay:-0}" != 0 ] && { lagging=0; break; }
  sleep 0.1
done
check $lagging "pgpool sees standby1 lagging while its replay is paused (replication_delay ${delay:-?})"
before=$(reads)
m=$(mismatches)
after=$(reads)
read -r b0 b1 b2 <<<"$before"; read -r a0 a1 a2 <<<"$after"
[ "$m" = 0 ]; check $? "answers through pgpool still equal the primary's, new rows included (mismatches: $m)"
[ $((a1 - b1)) -eq 0 ] && [ $((a2 - b2)) -ge 20 ]
check $? "and the lagging standby got none of the reads (standby1 +$((a1 - b1)), standby2 +$((a2 - b2)), primary +$((a0 - b0)))"
psql_on "$s1_port" -c "SELECT pg_wal_replay_resume()" >/dev/null
caught=1
for _ in $(seq 100); do [ "$(node_field 1 11)" = 0 ] && { caught=0; break; }; sleep 0.1; done
after_replication_check
before=$(reads); m=$(mismatches); after=$(reads)
read -r b0 b1 b2 <<<"$before"; read -r a0 a1 a2 <<<"$after"
[ "$caught" = 0 ] && [ "$m" = 0 ] && [ $((a1 - b1)) -ge 8 ]
check $? "replay resumed: standby1 catches up and takes reads again (standby1 +$((a1 - b1)); mismatches: $m)"

POOL -c "REINDEX INDEX t_v" >/dev/null
after_replication_check
m=$(mismatches)
[ "$m" = 0 ]; check $? "after a REINDEX through pgpool, answers equal the primary's (mismatches: $m)"

# A standby stopped under load: 4 clients through pgpool for 10 s, standby2 stopped at 3 s.
if [ -x "$load" ]; then
  knn_load "$REPLICAS_PGPOOL_PORT" --sql "SELECT id FROM t ORDER BY v <-> \$1 LIMIT 10" \
    --clients 4 --seconds 10 --warmup 0 --reconnect --timeline --label failover >"$work/failover.out" 2>"$work/failover.err" &
  load_pid=$!
  sleep 3
  stop_server "$REPLICAS_DIR/standby2"
  stopped_at=3
  detached=1
  for _ in $(seq 100); do [ "$(node_field 2 4)" = down ] && { detached=0; break; }; sleep 0.1; done
  wait "$load_pid"
  check $? "the load through pgpool ran to the end while standby2 stopped"
  check $detached "pgpool detached the stopped standby"
  summary=$(grep '^load ' "$work/failover.out")
  errors=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$summary")
  # Every second has answers; errors only in the seconds the stop and the detach took.
  empty_seconds=$(awk '/^timeline/ { split($4, a, "="); if (a[2] == 0) n++ } END { print n + 0 }' "$work/failover.out")
  late_errors=$(awk -v s="$stopped_at" '/^timeline/ { split($3, t, "="); split($5, e, "="); if (t[2] > s + 3) n += e[2] } END { print n + 0 }' "$work/failover.out")
  echo "# failover timeline (second answered errors): $(awk '/^timeline/ { split($3, t, "="); split($4, a, "="); split($5, e, "="); printf "%s %s %s; ", t[2], a[2], e[2] }' "$work/failover.out")"
  [ "$empty_seconds" = 0 ]; check $? "queries went on through the others in every second ($summary)"
  [ "${errors:-99}" -le 8 ] && [ "$late_errors" = 0 ]
  check $? "errors only from sessions that used the stopped standby, around the stop ($errors in all, $late_errors later than 3 s after; $(head -c 160 "$work/failover.err" | tr '\n' ' '))"
  start_server "$REPLICAS_DIR/standby2"
  attached=1
  for _ in $(seq 300); do [ "$(node_field 2 4)" = up ] && { attached=0; break; }; sleep 0.1; done
  check $attached "standby2, started again, is attached again by pgpool (auto_failback)"
  after_replication_check
  before=$(reads); m=$(mismatches); after=$(reads)
  read -r b0 b1 b2 <<<"$before"; read -r a0 a1 a2 <<<"$after"
  [ "$m" = 0 ] && [ $((a2 - b2)) -ge 8 ]
  check $? "it takes reads again, and answers equal the primary's (standby2 +$((a2 - b2)); mismatches: $m)"

  # Throughput, 8 clients: a figure, not a test (pgpool, three servers and the clients share two cores).
  for target in "pgpool:$REPLICAS_PGPOOL_PORT" "primary:$REPLICAS_PRIMARY_PORT"; do
    knn_load "${target#*:}" --sql "SELECT id FROM t ORDER BY v <-> \$1 LIMIT 10" --clients 8 --seconds 3 --warmup 1 --label "${target%%:*}" >>"$work/throughput.out" 2>&1
  done
  grep '^load' "$work/throughput.out" | sed 's/^/# /'
  [ "$(grep -c '^load .* errors=0 ' "$work/throughput.out")" = 2 ]
  check $? "8 clients ran through pgpool and on the primary alone without errors"
else
  check 1 "vectordb_load is built (build/cmake/vectordb_load)"
fi
finish_tap
