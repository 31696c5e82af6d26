#!/usr/bin/env bash
# Concurrency: pgbench with 8 clients mixing nearest-neighbour queries,
# inserts, updates and deletes on a vtree-indexed table, with a VACUUM every
# few seconds. Afterwards: no failed transaction, vectordb_check passes, and
# recall@10 at the default settings is at most 0.02 below a freshly rebuilt
# index's.
# Prints TAP and a summary line.
#
#   CONCURRENCY_SECONDS (default 30; make stress uses 300)
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
seconds=${CONCURRENCY_SECONDS:-30}

db=vectordb_concurrency
fresh_database $db
work=$(mktemp -d)
sql -c "CREATE EXTENSION vectordb" -c "SELECT setseed(0.31)" \
    -c "CREATE TABLE centers AS SELECT c, (SELECT array_agg((random() * 8 - 4)::real) FROM generate_series(1, 32) WHERE c > 0) AS mu
        FROM generate_series(1, 40) c" \
    -c "CREATE TABLE conc (id bigserial PRIMARY KEY, v vector(32))" \
    -c "INSERT INTO conc (v) SELECT (SELECT array_agg((m + (random() - 0.5) * 2)::real) FROM unnest(mu) m)::vector
        FROM generate_series(1, 20000) i JOIN centers ON c = 1 + i % 40" \
    -c "CREATE INDEX conc_v ON conc USING vtree (v) WITH (max_leaf_size = 300)" -c "ANALYZE conc" >/dev/null

new_vector="(SELECT array_agg((m + (random() - 0.5) * 2)::real) FROM unnest(mu) m)::vector FROM centers WHERE c = :c"
cat >"$work/query.sql" <<'SQL'
\set id random(1, 20000)
SELECT id FROM conc ORDER BY v <-> (SELECT v FROM conc WHERE id >= :id ORDER BY id LIMIT 1) LIMIT 10;
SQL
cat >"$work/insert.sql" <<SQL
\set c random(1, 40)
INSERT INTO conc (v) SELECT $new_vector;
SQL
cat >"$work/update.sql" <<SQL
\set id random(1, 20000)
\set c random(1, 40)
UPDATE conc SET v = (SELECT $new_vector) WHERE id = :id;
SQL
cat >"$work/delete.sql" <<'SQL'
\set id random(1, 20000)
DELETE FROM conc WHERE id = :id;
SQL

# Index and sidecar sizes as the mix runs (space reuse: they should level off).
sizes() {
  sql -c "SELECT format('index %s MB, sidecar %s MB, %s leaves, %s live entries',
                        round(relation_bytes / 1048576.0, 1), round(sidecar_bytes / 1048576.0, 1), leaves, live_entries)
          FROM vectordb_index_stats('conc_v')"
}
echo "# sizes at the start: $(sizes)"
# Every minute (a third of a short run), read while the clients write: the
# statistics walk every chain as inserts and splits add pages.
interval=$(( seconds >= 180 ? 60 : (seconds + 2) / 3 ))
( start=$SECONDS; end=$((SECONDS + seconds)); next_report=$interval
  while [ $SECONDS -lt "$end" ]; do
    sleep 5; psql -qX -c "VACUUM conc" >>"$work/vacuum.log" 2>&1
    if [ $((SECONDS - start)) -ge $next_report ]; then
      report=$(sizes 2>>"$work/sizes.err")
      echo "# sizes after $next_report s: ${report:-(failed)}"
      next_report=$((next_report + interval))
    fi
  done ) &
vacuum_loop=$!
"$pg_bin/pgbench" -n -c 8 -j 2 -T "$seconds" -f "$work/query.sql@6" -f "$work/insert.sql@2" \
  -f "$work/update.sql@1" -f "$work/delete.sql@1" >"$work/pgbench.log" 2>&1
bench_rc=$?
wait "$vacuum_loop"
transactions=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/pgbench.log")
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/pgbench.log")
vacuum_errors=$(grep -ciE "error|deadlock" "$work/vacuum.log" 2>/dev/null)
sql -c "VACUUM conc"
echo "# sizes at the end, after a VACUUM: $(sizes)"
echo "# pgbench: ${transactions:-?} transactions in $seconds s, ${failed:-?} failed; ${vacuum_errors:-0} vacuum errors"
[ "$bench_rc" -eq 0 ] && [ "${failed:-1}" = 0 ] && ! grep -qiE "error|deadlock|aborted" "$work/pgbench.log"
check $? "8 clients for $seconds s: no error, no deadlock (${transactions:-?} transactions)"
[ "${vacuum_errors:-0}" = 0 ]; check $? "the periodic VACUUMs ran without error"
[ ! -s "$work/sizes.err" ]
check $? "vectordb_index_stats during the run answered every time$( [ -s "$work/sizes.err" ] && echo " ($(head -c 200 "$work/sizes.err" | tr '\n' ' '))")"
[ "$(sql -c "SELECT vectordb_check('conc_v')" 2>"$work/check.log")" = t ]
check $? "vectordb_check passes afterwards$( [ -s "$work/check.log" ] && echo " ($(head -c 300 "$work/check.log" | tr '\n' ' '))")"

recall() {  # mean recall@10 at the default settings over 400 queries near the centres
  sql -c "SET enable_seqscan = off" -c "SELECT setseed(0.5)" -c "
    SELECT round(avg(hits) / 10.0, 4) FROM (
      SELECT (SELECT count(*) FROM (SELECT id FROM conc ORDER BY v <-> q LIMIT 10) a
              JOIN (SELECT id FROM conc ORDER BY l2_distance(v, q), id LIMIT 10) b USING (id)) AS hits
      FROM (SELECT (SELECT array_agg((m + (random() - 0.5) * 2)::real) FROM unnest(mu) m)::vector AS q
            FROM generate_series(1, 400) i JOIN centers ON c = 1 + i % 40) qs) s" | tail -n 1
}
before=$(recall)
sql -c "REINDEX INDEX conc_v"
after=$(recall)
echo "# recall@10 after the run $before, after REINDEX $after"
# The churned index may not be worse than a fresh one by more than 0.02 (better is fine).
awk -v a="$before" -v b="$after" 'BEGIN { exit !(b - a <= 0.02) }'
check $? "recall after the run ($before) is no more than 0.02 below a fresh REINDEX ($after)"

rm -rf "$work"
[ "$failures" -eq 0 ] && psql -qX -d postgres -c "DROP DATABASE $db" >/dev/null 2>&1
echo "# concurrency summary: ${transactions:-0} transactions, ${failed:-?} failed, recall $before vs $after, $failures failures"
finish_tap
