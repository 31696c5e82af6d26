#!/usr/bin/env bash
# The C++ style check .ci/run makes: every tracked C++ file as clang-format
# (with .clang-format) would write it, and every file as .editorconfig asks
# (no trailing whitespace, a final newline). `scripts/check-format.sh --fix`
# rewrites the C++ files instead.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh >/dev/null || exit 1
mapfile -t cpp < <(git ls-files '*.cpp' '*.h')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${cpp[@]}"
  exit 0
fi
status=0
if ! clang-format --dry-run --Werror "${cpp[@]}" 2>/tmp/check-format.$$; then
  grep -m 20 "warning:" /tmp/check-format.$$ >&2
  echo "check-format: C++ files differ from .clang-format (run scripts/check-format.sh --fix)" >&2
  status=1
fi
rm -f /tmp/check-format.$$
# Trailing whitespace and final newlines in the text files we write.
mapfile -t text < <(git ls-files '*.cpp' '*.h' '*.sh' '*.sql' '*.md' 'Makefile' 'CMakeLists.txt' '.ci/run')
if grep -n -E '[[:space:]]+$' "${text[@]}" /dev/null | grep -v '^expected/' | head -5 | grep .; then
  echo "check-format: trailing whitespace (.editorconfig)" >&2
  status=1
fi
for f in "${text[@]}"; do
  [ -s "$f" ] && [ -n "$(tail -c 1 "$f")" ] && { echo "check-format: $f lacks a final newline (.editorconfig)" >&2; status=1; }
done
[ "$status" = 0 ] && echo "check-format: ${#cpp[@]} C++ files and ${#text[@]} text files follow .clang-format and .editorconfig"
exit "$status"
