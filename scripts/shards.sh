#!/usr/bin/env bash
# Sharding on loopback with postgres_fdw: a coordinator and SHARDS_COUNT
# (default 3) shard servers, every one with vectordb. On the coordinator,
# one foreign server per shard (postgres_fdw) naming vectordb in its
# `extensions` option, so that the distance operators are shipped to the
# shards, and `fetch_size` SHARDS_FETCH_SIZE (default 10: a top-10 query
# moves about 10 rows per shard), async_capable and parallel_commit (the
# shards of one query work at once where the plan allows it) and batch_size
# 1000 (inserts through the coordinator travel 1,000 rows at a time).
#
#   scripts/shards.sh start              # stop a set an earlier run left, start a new one
#   scripts/shards.sh table NAME DIMS    # a table sharded over every shard (below)
#   scripts/shards.sh stop               # stop every server, remove the directories
#   scripts/shards.sh env                # print the set's export lines
#
# `table NAME DIMS` creates on each shard NAME (id bigint PRIMARY KEY,
# embedding vector(DIMS)) with a vtree index on embedding, and on the coordinator NAME
# partitioned by hash of id, each partition (NAME_shard1, ...) a foreign table
# on one shard. Then on the coordinator
#   INSERT INTO NAME ...                       lands each row on its shard;
#   SELECT id FROM NAME ORDER BY embedding <-> $1 LIMIT 10
# runs as a Merge Append of one index scan per shard, merged in distance order.
# vtree settings for the shards' scans go in each foreign server's `options`
# (libpq's, e.g. '-c vtree.probes=16'), or through vectordb_sharded_knn()
# (README, "Sharding with postgres_fdw").
# The set's state is in build/shards.env (SHARDS_STATE to put it elsewhere).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib/servers.sh"
state_file=${SHARDS_STATE:-$here/build/shards.env}

stop_set() {
  [ -f "$state_file" ] || return 0
  # shellcheck disable=SC1090
  . "$state_file"
  for data in "$SHARDS_DIR"/shard* "$SHARDS_DIR/coordinator"; do
    [ -d "$data" ] && stop_server "$data" immediate
  done
  rm -rf "$SHARDS_DIR"
  rm -f "$state_file"
}

start_set() {
  stop_set
  mkdir -p "$(dirname "$state_file")"
  local base ports="" coordinator_port count=${SHARDS_COUNT:-3} fetch_size=${SHARDS_FETCH_SIZE:-10}
  base=$(mktemp -d /tmp/vectordb-shards.XXXXXX)
  chmod 755 "$base"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$base"
  coordinator_port=$(free_port "${VECTORDB_SHARDS_PORT:-31370}"); ports="$coordinator_port"
  init_server "$base/coordinator" "$coordinator_port" "$base" "max_connections = 150"
  start_server "$base/coordinator"
  local i port shard_ports=() setup=()
  setup+=(-c "CREATE EXTENSION vectordb" -c "CREATE EXTENSION postgres_fdw")
  for i in $(seq "$count"); do
    port=$(free_port $((coordinator_port + 1)) "$ports"); ports="$ports $port"
    # pg_stat_statements counts the rows each shard sends (its FETCH statements).
    init_server "$base/shard$i" "$port" "$base" "shared_preload_libraries = 'pg_stat_statements'"
    start_server "$base/shard$i"
    psql_on "$port" \
      -c "CREATE EXTENSION vectordb" -c "CREATE EXTENSION pg_stat_statements" >/dev/null
    shard_ports+=("$port")
    setup+=(-c "CREATE SERVER shard$i FOREIGN DATA WRAPPER postgres_fdw
                OPTIONS (host '127.0.0.1', port '$port', dbname 'postgres', extensions 'vectordb',
                         fetch_size '$fetch_size', async_capable 'true', parallel_commit 'true', batch_size '1000')"
            -c "CREATE USER MAPPING FOR postgres SERVER shard$i OPTIONS (user 'postgres')")
  done
  psql_on "$coordinator_port" "${setup[@]}" \
    >/dev/null
  {
    echo "export SHARDS_DIR=$base"
    echo "export SHARDS_COORDINATOR_PORT=$coordinator_port"
    echo "export SHARDS_PORTS=\"${shard_ports[*]}\""
  } >"$state_file"
  echo "shards: coordinator on 127.0.0.1:$coordinator_port, shards on ${shard_ports[*]} (state in $state_file)"
}

create_table() {  # name dims
  [ -f "$state_file" ] || { echo "shards: no set is running (scripts/shards.sh start)" >&2; return 1; }
  [[ "$1" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "shards: table names here are plain lower-case identifiers" >&2; return 1; }
  # shellcheck disable=SC1090
  . "$state_file"
  local i=0 port count sql=()
  read -r -a ports <<<"$SHARDS_PORTS"
  count=${#ports[@]}
  sql+=(-c "CREATE TABLE $1 (id bigint, embedding vector($2)) PARTITION BY HASH (id)")
  for port in "${ports[@]}"; do
    i=$((i + 1))
    psql_on "$port" \
      -c "CREATE TABLE $1 (id bigint PRIMARY KEY, embedding vector($2))" -c "CREATE INDEX ${1}_v ON $1 USING vtree (embedding)" >/dev/null
    sql+=(-c "CREATE FOREIGN TABLE ${1}_shard$i PARTITION OF $1 FOR VALUES WITH (MODULUS $count, REMAINDER $((i - 1)))
              SERVER shard$i OPTIONS (table_name '$1')")
  done
  psql_on "$SHARDS_COORDINATOR_PORT" "${sql[@]}" >/dev/null
  echo "shards: $1 ($2 dimensions) over $count shards"
}

case "${1:-}" in
  start) start_set ;;
  table) [ $# -eq 3 ] || { echo "usage: $0 table NAME DIMS" >&2; exit 2; }; create_table "$2" "$3" ;;
  stop) stop_set ;;
  env) cat "$state_file" ;;
  *) echo "usage: $0 start|table NAME DIMS|stop|env" >&2; exit 2 ;;
esac
