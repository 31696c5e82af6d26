# shellcheck shell=bash
# Shared by scripts/bench.sh and scripts/bench-sizes.sh: unless BENCH_SERVER=env,
# builds and installs vectordb, starts the throwaway cluster (shared_buffers 2GB
# unless VECTORDB_SHARED_BUFFERS says otherwise; stopped when the script exits),
# and points PGDATABASE at a fresh database. Source it, then call
#   bench_cluster DATABASE BUILD_LOG
bench_cluster() {
  local db=$1 log=$2
  [ "${BENCH_SERVER:-cluster}" != env ] || return 0
  echo "== building and installing vectordb, starting a throwaway cluster"
  { make -j"$(nproc)" && make install; } >>"$log" 2>&1 || { tail -n 40 "$log"; exit 1; }
  VECTORDB_SHARED_BUFFERS=${VECTORDB_SHARED_BUFFERS:-2GB} bash scripts/cluster.sh start
  trap 'bash scripts/cluster.sh stop' EXIT
  # shellcheck disable=SC1091
  . build/cluster.env
  psql -qX -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" \
    -c "CREATE DATABASE $db" >/dev/null
  export PGDATABASE=$db
}
