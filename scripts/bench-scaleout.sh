#!/usr/bin/env bash
# `make bench-scaleout` (and the end of `make bench`): the two scale-out
# recipes measured on one machine, written to bench/results/scaleout.md.
#
#   Read replicas (scripts/replicas.sh): QPS, p50/p99 and recall@10 of 1 and
#   8 clients through pgpool-II (reads on two standbys) against the same
#   clients on the primary alone.
#   Sharding (scripts/shards.sh): the same for one server holding every row,
#   the sharded table's parent (Merge Append over postgres_fdw) and
#   vectordb_sharded_knn(), with the rows each shard sent per query and each
#   shard's index memory (vectordb_index_stats) and sidecar size.
#
# Every node runs on this machine, so these figures are the recipes' overhead,
# not their gain: a replica or a shard adds no core here (README, "Scaling out").
#
# Data: SCALEOUT_ROWS (default 300000) rows of synth at SCALEOUT_DIM (128)
# dimensions, 1,000 queries; or the first SCALEOUT_ROWS of SCALEOUT_BASE
# (.fvecs) with the queries of SCALEOUT_QUERY (.fvecs), e.g. a SIFT set.
# SCALEOUT_SECONDS per measurement (default 15).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
. scripts/lib/servers.sh
rows=${SCALEOUT_ROWS:-300000}
dim=${SCALEOUT_DIM:-128}
seconds=${SCALEOUT_SECONDS:-15}
logdir=build/bench-logs
data=build/scaleout-data
out=bench/results/scaleout.md
mkdir -p "$logdir" "$data" bench/results

echo "== setting up packages, building and installing"
bash scripts/setup-deps.sh >/dev/null
{ cmake -S . -B build/cmake -DCMAKE_BUILD_TYPE=Release &&
  cmake --build build/cmake -j"$(nproc)" --target vectordb_pg_bench vectordb_load &&
  make -j"$(nproc)" && make install; } >"$logdir/scaleout-build.log" 2>&1 ||
  { tail -n 40 "$logdir/scaleout-build.log"; exit 1; }

if [ -n "${SCALEOUT_BASE:-}" ]; then
  source_args=(--base "$SCALEOUT_BASE" --query "${SCALEOUT_QUERY:?SCALEOUT_QUERY names the query .fvecs}" --rows "$rows")
  name="$(basename "$(dirname "$SCALEOUT_BASE")"), first $rows rows"
else
  source_args=(--rows "$rows" --dim "$dim" --queries 1000)
  name="synth-$dim, $rows rows"
fi
machine="$(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)"
export REPLICAS_STATE=$root/build/scaleout-replicas.env SHARDS_STATE=$root/build/scaleout-shards.env
trap 'bash scripts/replicas.sh stop >/dev/null 2>&1; bash scripts/shards.sh stop >/dev/null 2>&1' EXIT

