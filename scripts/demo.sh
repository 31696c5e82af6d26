#!/usr/bin/env bash
# `make demo`: installs what is missing, builds and installs vectordb, starts a
# throwaway cluster, loads a generated table and runs an exact nearest-neighbour
# query, showing its results and timing. The cluster is left running so you
# can explore it with psql; `make demo-stop` removes it.
#
# Knobs (environment or make variables): DEMO_ROWS (default 100000),
# DEMO_DIMS (default 128), DEMO_RUNS (timed repetitions, default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${DEMO_ROWS:-100000}
dims=${DEMO_DIMS:-128}
runs=${DEMO_RUNS:-5}
logdir=build/demo-logs
mkdir -p "$logdir"

step() { printf '\n== %s\n' "$*"; }

step "setting up packages"
bash scripts/setup-deps.sh

step "building and installing vectordb"
make -j"$(nproc)" >"$logdir/build.log" 2>&1 && make install >>"$logdir/build.log" 2>&1 ||
  { tail -n 40 "$logdir/build.log"; exit 1; }
echo "ok (log: $logdir/build.log)"

step "starting a throwaway cluster"
bash scripts/cluster.sh start
# shellcheck disable=SC1091
. build/cluster.env
db=vectordb_demo
psql -qX -d postgres -c "CREATE DATABASE $db" >/dev/null
export PGDATABASE=$db
psql -qX -c "CREATE EXTENSION vectordb"

step "generating $rows random vectors of $dims dimensions"
start=$(date +%s.%N)
psql -qX -v ON_ERROR_STOP=1 <<SQL
DO \$\$ BEGIN PERFORM setseed(0.5); END \$\$;
CREATE TABLE items (id bigint PRIMARY KEY, embedding vector($dims));
INSERT INTO items
SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, $dims) WHERE i > 0)::vector
FROM generate_series(1, $rows) i;
ANALYZE items;
SQL
printf 'loaded in %.1f s; table size %s\n' "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')" \
  "$(psql -AtqX -c "SELECT pg_size_pretty(pg_total_relation_size('items'))")"

step "exact nearest neighbours of a fresh random vector (ORDER BY embedding <-> q LIMIT 5)"
query=$(psql -AtqX -c "SELECT setseed(0.25); SELECT array_agg(random()::real)::vector FROM generate_series(1, $dims)" | tail -n 1)
psql -X -c "SELECT id, round((embedding <-> '$query')::numeric, 4) AS l2_distance,
                   round((embedding <=> '$query')::numeric, 4) AS cosine_distance
            FROM items ORDER BY embedding <-> '$query' LIMIT 5"

step "timing the same query $runs times (a full scan: there is no index yet)"
for _ in $(seq "$runs"); do
  psql -AtqX -c '\timing on' -c "SELECT id FROM items ORDER BY embedding <-> '$query' LIMIT 5" | grep '^Time:'
done | awk '{print $2}' | sort -n | awk '{t[NR]=$1} END {printf "median %.1f ms, min %.1f ms, max %.1f ms over %d runs\n", t[int((NR+1)/2)], t[1], t[NR], NR}'

step "the cluster is still running"
echo "connect: psql -h $PGHOST -p $PGPORT -U postgres $db    stop: make demo-stop"
