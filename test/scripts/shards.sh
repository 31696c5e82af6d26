#!/usr/bin/env bash
# Sharding with postgres_fdw (scripts/shards.sh: a coordinator and three
# shards, a table partitioned by hash of id whose partitions are foreign
# tables, one vtree index per shard), checked against one server holding the
# same rows (a plain table `whole` on the coordinator) and against exact scans:
#   - inserts through the parent land on the shard their hash names;
#   - the parent's ORDER BY ... LIMIT k ships the ORDER BY to every shard
#     (EXPLAIN VERBOSE), each shard answers through its index, about k rows
#     per shard cross the wire (the shards' pg_stat_statements);
#   - with every leaf probed (vtree.probes set through the foreign servers'
#     options), the merged top-k equals the exact top-k of all rows, through
#     the parent and through vectordb_sharded_knn();
#   - at the defaults, recall@10 is no lower than one server's;
#   - a query's new nearest row, inserted through the parent, is found;
#   - vectordb_sharded_knn() rejects bad arguments with SQLSTATE 22023;
#   - QPS of one client on one server, through the parent and through the
#     helper: printed, not asserted (a measurement on two shared cores).
# SHARDS_TEST_ROWS (default 30000), SHARDS_TEST_DIMS (32). Prints TAP.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
rows=${SHARDS_TEST_ROWS:-30000}
dims=${SHARDS_TEST_DIMS:-32}
load=build/cmake/vectordb_load  # run through knn_load (test/lib/tap.sh)

