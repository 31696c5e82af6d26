#!/usr/bin/env bash
# `make test`: installs what is missing, builds and installs the extension,
# starts a throwaway cluster and runs every suite: the C++ unit tests (ctest),
# the regression tests (pg_regress), the behaviour tests (pgTAP, pg_prove) and
# the server-level scripts in test/scripts (TAP output).
# The cluster is stopped whatever happens. The last line is "N passed, N failed",
# summing ctest cases, pg_regress files, pgTAP assertions and script checks (", N skipped"
# counts GoogleTest cases that skip themselves, e.g. for a CPU feature).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
started=$(date +%s)
logdir="$root/build/test-logs"
mkdir -p "$logdir"

total_passed=0
total_failed=0
total_skipped=0
report() {  # suite passed failed [skipped]
  local skipped=${4:-0}
  printf '%-12s %5d passed, %d failed, %d skipped\n' "$1:" "$2" "$3" "$skipped"
  total_passed=$((total_passed + $2))
  total_failed=$((total_failed + $3))
  total_skipped=$((total_skipped + skipped))
}
# report_tap SUITE LOG RC: counts TAP "ok"/"not ok" lines, and a script that
# skipped itself ("1..0 # SKIP why") as one skipped; a failing exit with no
# failed line (a crash, a bad plan) still counts as one failure.
report_tap() {
  local passed failed skipped
  passed=$(grep -cE '^ok ' "$2")
  failed=$(grep -cE '^not ok ' "$2")
  skipped=$(grep -cE '^1\.\.0 # SKIP' "$2")
  if [ "$3" -ne 0 ] && [ "$failed" -eq 0 ]; then
    tail -n 20 "$2"; failed=1
  fi
  report "$1" "$passed" "$failed" "$skipped"
}
finish() {
  echo "make test took $(( $(date +%s) - started )) s; logs in build/test-logs/"
  echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
  [ "$total_failed" -eq 0 ]
  exit $?
}

echo "== setting up packages"
if ! bash scripts/setup-deps.sh; then report setup 0 1; finish; fi

echo "== layout: src/core includes no PostgreSQL header"
if grep -nE '#\s*include\s*[<"](postgres|fmgr|funcapi|miscadmin|pg_config)[^">]*[">]|#\s*include\s*[<"](access|catalog|utils|storage|executor|nodes|commands|lib|libpq|common|port)/' src/core/*.h src/core/*.cpp; then
  report layout 0 1
else
  report layout 1 0
fi

echo "== building and installing the extension"
if ! { make -j"$(nproc)" >"$logdir/build.log" 2>&1 && make install >>"$logdir/build.log" 2>&1; }; then
  tail -n 40 "$logdir/build.log"
  report build 0 1
  finish
fi

echo "== C++ unit tests (ctest)"
bash scripts/unit-tests.sh >"$logdir/ctest.log" 2>&1
ctest_rc=$?
tail -n 3 "$logdir/ctest.log"
line=$(grep -E '[0-9]+ tests failed out of [0-9]+' "$logdir/ctest.log" | tail -n 1)
if [ -n "$line" ]; then
  failed=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
  all=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<<"$line")
  skipped=$(grep -c '(Skipped)' "$logdir/ctest.log")
  passed=$((all - failed - skipped))
  # A non-zero exit with no failed case (e.g. a crash) still counts as a failure.
  if [ "$ctest_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
  report ctest "$passed" "$failed" "$skipped"
else
  tail -n 40 "$logdir/ctest.log"
  report ctest 0 1
fi

echo "== starting a throwaway cluster"
if ! bash scripts/cluster.sh start; then report cluster 0 1; finish; fi
trap 'bash "$root/scripts/cluster.sh" stop' EXIT
# shellcheck disable=SC1091
. build/cluster.env

echo "== regression tests (pg_regress)"
make installcheck >"$logdir/regress.log" 2>&1
regress_rc=$?
grep -E '\.\.\. (ok|FAILED|failed)' "$logdir/regress.log" || true
passed=$(grep -cE '\.\.\. ok' "$logdir/regress.log")
failed=$(grep -cE '\.\.\. (FAILED|failed)' "$logdir/regress.log")
if [ "$regress_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  tail -n 20 "$logdir/regress.log"; failed=1
fi
[ "$failed" -eq 0 ] || { echo "-- regression.diffs (head):"; head -n 60 regression.diffs 2>/dev/null; }
report pg_regress "$passed" "$failed"

echo "== behaviour tests (pgTAP)"
tapdb=vectordb_tap
psql -q -X -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $tapdb" -c "CREATE DATABASE $tapdb" >/dev/null &&
  psql -q -X -d "$tapdb" -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION vectordb" >/dev/null
pg_prove --verbose -d "$tapdb" test/pgtap/*.sql >"$logdir/pgtap.log" 2>&1
tap_rc=$?
grep -E '^(not ok|test/pgtap/)|^Result' "$logdir/pgtap.log" || true
report_tap pgtap "$logdir/pgtap.log" "$tap_rc"

echo "== server-level tests (progress, cancel, damaged pages, hot standby, tools; crash and concurrency, short)"
: >"$logdir/scripts.log"
scripts_rc=0
# test/stress runs here in short versions; `make stress` runs them long.
for script in test/scripts/*.sh test/stress/crash.sh test/stress/concurrency.sh test/stress/standby_heal.sh; do
  echo "# $script" >>"$logdir/scripts.log"
  CRASH_RUNS=3 CONCURRENCY_SECONDS=30 STANDBY_ROWS=20000 STANDBY_DIMS=64 STANDBY_INSERTS=2000 STANDBY_SECONDS=5 \
    STANDBY_MEMORY_MB=0 bash "$script" >>"$logdir/scripts.log" 2>&1 || scripts_rc=1
done
grep -E '^(not ok|# |1\.\.0 # SKIP)' "$logdir/scripts.log" || true
report_tap scripts "$logdir/scripts.log" "$scripts_rc"

finish
