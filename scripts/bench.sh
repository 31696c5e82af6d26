#!/usr/bin/env bash
# `make bench`: recall, speed and memory of vtree on synth-768 (or your own
# .fvecs files), written to bench/results/ as JSON, Markdown and a PNG plot.
#
# By default it sets everything up and uses a throwaway cluster (shared_buffers
# 2GB); with BENCH_SERVER=env it uses the server your PG* variables point at
# instead. BENCH_ARGS go to build/cmake/vectordb_pg_bench (see the top of
# bench/pg_bench.cpp); the default sweeps probes x rerank_factor, then
# vtree.target_recall 0.9, 0.95 and 0.99, for both storage modes, runs 8
# concurrent clients and compares with pgvector when the server has it.
set -euo pipefail
cd "$(dirname "$0")/.."
logdir=build/bench-logs
mkdir -p "$logdir"
args=${BENCH_ARGS:---probes 1,2,4,8,16,32 --rerank 2,5,10 --targets 0.9,0.95,0.99 --clients 8 --compare pgvector --save build/bench-data}
mkdir -p build/bench-data

echo "== setting up packages"
bash scripts/setup-deps.sh

echo "== building the driver"
{ cmake -S . -B build/cmake -DCMAKE_BUILD_TYPE=Release &&
  cmake --build build/cmake -j"$(nproc)" --target vectordb_pg_bench; } >"$logdir/build.log" 2>&1 ||
  { tail -n 40 "$logdir/build.log"; exit 1; }

. scripts/lib/bench_cluster.sh
bench_cluster vectordb_bench "$logdir/build.log"

echo "== benchmark: vectordb_pg_bench $args"
# shellcheck disable=SC2086
build/cmake/vectordb_pg_bench $args

# The same rows as halfvec against vector (default run only: it needs the
# queries --save wrote), written beside the other results.
if [ -z "${BENCH_ARGS:-}" ]; then
  echo "== halfvec against vector: bench/halfvec_compare.py"
  python3 bench/halfvec_compare.py "${PGDATABASE:-vectordb_bench}" build/bench-data 5 | tee bench/results/halfvec.txt
fi

# The scale-out recipes (default run only; BENCH_SCALEOUT=0 leaves them out):
# servers of their own, after this run's cluster is stopped.
if [ -z "${BENCH_ARGS:-}" ] && [ "${BENCH_SCALEOUT:-1}" != 0 ]; then
  if [ "${BENCH_SERVER:-cluster}" != env ]; then bash scripts/cluster.sh stop; trap - EXIT; fi
  echo "== scale-out recipes: scripts/bench-scaleout.sh"
  bash scripts/bench-scaleout.sh
fi
