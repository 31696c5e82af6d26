#!/usr/bin/env bash
# `make demo`: installs what is missing, builds and installs vectordb, starts a
# throwaway cluster and runs bench/demo.cpp: synth-768 into a table, the vtree
# index with storage = pages and then storage = mmap, and a report of memory,
# latency (cold, warm, hot) and recall for both. The cluster is left running so
# you can explore it with psql; `make demo-stop` removes it.
#
# Knobs (environment or make variables): DEMO_ROWS (default 100000),
# DEMO_DIMS (768), DEMO_QUERIES (1000), DEMO_FVECS (an .fvecs file of your own;
# its last DEMO_QUERIES rows become the queries).
set -euo pipefail
cd "$(dirname "$0")/.."
logdir=build/demo-logs
mkdir -p "$logdir"
started=$(date +%s)

step() { printf '\n== %s\n' "$*"; }

step "setting up packages"
bash scripts/setup-deps.sh

step "building and installing vectordb and the demo driver"
{ make -j"$(nproc)" && make install &&
  cmake -S . -B build/cmake -DCMAKE_BUILD_TYPE=Release &&
  cmake --build build/cmake -j"$(nproc)" --target vectordb_demo; } >"$logdir/build.log" 2>&1 ||
  { tail -n 40 "$logdir/build.log"; exit 1; }
echo "ok (log: $logdir/build.log)"

step "starting a throwaway cluster"
VECTORDB_SHARED_BUFFERS=${VECTORDB_SHARED_BUFFERS:-1GB} bash scripts/cluster.sh start
# shellcheck disable=SC1091
. build/cluster.env
db=vectordb_demo
psql -qX -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
export PGDATABASE=$db

step "running the demonstration"
build/cmake/vectordb_demo

step "done in $(( $(date +%s) - started )) s; the cluster is still running"
echo "connect: psql -h $PGHOST -p $PGPORT -U postgres $db    (table demo_items, index demo_items_idx)"
echo "stop:    make demo-stop"
