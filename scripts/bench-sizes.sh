#!/usr/bin/env bash
# `make bench-sizes`: does a query's cost grow with the table? The same fixed
# amount of work (vtree.probes 1 and 8, rerank_factor 5) and the default
# vtree.target_recall, measured through PostgreSQL at each size, written to
# bench/results/sizes.md (and one JSON per size beside it).
#
# Data: synth at SIZES_DIM (default 128) dimensions, SIZES_ROWS rows (default
# "100000 1000000 3000000"), 1,000 queries; or the first SIZES_ROWS rows of
# SIZES_BASE (.fvecs) with the queries of SIZES_QUERY (.fvecs). The ground
# truth is computed exactly for each size. A throwaway cluster (shared_buffers
# 2GB) unless BENCH_SERVER=env.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${SIZES_ROWS:-100000 1000000 3000000}
dim=${SIZES_DIM:-128}
logdir=build/bench-logs
out=bench/results/sizes.md
mkdir -p "$logdir" bench/results

echo "== setting up packages, building and installing"
bash scripts/setup-deps.sh >/dev/null
{ cmake -S . -B build/cmake -DCMAKE_BUILD_TYPE=Release &&
  cmake --build build/cmake -j"$(nproc)" --target vectordb_pg_bench; } >"$logdir/sizes-build.log" 2>&1 ||
  { tail -n 40 "$logdir/sizes-build.log"; exit 1; }
. scripts/lib/bench_cluster.sh
bench_cluster vectordb_sizes "$logdir/sizes-build.log"

if [ -n "${SIZES_BASE:-}" ]; then
  set_name="$(basename "$(dirname "$SIZES_BASE")")"
else
  set_name="synth-$dim"
fi
names=()
for rows in $sizes; do
  if [ -n "${SIZES_BASE:-}" ]; then
    source_args=(--base "$SIZES_BASE" --query "${SIZES_QUERY:?SIZES_QUERY names the query .fvecs}" --rows "$rows")
  else
    source_args=(--rows "$rows" --dim "$dim" --queries 1000)
  fi
  name="sizes-$set_name-$rows"
  echo "== $set_name, $rows rows"
  build/cmake/vectordb_pg_bench "${source_args[@]}" --name "$name" --storage mmap --builds 1 \
    --probes 1,8 --rerank 5 --targets 0.95 --table sizes_items | grep -v '^  '
  names+=("$name")
done

# One table from the JSONs: a row per size, p50 and QPS per setting.
python3 - "$out" "$set_name" "$(nproc) vCPU, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)" "${names[@]}" <<'PY'
import json, sys
out, set_name, machine, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
runs = [json.load(open(f"bench/results/{n}.json")) for n in names]
knobs = ["probes=1 rerank=5", "probes=8 rerank=5", "target_recall=0.95"]
lines = [f"# Query cost against table size: {set_name}", "",
         f"Machine: {machine}. One client, prepared statement, query vector in binary; "
         "the median of three passes over 1,000 queries (`make bench-sizes`).", "",
         "| rows | build s | leaves | " + " | ".join(f"{k}: p50 ms / QPS / recall@10" for k in knobs) + " |",
         "|---:|---:|---:|" + "---:|" * len(knobs)]
for name, r in zip(names, runs):
    rows = int(name.rsplit("-", 1)[1])
    idx = next(i for i in r["indexes"] if i["method"] == "vtree-mmap")
    cells = []
    for k in knobs:
        p = next((p for p in r["points"] if p["method"] == "vtree-mmap" and p["knob"] == k), None)
        cells.append("-" if p is None else f"{p['p50_ms']:.3f} / {p['qps']:.0f} / {p['recall']:.3f}")
    lines.append(f"| {rows:,} | {idx['build_s']:.1f} | {idx['leaves']} | " + " | ".join(cells) + " |")
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
print(f"results: {out}")
PY
