#!/usr/bin/env bash
# vtree on an UNLOGGED table (ambuildempty writes the empty index of the init
# fork): on a server of its own, the index answers like an exact scan before
# and after a crash (immediate shutdown), which empties the table and resets
# the index from its init fork; rows inserted after the reset are found, the
# tree grows again, and vectordb_check passes. Both storage modes and an index
# created on an empty table. Prints TAP.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh

work=$(mktemp -d /tmp/vectordb-unlogged.XXXXXX)
chmod 755 "$work"
[ "$(id -u)" -eq 0 ] && chown postgres: "$work"
port=$(free_port 31150)  # below the ephemeral port range (scripts/lib/servers.sh)
cleanup() {
  [ -f "$work/data/postmaster.pid" ] && as_owner "$pg_bin/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
start() { as_owner "$pg_bin/pg_ctl" -D "$work/data" -o "-p $port -k $work -c listen_addresses=127.0.0.1" -l "$work/server.log" -w -t 120 start >/dev/null; }
Q() { psql -AtqX -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }
as_owner "$pg_bin/initdb" -D "$work/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null 2>&1
start; check $? "a server of its own starts"

fill() {  # table first_id n
  Q -c "INSERT INTO $1 SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 8) WHERE i > 0)::vector
        FROM generate_series($2, $(($2 + $3 - 1))) i" >/dev/null
}
# Queries (of 20 rows' vectors) whose top 10 through the index, every leaf probed, differ from an exact scan.
mismatches() {  # table
  Q -c "SET enable_seqscan = off" -c "SET vtree.probes = 100000" -c "
    SELECT count(*) FROM (SELECT v FROM $1 ORDER BY id LIMIT 20) q
    WHERE ARRAY(SELECT id FROM $1 ORDER BY v <-> q.v, id LIMIT 10)
          IS DISTINCT FROM ARRAY(SELECT id FROM $1 ORDER BY l2_distance(v, q.v), id LIMIT 10)"
}
uses_index() {  # table
  Q -c "SET enable_seqscan = off" -c "EXPLAIN (COSTS OFF) SELECT id FROM $1 ORDER BY v <-> '[0,0,0,0,0,0,0,0]' LIMIT 5" |
    grep -q "Index Scan using ${1}_v"
}

Q -c "CREATE EXTENSION vectordb" -c "SELECT setseed(0.3)" >/dev/null
Q -c "CREATE UNLOGGED TABLE u_mmap (id int PRIMARY KEY, v vector(8))" >/dev/null
fill u_mmap 1 3000
Q -c "CREATE INDEX u_mmap_v ON u_mmap USING vtree (v) WITH (max_leaf_size = 200)" >/dev/null
check $? "CREATE INDEX on an unlogged table (storage = mmap)"
Q -c "CREATE UNLOGGED TABLE u_pages (id int PRIMARY KEY, v vector(8))" \
  -c "CREATE INDEX u_pages_v ON u_pages USING vtree (v) WITH (storage = pages, max_leaf_size = 200)" >/dev/null
check $? "CREATE INDEX on an empty unlogged table (storage = pages)"
fill u_pages 1 3000
for t in u_mmap u_pages; do
  uses_index $t; check $? "$t: queries use the index"
  m=$(mismatches $t); [ "$m" = 0 ]; check $? "$t: every leaf probed equals the exact scan (mismatches: $m)"
  [ "$(Q -c "SELECT relpersistence FROM pg_class WHERE relname = '${t}_v'")" = u ]; check $? "$t: the index is unlogged too"
  fork=$(Q -c "SELECT pg_relation_filepath('${t}_v')")
  [ -s "$work/data/${fork}_init" ]; check $? "$t: the index has an init fork"
done
Q -c "TRUNCATE u_mmap" >/dev/null; fill u_mmap 1 500
m=$(mismatches u_mmap); [ "$m" = 0 ]; check $? "after TRUNCATE and new rows, every leaf probed equals the exact scan (mismatches: $m)"
fill u_mmap 501 2500
Q -c "CHECKPOINT" >/dev/null

# A crash: unlogged relations are reset from their init forks.
as_owner "$pg_bin/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1
start; check $? "the server restarts after an immediate shutdown"
for t in u_mmap u_pages; do
  [ "$(Q -c "SELECT count(*) FROM $t")" = 0 ]; check $? "$t: the crash emptied the unlogged table"
  [ "$(Q -c "SET enable_seqscan = off" -c "SELECT count(*) FROM (SELECT id FROM $t ORDER BY v <-> '[0,0,0,0,0,0,0,0]' LIMIT 5) s")" = 0 ]
  check $? "$t: the reset index is empty and answers"
  fill $t 1 3000
  m=$(mismatches $t); [ "$m" = 0 ]; check $? "$t: rows inserted after the reset are found; every leaf probed equals the exact scan (mismatches: $m)"
  leaves=$(Q -c "SELECT leaves FROM vectordb_index_stats('${t}_v')")
  [ "${leaves:-0}" -gt 1 ]; check $? "$t: the reset index grows its tree again ($leaves leaves)"
  [ "$(Q -c "SELECT vectordb_check('${t}_v')" 2>"$work/check.log")" = t ]
  check $? "$t: vectordb_check passes after the reset$( [ -s "$work/check.log" ] && echo " ($(head -c 300 "$work/check.log" | tr '\n' ' '))")"
done
Q -c "DROP TABLE u_mmap, u_pages" >/dev/null; check $? "the tables drop"
finish_tap
