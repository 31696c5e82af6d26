#!/usr/bin/env bash
# Smoke tests of the tools behind `make demo` and `make bench`, on small data
# against the throwaway cluster: they run, their reports hold the figures they
# promise, and with every leaf probed both storage modes reach recall 1.
# Needs build/cmake/vectordb_demo and vectordb_pg_bench (built by make test's
# cmake step). Prints TAP.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh

db=vectordb_tools
fresh_database $db
out=$(mktemp -d)

# --- the benchmark driver --------------------------------------------------------
build/cmake/vectordb_pg_bench --rows 3000 --dim 48 --queries 40 --probes 100000 --rerank 1000 --repeat 1 \
  --builds 2 --clients 2 --compare pgvector --name smoke --out "$out" >"$out/bench.log" 2>&1
check $? "vectordb_pg_bench runs"
[ -s "$out/smoke.json" ] && [ -s "$out/smoke.md" ]; check $? "it writes JSON and Markdown results"
builds=$(grep -cE '^\| vtree-(mmap|pages) \|.*median of 2 builds: [0-9.]+ [0-9.]+ s \|$' "$out/smoke.md")
[ "$builds" = 2 ]; check $? "it reports the median of the timed builds with each build's time ($builds of 2)"
# --compare pgvector: pgvector's rows when the server has it, else a note saying it was skipped.
if [ "$(sql -d postgres -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")" = 1 ]; then
  hnsw=$(sed -n 's/^| pgvector-hnsw | hnsw.ef_search=320 | \([0-9.]*\) .*/\1/p' "$out/smoke.md")
  awk -v r="${hnsw:-0}" 'BEGIN { exit !(r >= 0.9) }'
  check $? "pgvector is installed: its HNSW is measured on the same data (recall@10 ${hnsw:-?} at ef_search 320)"
  grep -qE '^\| pgvector-ivfflat \| ivfflat.probes=8 \| [0-9.]+ ' "$out/smoke.md"; check $? "and its IVFFlat"
else
  grep -q 'pgvector is not installed in this server: no comparison' "$out/smoke.md"
  check $? "pgvector is not installed: the results say the comparison was skipped"
fi
# Every leaf probed with a budget above the table size: both modes are exact.
exact=$(grep -cE '^\| vtree-(mmap|pages) \| probes=100000 rerank=1000 \| 1\.0000 ' "$out/smoke.md")
[ "$exact" = 2 ]; check $? "with every leaf probed both storage modes reach recall@10 = 1 ($exact of 2)"
grep -qE 'with 2 clients at the default settings: [0-9]+ queries/s' "$out/smoke.md"; check $? "it measures concurrent clients"
if command -v gnuplot >/dev/null; then [ -s "$out/smoke.png" ]; check $? "it draws the plot"; fi

# --- the demo --------------------------------------------------------------------
DEMO_ROWS=3000 DEMO_DIMS=48 DEMO_QUERIES=40 build/cmake/vectordb_demo >"$out/demo.log" 2>&1
check $? "vectordb_demo runs"
for line in "RAM the index needs" "backend peak RSS" "latency mmap/pages (p50): cold" "memory the index needs resident"; do
  grep -q "$line" "$out/demo.log"; check $? "the demo report has \"$line\""
done
saved=$(sed -n 's/.*MB saved (\([0-9.]*\)%).*/\1/p' "$out/demo.log")
awk -v s="${saved:-0}" 'BEGIN { exit !(s > 50) }'; check $? "mmap needs far less resident memory than pages (saved ${saved:-?}%)"
build_mb=$(sed -n 's/^build: peak private mem *\([0-9.]*\) MB.*/\1/p' "$out/demo.log")
awk -v m="${build_mb:-0}" 'BEGIN { exit !(m > 0) }'; check $? "the demo samples the build's private memory (${build_mb:-?} MB)"

# The memory-cgroup step: where this user can make a cgroup v1 memory group
# under the server's, the queries run inside it; elsewhere it says why not.
DEMO_ROWS=3000 DEMO_DIMS=48 DEMO_QUERIES=40 DEMO_MEMORY_LIMIT_MB=256 build/cmake/vectordb_demo >"$out/demo-cgroup.log" 2>&1
check $? "vectordb_demo runs with DEMO_MEMORY_LIMIT_MB"
server_group=/sys/fs/cgroup/memory$(awk -F: '$2 == "memory" { print $3 }' "/proc/$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null || echo self)/cgroup" 2>/dev/null)
if [ "$(id -u)" = 0 ] && [ -w "$server_group" ]; then
  grep -q "^cgroup: limit 256 MB" "$out/demo-cgroup.log"; check $? "the queries ran in a 256 MB memory cgroup"
  grep -q "latency mmap in the cgroup/pages" "$out/demo-cgroup.log"; check $? "the report compares the cgroup's latency"
  [ ! -d "$server_group/vectordb-demo-$(head -n 1 "$PGDATA/postmaster.pid")" ]; check $? "the demo removed its cgroup"
else
  grep -q "skipped:" "$out/demo-cgroup.log"; check $? "without a writable memory cgroup the step says why it is skipped"
fi

psql -qX -d postgres -c "DROP DATABASE $db" >/dev/null
rm -rf "$out"
finish_tap