work=$(mktemp -d /tmp/vectordb-shards-test.XXXXXX)
export SHARDS_STATE=$work/shards.env
cleanup() { bash scripts/shards.sh stop >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT

VECTORDB_SHARDS_PORT=31250 bash scripts/shards.sh start >"$work/start.log" 2>&1 &&
  bash scripts/shards.sh table items "$dims" >>"$work/start.log" 2>&1
check $? "a coordinator and three shards start, with items sharded over them ($(tail -n 2 "$work/start.log" | tr '\n' ' '))"
. "$SHARDS_STATE" || finish_tap
read -r -a shard_ports <<<"$SHARDS_PORTS"
C() { psql_on "$SHARDS_COORDINATOR_PORT" "$@"; }
SHARD() { psql_on "$@"; }
# Sets vtree settings for every shard's scans (libpq's options of each foreign
# server) and drops the coordinator's cached connections, so they take effect.
shard_settings() {  # "-c vtree.probes=N ..." or "" for the defaults
  local i
  for i in $(seq ${#shard_ports[@]}); do
    C -c "ALTER SERVER shard$i OPTIONS (DROP options)" 2>/dev/null
    [ -n "$1" ] && C -c "ALTER SERVER shard$i OPTIONS (ADD options '$1')"
  done
}

C -c "SELECT setseed(0.27)" \
  -c "CREATE TABLE whole (id bigint PRIMARY KEY, embedding vector($dims))" \
  -c "INSERT INTO whole SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, $dims) WHERE i > 0)::vector FROM generate_series(1, $rows) i" \
  -c "INSERT INTO items SELECT * FROM whole" \
  -c "CREATE INDEX whole_v ON whole USING vtree (embedding)" \
  -c "CREATE TABLE queries AS SELECT g AS qid, (SELECT array_agg(random()::real) FROM generate_series(1, $dims) WHERE g > 0)::vector($dims) AS v FROM generate_series(1, 40) g" >/dev/null
check $? "$rows rows inserted through the parent (and into one table, whole)"
# The shards' indexes were created empty: VACUUM (autovacuum's job after a
# load) calibrates them for vtree.target_recall, as a build calibrates whole's.
for port in "${shard_ports[@]}"; do SHARD "$port" -c "VACUUM items" >/dev/null; done

# The hash is checked here: OFFSET 0 keeps the check from being shipped to the shard.
counts=""; total=0; misplaced=0
for i in $(seq ${#shard_ports[@]}); do
  n=$(SHARD "${shard_ports[$((i - 1))]}" -c "SELECT count(*) FROM items")
  counts="$counts $n"; total=$((total + n))
  misplaced=$((misplaced + $(C -c "SELECT count(*) FROM (SELECT id FROM items_shard$i OFFSET 0) s WHERE NOT satisfies_hash_partition('items'::regclass, ${#shard_ports[@]}, $((i - 1)), id)")))
done
[ "$total" = "$rows" ] && [ "$misplaced" = 0 ] && ! [[ " $counts " == *" 0 "* ]]
check $? "every row is on the shard its hash names (rows per shard:$counts; misplaced: $misplaced)"

plan=$(C -c "EXPLAIN VERBOSE SELECT id FROM items ORDER BY embedding <-> (SELECT v FROM queries WHERE qid = 1) LIMIT 10")
[ "$(grep -c 'Remote SQL: SELECT id, embedding FROM public.items ORDER BY (embedding OPERATOR(public.<->)' <<<"$plan")" = 3 ] &&
  grep -q 'Merge Append' <<<"$plan"
check $? "the parent's plan merges three foreign scans, each shipping ORDER BY embedding <-> \$1"

# Answers as "qid|{ids}" lines, one statement per query.
answers() {  # SQL template with Q for the query vector
  for q in $(seq 40); do
    echo "SELECT $q, array(${1//Q/(SELECT v FROM queries WHERE qid = $q)});"
  done >"$work/answers.sql"
  C -f "$work/answers.sql"
}
parent_sql="SELECT id FROM items ORDER BY embedding <-> Q LIMIT 10"
helper_sql="SELECT id FROM vectordb_sharded_knn('items', Q, 10)"
exact_sql="SELECT id FROM whole ORDER BY l2_distance(embedding, Q), id LIMIT 10"
whole_sql="SELECT id FROM whole ORDER BY embedding <-> Q LIMIT 10"
# Recall@10 of answers file $1 against the exact answers file $2.
recall() {
  awk -F'|' 'NR == FNR { truth[$1] = $2; next }
             { gsub(/[{}]/, "", $2); n = split($2, got, ","); split(truth[$1], want, ",");
               for (i = 1; i <= n; i++) for (j in want) if (got[i] == want[j]) hit++; total += 10 }
             END { printf "%.4f", hit / total }' <(sed 's/[{}]//g' "$2") "$1"
}
answers "$exact_sql" >"$work/exact.out"

# Rows and index scans on each shard while the parent answers 40 queries.
for port in "${shard_ports[@]}"; do SHARD "$port" -c "SELECT pg_stat_statements_reset()" >/dev/null; done
sleep 0.6
scans_before=$(for port in "${shard_ports[@]}"; do SHARD "$port" -c "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'items_v'"; done | paste -sd' ')
answers "$parent_sql" >"$work/parent.out"
sleep 0.6  # the shards' backends report their counters when idle
scans_after=$(for port in "${shard_ports[@]}"; do SHARD "$port" -c "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'items_v'"; done | paste -sd' ')
fetched=$(for port in "${shard_ports[@]}"; do SHARD "$port" -c "SELECT coalesce(sum(rows), 0) FROM pg_stat_statements WHERE query LIKE 'FETCH %'"; done | paste -sd' ')
read -r -a before <<<"$scans_before"; read -r -a after <<<"$scans_after"
index_ok=0
for i in "${!before[@]}"; do [ $((after[i] - before[i])) -ge 40 ] || index_ok=1; done
check $index_ok "each shard answered through its vtree index (index scans before: $scans_before, after: $scans_after)"
max_fetched=$(tr ' ' '\n' <<<"$fetched" | sort -n | tail -n 1)
[ "$max_fetched" -le $((40 * 20)) ]
check $? "at most 2k rows a query crossed the wire from each shard, with fetch_size 10 (rows for 40 queries: $fetched)"
p_default=$(recall "$work/parent.out" "$work/exact.out")

answers "$helper_sql" >"$work/helper.out"
h_default=$(recall "$work/helper.out" "$work/exact.out")
answers "$whole_sql" >"$work/whole.out"
w_default=$(recall "$work/whole.out" "$work/exact.out")
awk -v p="$p_default" -v h="$h_default" -v w="$w_default" 'BEGIN { exit !(p >= w - 0.02 && h >= w - 0.02) }'
check $? "at the defaults, recall@10 through the parent $p_default and the helper $h_default, one server $w_default"

shard_settings "-c vtree.probes=100000"
answers "$parent_sql" >"$work/parent_all.out"
answers "$helper_sql" >"$work/helper_all.out"
m_parent=$(diff "$work/parent_all.out" "$work/exact.out" | grep -c '^>')
m_helper=$(diff "$work/helper_all.out" "$work/exact.out" | grep -c '^>')
[ "$m_parent" = 0 ] && [ "$m_helper" = 0 ]
check $? "every leaf probed (vtree.probes in the servers' options): the merged top-10 is the exact one (mismatches: parent $m_parent, helper $m_helper)"
shard_settings "-c vtree.probes=1"
answers "$parent_sql" >"$work/parent_1.out"
p_one=$(recall "$work/parent_1.out" "$work/exact.out")
awk -v a="$p_one" -v b="$p_default" 'BEGIN { exit !(a < b) }'
check $? "the setting reaches the shards' scans: recall@10 at probes 1 is $p_one, at the defaults $p_default"
shard_settings ""

# New rows, copies of the queries nudged, inserted through the parent.
C -c "INSERT INTO items SELECT 1000000 + qid, (SELECT array_agg(x + 0.0001) FROM unnest(v::real[]) x)::vector FROM queries" >/dev/null
answers "$parent_sql" >"$work/parent_new.out"
answers "$helper_sql" >"$work/helper_new.out"
found=$(cat "$work/parent_new.out" "$work/helper_new.out" |
        awk -F'|' '{ split(substr($2, 2), ids, ","); if (ids[1] == 1000000 + $1) n++ } END { print n + 0 }')
[ "$found" = 80 ]; check $? "each query's nearest row, inserted through the parent, comes first ($found of 80 answers)"

err() { C -c "$1" 2>&1 | sed -n 's/.*\(ERROR\|ERREUR\): *//p' | head -n 1; }
state() { psql -X -h 127.0.0.1 -p "$SHARDS_COORDINATOR_PORT" -U postgres -d postgres -v VERBOSITY=verbose -c "$1" 2>&1 | sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\):.*/\1/p'; }
s1=$(state "SELECT * FROM vectordb_sharded_knn('items', (SELECT v FROM queries WHERE qid = 1), 0)")
s2=$(state "SELECT * FROM vectordb_sharded_knn('items', (SELECT v FROM queries WHERE qid = 1), 10, operator => '<<')")
[ "$s1" = 22023 ] && [ "$s2" = 22023 ]
check $? "vectordb_sharded_knn rejects k < 1 and an unknown operator with 22023 ($s1, $s2)"

if [ -x "$load" ]; then
  for target in "one-server:$whole_sql" "parent:$parent_sql" "helper:$helper_sql"; do
    sql=${target#*:}
    knn_load "$SHARDS_COORDINATOR_PORT" --sql "${sql//Q/\$1::vector}" --clients 1 --seconds 2 --warmup 1 --label "${target%%:*}" >>"$work/throughput.out" 2>&1
  done
  grep '^load' "$work/throughput.out" | sed 's/^/# /'
  [ "$(grep -c '^load .* errors=0 ' "$work/throughput.out")" = 3 ]
  check $? "one client ran on one server, through the parent and through the helper without errors"
else
  check 1 "vectordb_load is built (build/cmake/vectordb_load)"
fi
finish_tap
