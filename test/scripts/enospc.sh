#!/usr/bin/env bash
# A full disk while writing the sidecar: vectordb.sidecar_dir points at a 2 MB
# tmpfs. A CREATE INDEX that does not fit fails with an I/O error and leaves
# no index and no file; an INSERT that cannot append succeeds with a warning
# (the table holds the vector, scans rerank it from there) and leaves table
# and index consistent; freeing space lets appends go on. Needs root (to
# mount the tmpfs); skipped otherwise. Prints TAP.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP mounting a tmpfs needs root"; exit 0; fi

tiny=$(mktemp -d /tmp/vectordb-tiny.XXXXXX)
if ! mount -t tmpfs -o size=2m,mode=0700,uid="$(id -u postgres)",gid="$(id -g postgres)" tmpfs "$tiny"; then
  echo "1..0 # SKIP could not mount a tmpfs"; rmdir "$tiny"; exit 0
fi
cleanup() {
  psql -qX -d postgres -c "LOAD 'vectordb'" -c "ALTER SYSTEM RESET vectordb.sidecar_dir" -c "SELECT pg_reload_conf()" >/dev/null 2>&1
  umount "$tiny" 2>/dev/null; rmdir "$tiny" 2>/dev/null
}
trap cleanup EXIT

db=vectordb_enospc
fresh_database $db
sql -c "CREATE EXTENSION vectordb"
# ALTER SYSTEM knows the setting only once the library is loaded.
psql -qX -c "LOAD 'vectordb'" -c "ALTER SYSTEM SET vectordb.sidecar_dir = '$tiny'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
sql -c "CREATE TABLE big (id int, v vector(256))" \
    -c "INSERT INTO big SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 256) WHERE i > 0)::vector
        FROM generate_series(1, 3000) i"   # 3 MB of vectors: more than the tmpfs holds

err=$(psql -AtqX -c "CREATE INDEX big_v ON big USING vtree (v)" 2>&1)
echo "$err" | grep -q "No space left on device"; check $? "CREATE INDEX on a full disk fails with the OS's reason ($(echo "$err" | head -c 120))"
[ "$(sql -c "SELECT count(*) FROM pg_class WHERE relname = 'big_v'")" = 0 ]; check $? "no index is left behind"
[ -z "$(ls -A "$tiny")" ]; check $? "no sidecar file is left behind"

# A small index that fits, then a disk filled up by something else.
sql -c "CREATE TABLE small (id int, v vector(256))" \
    -c "INSERT INTO small SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 256) WHERE i > 0)::vector
        FROM generate_series(1, 200) i" -c "CREATE INDEX small_v ON small USING vtree (v)"
check $? "an index that fits is built"
dd if=/dev/zero of="$tiny/filler" bs=4096 status=none 2>/dev/null
# The sidecar's last page may still have room: insert until an append needs a
# new one. The table holds every vector, so an INSERT that cannot append still
# succeeds: its entry has no record and scans rerank it from the table.
warned=""
failed=0
for i in $(seq 901 920); do
  if ! out=$(psql -AtqX -c "INSERT INTO small SELECT $i, (SELECT array_agg(random()::real) FROM generate_series(1, 256))::vector" 2>&1); then
    failed=1
  fi
  echo "$out" | grep -q "No space left on device" && warned="$warned $i"
done
[ "$failed" = 0 ]; check $? "INSERTs succeed on a full sidecar disk"
[ -n "$warned" ]; check $? "and warn with the OS's reason (warned for:${warned:- none})"
[ "$(sql -c "SELECT count(*) FROM small WHERE id BETWEEN 901 AND 920")" = 20 ]; check $? "every inserted row is in the table"
exact=$(sql -c "SET enable_indexscan = off" -c "SELECT string_agg(id::text, ',') FROM (SELECT id FROM small ORDER BY v <-> (SELECT v FROM small WHERE id = 915) LIMIT 5) s")
indexed=$(sql -c "SET enable_seqscan = off" -c "SET vtree.probes = 100000" -c "SELECT string_agg(id::text, ',') FROM (SELECT id FROM small ORDER BY v <-> (SELECT v FROM small WHERE id = 915) LIMIT 5) s" 2>/dev/null)
[ -n "$exact" ] && [ "$exact" = "$indexed" ]; check $? "rows without a record are found through the index, exactly ($indexed)"
[ "$(sql -c "SELECT vectordb_check('small_v')" 2>/dev/null)" = t ]; check $? "vectordb_check passes after the appends that failed"
rm -f "$tiny/filler"
sql -c "INSERT INTO small SELECT 1000, (SELECT array_agg(random()::real) FROM generate_series(1, 256))::vector"
check $? "once space is freed, inserts work again"
found=$(sql -c "SET enable_seqscan = off" -c "SELECT id FROM small ORDER BY v <-> (SELECT v FROM small WHERE id = 1000) LIMIT 1")
[ "$found" = 1000 ]; check $? "the new row is found through the index"
[ "$(sql -c "SELECT vectordb_check('small_v')" 2>/dev/null)" = t ]; check $? "vectordb_check passes at the end"

psql -qX -d postgres -c "DROP DATABASE $db" >/dev/null 2>&1
finish_tap
