#!/usr/bin/env bash
# The differential harness (test/differential/differential.cpp): random,
# seeded histories of vtree tables, every query compared with an exact scan.
# Two harness processes run at once, each in its own database, so backends of
# two databases build, write and scan side by side. Prints TAP (one line per
# case; a failing case prints the command that replays it).
#   DIFF_CASES  cases per database (default 40)
#   DIFF_SEED   first seed (default 1; the second database starts 100000 later)
#   DIFF_SECONDS  stop starting cases after this long (default: no limit)
# Every run also replays the seeds in test/differential/regression-seeds: cases
# that once failed, kept so that what they found stays fixed.
# Needs build/cmake/vectordb_differential (built by make test's cmake step).
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
bin=build/cmake/vectordb_differential
if [ ! -x "$bin" ]; then echo "not ok 1 - $bin is not built (libpq missing?)"; echo "1..1"; exit 1; fi

cases=${DIFF_CASES:-40}
seed=${DIFF_SEED:-1}
limit=()
[ -n "${DIFF_SECONDS:-}" ] && limit=(--max-seconds "$DIFF_SECONDS")
out=$(mktemp -d /tmp/vectordb-diff.XXXXXX)
trap 'rm -rf "$out"' EXIT
for db in vectordb_diff_a vectordb_diff_b; do fresh_database $db >/dev/null; done

PGDATABASE=vectordb_diff_a "$bin" --seed "$seed" --cases "$cases" "${limit[@]}" >"$out/a.tap" 2>"$out/a.err" &
pid_a=$!
PGDATABASE=vectordb_diff_b "$bin" --seed $((seed + 100000)) --cases "$cases" "${limit[@]}" >"$out/b.tap" 2>"$out/b.err" &
pid_b=$!
wait $pid_a; rc_a=$?
wait $pid_b; rc_b=$?

# Renumber both runs into one TAP stream; keep the diagnostics and summaries.
for part in a b; do
  while IFS= read -r line; do
    case "$line" in
      "ok "*) check 0 "db $part: ${line#ok * - }" ;;
      "not ok "*) check 1 "db $part: ${line#not ok * - }" ;;
      "#"*) echo "$line" ;;
    esac
  done <"$out/$part.tap"
done
for part in a b; do
  rc_var=rc_$part
  if [ "${!rc_var}" -ne 0 ] && ! grep -q '^not ok' "$out/$part.tap"; then
    tail -n 5 "$out/$part.err"
    check 1 "db $part: the harness exited with ${!rc_var}"
  fi
done
# Cases that once failed (one seed per line; '#' starts a comment).
while read -r regression _; do
  case "$regression" in '' | '#'*) continue ;; esac
  line=$(PGDATABASE=vectordb_diff_a "$bin" --seed "$regression" --cases 1 --dims 1,3,8,32,128,768,2000,16000 2>&1 |
    grep -E '^(ok|not ok) ' | head -n 1)
  case "$line" in
    "ok "*) check 0 "regression seed: ${line#ok * - }" ;;
    *) check 1 "regression seed $regression: ${line:-no result}" ;;
  esac
done <test/differential/regression-seeds
for db in vectordb_diff_a vectordb_diff_b; do psql -qX -d postgres -c "DROP DATABASE $db" >/dev/null 2>&1; done
finish_tap
