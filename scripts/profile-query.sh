#!/usr/bin/env bash
# Where a query's time goes: the benchmark driver's timed passes at one
# setting, the server backend that answers them recorded with perf (DWARF call
# graphs), and each part's share of the backend's time, in microseconds per
# query at the measured QPS.
#
#   PROFILE_ARGS="--targets 0.95" bash scripts/profile-query.sh
#
# The database your PG* variables point at must hold the table and vtree index
# an earlier vectordb_pg_bench run left (the driver runs with --skip-load
# --skip-build and --storage mmap). PROFILE_ARGS go to the driver: the data set
# (synth-768 by default: it is generated again, the same rows) and the one
# setting to profile (--probes none --targets 0.95, or --probes 8 --rerank 5).
# PROFILE_SECONDS (default 6) of recording, within PROFILE_REPEAT (default 40)
# timed passes over the queries. Needs perf (Debian: linux-perf) and root.
set -euo pipefail
cd "$(dirname "$0")/.."
args=${PROFILE_ARGS:---targets 0.95 --probes none --rerank 5}
seconds=${PROFILE_SECONDS:-6}
repeat=${PROFILE_REPEAT:-40}  # timed passes: enough to outlast the recording
command -v perf >/dev/null || { echo "profile-query: perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# shellcheck disable=SC2086
build/cmake/vectordb_pg_bench --skip-load --skip-build --storage mmap --builds 1 --repeat "$repeat" $args \
  --out "$work" --name profile >"$work/bench.log" 2>&1 &
driver=$!
# The driver's backend: the one connection of this database running queries.
pid=""
for _ in $(seq 1 600); do
  pid=$(psql -XAtc "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
                      AND query LIKE '%ORDER BY%' ORDER BY backend_start DESC LIMIT 1" 2>/dev/null || true)
  [ -n "$pid" ] && break
  sleep 0.1
done
[ -n "$pid" ] || { kill "$driver" 2>/dev/null; echo "profile-query: the driver's queries never started" >&2; exit 1; }
sleep 2  # past the warm-up pass
# (perf ends early, and kills its sleep, if the backend exits first.)
perf record --call-graph=dwarf,16384 -p "$pid" -o "$work/perf.data" -- sleep "$seconds" >/dev/null 2>&1 || true
wait "$driver" || { tail -n 20 "$work/bench.log"; exit 1; }
qps=$(awk '$1 == "vtree-mmap" && ($2 ~ /^target_recall/ || $2 ~ /^probes/) { q = $(NF - 2) } END { print q }' "$work/bench.log")
grep -E '^(index|vtree-mmap) ' "$work/bench.log"

perf report -i "$work/perf.data" --children --sort symbol -g none 2>/dev/null | grep -v '^#' >"$work/report.txt"
# The share of the backend's samples spent in (and under) each symbol.
share() {  # symbol
  awk -v s="$1" '{ sym = $0; sub(/^ *[0-9.]+% +[0-9.]+% +\[[.k]\] /, "", sym)
                   sub(/ +- +- *$/, "", sym); sub(/ +$/, "", sym)  # and the IPC columns
                   if (sym == s) { sub(/%/, "", $1); print $1; exit } }' "$work/report.txt"
}
printf '\n%-52s %8s %10s\n' "part of a query (backend time)" "share" "us/query"
row() {  # label symbol...
  local label=$1 total=0 v
  shift
  for sym in "$@"; do
    v=$(share "$sym")
    total=$(awk -v a="$total" -v b="${v:-0}" 'BEGIN { print a + b }')
  done
  awk -v l="$label" -v t="$total" -v q="$qps" 'BEGIN { printf "%-52s %7.1f%% %10.1f\n", l, t, t / 100 * 1e6 / q }'
}
row "protocol: libpq messages (kernel send and receive)" secure_write secure_read
row "executor start and end" PortalStart PortalDrop
row "heap fetch of the rows returned" index_fetch_heap
row "ORDER BY distance of the rows returned (and TOAST)" l2_distance_body
row "vtree scan" vectordb::pg::vtree_gettuple
row "  set-up (tree cache, sidecar, query rotation)" "start_search (inlined)"
row "  descent (centroid distances)" vectordb::Tree::beam_leaves
row "  leaves (buffer reads and code scan)" vectordb::Searcher::probe_leaf
row "    of it buffer reads and page checks" vectordb::pg::read_chain_page
row "  reranks (sidecar reads, checksums, distances)" vectordb::Searcher::rerank
printf '(at %s queries/s; perf samples of the backend only: the client and the kernel'"'"'s\nloopback work on its behalf in other processes are not counted)\n' "$qps"
