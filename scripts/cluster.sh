#!/usr/bin/env bash
# Manages the throwaway PostgreSQL 15 cluster used by `make test` and `make demo`.
#
#   scripts/cluster.sh start   # stop any cluster an earlier run left behind, initdb a new
#                              # one in a temporary directory, start it on a free loopback port
#   scripts/cluster.sh stop    # stop it and remove its directory
#   scripts/cluster.sh env     # print export lines (PGHOST, PGPORT, PGUSER, PGDATA)
#
# initdb refuses to run as root, so as root the cluster runs as the `postgres`
# user. The cluster's location is remembered in build/cluster.env.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
state_dir="$here/build"
state_file="$state_dir/cluster.env"
# pg_bin, as_owner (initdb refuses root: the cluster runs as postgres) and free_port.
. "$here/scripts/lib/servers.sh"

stop_cluster() {
  [ -f "$state_file" ] || return 0
  # shellcheck disable=SC1090
  . "$state_file"
  if [ -n "${PGDATA:-}" ] && [ -d "$PGDATA" ]; then
    as_owner "$pg_bin/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$(dirname "$PGDATA")"
  fi
  rm -f "$state_file"
}

start_cluster() {
  stop_cluster
  mkdir -p "$state_dir"
  local base port
  base=$(mktemp -d /tmp/vectordb-cluster.XXXXXX)
  chmod 755 "$base"
  port=$(free_port "${VECTORDB_PORT:-54330}")
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$base"; fi
  # The shared throwaway settings, with more memory for the tests and the
  # benchmark (later lines of postgresql.conf win).
  if ! init_server "$base/data" "$port" "$base" "shared_buffers = '${VECTORDB_SHARED_BUFFERS:-512MB}'
maintenance_work_mem = '1GB'
max_wal_size = '4GB'" || ! start_server "$base/data" 60; then
    rm -rf "$base"; return 1
  fi
  cat >"$state_file" <<ENV
export PGHOST=127.0.0.1
export PGPORT=$port
export PGUSER=postgres
export PGDATA=$base/data
export VECTORDB_CLUSTER_LOG=$base/data.log
ENV
  echo "cluster: started on 127.0.0.1:$port (data in $base/data)"
}

case "${1:-}" in
  start) start_cluster ;;
  stop) stop_cluster ;;
  env) cat "$state_file" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