# Loads table $2 at port $1 (id, embedding) and writes the queries and their exact
# top 10 over those rows into $data.
load() {  # port table
  PGHOST=127.0.0.1 PGPORT=$1 PGUSER=postgres PGDATABASE=postgres \
    build/cmake/vectordb_pg_bench "${source_args[@]}" --table "$2" --load-only --save "$data" >>"$logdir/scaleout-load.log" 2>&1 ||
    { tail -n 20 "$logdir/scaleout-load.log"; exit 1; }
}
# CPU time, in clock ticks, a server has used: its main process, the children
# it has reaped (backends that ended) and the ones that live.
server_ticks() {  # main pid
  local total=0 pid
  total=$(sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 + $14 + $15 }')
  for pid in $(pgrep -P "$1"); do
    total=$((total + $(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo 0)))
  done
  echo "$total"
}
# The servers measured, as "name:pid" words (set before each group of measurements).
servers=""
# One measurement: label port clients sql -> a Markdown row (with each
# server's CPU milliseconds per query) and the raw line.
measure() {  # label port clients sql
  local line before="" after="" node cpu=""
  for node in $servers; do before="$before $(server_ticks "${node#*:}")"; done
  line=$(build/cmake/vectordb_load --conninfo "host=127.0.0.1 port=$2 user=postgres dbname=postgres" \
           --queries "$data/query.fvecs" --truth "$data/groundtruth.ivecs" --sql "$4" \
           --clients "$3" --seconds "$seconds" --warmup 3 --label "$1" 2>>"$logdir/scaleout-load.log")
  sleep 1  # until the servers have reaped the backends that served the run
  for node in $servers; do after="$after $(server_ticks "${node#*:}")"; done
  cpu=$(awk -v names="$servers" -v b="$before" -v a="$after" -v tick="$(getconf CLK_TCK)" -v line="$line" 'BEGIN {
      n = split(names, name, " "); split(b, before, " "); split(a, after, " ")
      match(line, /answered_with_warmup=[0-9]+/); answered = substr(line, RSTART + 21, RLENGTH - 21)
      for (i = 1; i <= n; i++) {
        split(name[i], part, ":")
        ms = (after[i] - before[i]) * 1000 / tick / (answered > 0 ? answered : 1)
        if (ms >= 0.005) out = out (out == "" ? "" : ", ") sprintf("%s %.2f", part[1], ms)
      }
      print out }')
  echo "$line cpu_ms_per_query=[$cpu]" >>"$logdir/scaleout-raw.log"
  echo "# $line" >&2
  awk -v label="$1" -v clients="$3" -v cpu="$cpu" '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
    END { printf "| %s | %d | %.4f | %\047d | %.2f | %.2f | %d | %s |\n", label, clients, f["recall"], f["qps"], f["p50_ms"], f["p99_ms"], f["errors"], cpu }' <<<"$line"
}
header='| set-up | clients | recall@10 | QPS | p50 ms | p99 ms | errors | CPU ms per query, by server |
|---|---:|---:|---:|---:|---:|---:|---|'
knn='SELECT id FROM items ORDER BY embedding <-> $1 LIMIT 10'
: >"$logdir/scaleout-raw.log"

echo "== read replicas: primary, two standbys, pgpool-II ($name)"
bash scripts/replicas.sh start
. "$REPLICAS_STATE"
load "$REPLICAS_PRIMARY_PORT" items
psql_on "$REPLICAS_PRIMARY_PORT" -c "SET maintenance_work_mem = '1GB'" \
  -c "CREATE INDEX items_embedding ON items USING vtree (embedding)" -c CHECKPOINT
for port in $REPLICAS_STANDBY_PORTS; do
  replay_caught_up "$REPLICAS_PRIMARY_PORT" "$port" 1800 || { echo "a standby did not catch up" >&2; exit 1; }
  # One scan over every leaf starts the standby's sidecar healer; wait for it to finish.
  psql_on "$port" -c "SET vtree.probes = 100000" \
    -c "SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items LIMIT 1)) s" >/dev/null
  while [ "$(psql_on "$port" -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'vectordb sidecar healer'")" != 0 ]; do sleep 1; done
done
servers="primary:$(head -n 1 "$REPLICAS_DIR/primary/postmaster.pid") pgpool:$(cat "$REPLICAS_DIR/pgpool.pid")"
i=0
for port in $REPLICAS_STANDBY_PORTS; do
  i=$((i + 1)); servers="$servers standby$i:$(head -n 1 "$REPLICAS_DIR/standby$i/postmaster.pid")"
done
replicas_table=$(
  echo "$header"
  for clients in 1 8; do
    measure "primary alone" "$REPLICAS_PRIMARY_PORT" "$clients" "$knn"
    measure "pgpool-II, reads on 2 standbys" "$REPLICAS_PGPOOL_PORT" "$clients" "$knn"
  done)
spread=$(psql_on "$REPLICAS_PGPOOL_PORT" -c "SHOW POOL_NODES" |
         awk -F'|' '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $7, $9 }')
bash scripts/replicas.sh stop

echo "== sharding: coordinator and three shards, postgres_fdw ($name)"
bash scripts/shards.sh start
. "$SHARDS_STATE"
C() { psql_on "$SHARDS_COORDINATOR_PORT" "$@"; }
load "$SHARDS_COORDINATOR_PORT" whole
dims=$(C -c "SELECT vector_dims(embedding) FROM whole LIMIT 1")
C -c "DROP TABLE IF EXISTS items" >/dev/null
bash scripts/shards.sh table items "$dims" >/dev/null
started=$(date +%s.%N)
C -c "INSERT INTO items SELECT * FROM whole" >/dev/null
insert_s=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
C -c "SET maintenance_work_mem = '1GB'" -c "CREATE INDEX whole_embedding ON whole USING vtree (embedding)" >/dev/null
shard_lines=""
for port in $SHARDS_PORTS; do
  # The shards' indexes grew with the inserts; built afresh over their rows, as a bulk load would do.
  psql_on "$port" -c "SET maintenance_work_mem = '1GB'" -c "REINDEX INDEX items_v" >/dev/null
  shard_lines="$shard_lines $(psql_on "$port" -F ', ' -c "
    SELECT (SELECT count(*) FROM items) || ' rows', leaves || ' leaves',
           round(memory_usage_bytes / 1048576.0, 1) || ' MB the index needs resident',
           round(relation_bytes / 1048576.0, 1) || ' MB of index pages', round(sidecar_bytes / 1048576.0, 1) || ' MB sidecar'
    FROM vectordb_index_stats('items_v')");"
done
for port in $SHARDS_PORTS; do psql_on "$port" -c "SELECT pg_stat_statements_reset()" >/dev/null; done
servers="coordinator:$(head -n 1 "$SHARDS_DIR/coordinator/postmaster.pid")"
for i in $(seq "$(wc -w <<<"$SHARDS_PORTS")"); do servers="$servers shard$i:$(head -n 1 "$SHARDS_DIR/shard$i/postmaster.pid")"; done
shards_table=$(
  echo "$header"
  for clients in 1 8; do
    measure "one server, all rows" "$SHARDS_COORDINATOR_PORT" "$clients" 'SELECT id FROM whole ORDER BY embedding <-> $1 LIMIT 10'
    measure "3 shards: parent table" "$SHARDS_COORDINATOR_PORT" "$clients" "$knn"
    measure "3 shards: vectordb_sharded_knn()" "$SHARDS_COORDINATOR_PORT" "$clients" "SELECT id FROM vectordb_sharded_knn('items', \$1::vector, 10)"
  done
  # A shard holds a third of the rows, so its 8 probes cover three times the
  # share of its tree that one server's do: fewer probes per shard (set through
  # the foreign servers' options) buy back the work at about the same recall.
  for i in $(seq "$(wc -w <<<"$SHARDS_PORTS")"); do
    C -c "ALTER SERVER shard$i OPTIONS (ADD options '-c vtree.probes=3')" >/dev/null
  done
  for clients in 1 8; do
    measure "3 shards: parent table, vtree.probes 3 per shard" "$SHARDS_COORDINATOR_PORT" "$clients" "$knn"
  done)
per_fetch=$(for port in $SHARDS_PORTS; do
  psql_on "$port" -c "
    SELECT round(sum(rows) FILTER (WHERE query LIKE 'FETCH %')::numeric / nullif(sum(calls) FILTER (WHERE query LIKE 'DECLARE %'), 0), 1)
    FROM pg_stat_statements"; done | paste -sd' ')
bash scripts/shards.sh stop

{
  echo "# Scale-out recipes, measured ($name)"
  echo
  echo "Machine: $machine; every server, pgpool and the clients on it. $(date -u +%Y-%m-%d). Each row: vectordb_load,"
  echo "$seconds s after a 3 s warm-up, prepared statement, query vector in binary, vtree at its defaults."
  echo
  echo "## Read replicas behind pgpool-II"
  echo
  echo "$replicas_table"
  echo
  echo "select_cnt per node at the end: $spread."
  echo
  echo "## Sharding with postgres_fdw"
  echo
  echo "$shards_table"
  echo
  echo "Loading through the parent (INSERT ... SELECT, batch_size 1000): $insert_s s. Rows each shard sent per query"
  echo "(pg_stat_statements, both sharded forms): $per_fetch. Per shard:$shard_lines"
} | tee "$out"
echo "== written to $out (raw lines in $logdir/scaleout-raw.log)"
