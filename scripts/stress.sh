#!/usr/bin/env bash
# `make stress`: the long reliability runs. Sets everything up (plus clang and
# libFuzzer), starts a throwaway cluster and runs:
#   - test/stress/crash.sh with STRESS_CRASH_RUNS (default 30) SIGKILLs, two in three with a sidecar power loss;
#   - test/stress/concurrency.sh for STRESS_SECONDS (default 300) with 8 clients;
#   - test/stress/standby_heal.sh: a primary and a hot standby in a memory cgroup smaller
#     than the vectors, healing after 10,000 inserts and after a REINDEX (STANDBY_* settings);
#   - the libFuzzer targets in test/fuzz for STRESS_FUZZ_SECONDS each (default 120);
#   - the differential harness for STRESS_DIFF_SECONDS (default 600) in two
#     databases at once, from seed STRESS_DIFF_SEED (default: the clock; printed).
# Ends with a summary: runs, kills survived, rows checked, fuzz executions, failures.
set -uo pipefail
cd "$(dirname "$0")/.."
logdir=build/stress-logs
mkdir -p "$logdir"
failures=0

echo "== setting up packages"
bash scripts/setup-deps.sh --stress || exit 1
echo "== building and installing vectordb"
{ make -j"$(nproc)" && make install; } >"$logdir/build.log" 2>&1 || { tail -n 40 "$logdir/build.log"; exit 1; }
bash scripts/cluster.sh start || exit 1
trap 'bash scripts/cluster.sh stop' EXIT

echo "== crash recovery (${STRESS_CRASH_RUNS:-30} runs)"
CRASH_RUNS=${STRESS_CRASH_RUNS:-30} bash test/stress/crash.sh >"$logdir/crash.log" 2>&1 || failures=$((failures + 1))
grep -E '^(not ok|# )' "$logdir/crash.log"

echo "== concurrency (${STRESS_SECONDS:-300} s, 8 clients)"
CONCURRENCY_SECONDS=${STRESS_SECONDS:-300} bash test/stress/concurrency.sh >"$logdir/concurrency.log" 2>&1 ||
  failures=$((failures + 1))
grep -E '^(not ok|# )' "$logdir/concurrency.log"

echo "== a hot standby healing its sidecar, in a memory cgroup smaller than the vectors"
bash test/stress/standby_heal.sh >"$logdir/standby.log" 2>&1 || failures=$((failures + 1))
grep -E '^(not ok|# )' "$logdir/standby.log"

echo "== fuzzing (${STRESS_FUZZ_SECONDS:-120} s per target)"
FUZZ_SECONDS=${STRESS_FUZZ_SECONDS:-120} bash test/fuzz/run.sh >"$logdir/fuzz.log" 2>&1 || failures=$((failures + 1))
grep -E '^(# |fuzz)' "$logdir/fuzz.log"

diff_seed=${STRESS_DIFF_SEED:-$(date +%s)}
echo "== differential harness (${STRESS_DIFF_SECONDS:-600} s, two databases, seed $diff_seed)"
if ! cmake -S . -B build/cmake -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ||
   ! cmake --build build/cmake -j"$(nproc)" --target vectordb_differential >"$logdir/differential-build.log" 2>&1; then
  tail -n 20 "$logdir/differential-build.log"; failures=$((failures + 1))
fi
DIFF_CASES=1000000 DIFF_SEED=$diff_seed DIFF_SECONDS=${STRESS_DIFF_SECONDS:-600} bash test/scripts/differential.sh \
  >"$logdir/differential.log" 2>&1 || failures=$((failures + 1))
grep -E '^(not ok|#   )' "$logdir/differential.log"
grep '^# differential summary' "$logdir/differential.log"

crash=$(grep '^# crash summary' "$logdir/crash.log" | sed 's/^# crash summary: //')
conc=$(grep '^# concurrency summary' "$logdir/concurrency.log" | sed 's/^# concurrency summary: //')
fuzz=$(grep '^# fuzz summary' "$logdir/fuzz.log" | sed 's/^# fuzz summary: //')
standby=$(grep '^# standby summary' "$logdir/standby.log" | sed 's/^# standby summary: //')
echo
diffs=$(grep '^# differential summary' "$logdir/differential.log" | sed 's/^# differential summary: //' | paste -sd '+' -)
echo "stress summary: crash: ${crash:-not run}; concurrency: ${conc:-not run}; standby: ${standby:-not run}; fuzz: ${fuzz:-not run}; differential: ${diffs:-not run}; failed suites: $failures"
[ "$failures" -eq 0 ]
