#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined) and
# runs each for FUZZ_SECONDS (default 60) from a small seed corpus. Prints one
# line per target and a summary: executions, crashes.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-60}
out=build/fuzz
mkdir -p "$out"
cxx=$(command -v clang++-14 || command -v clang++)
flags="-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I src"
total_execs=0
crashes=0

# Seeds: valid and broken vectors; a valid store written by the core itself.
mkdir -p "$out/corpus_text" "$out/corpus_store" "$out/corpus_sparse"
printf '[1,2,3]' >"$out/corpus_text/valid"
printf ' [ 1.5e3 , -2 ,0.25 ] ' >"$out/corpus_text/spaces"
printf '[1,,2]' >"$out/corpus_text/empty_element"
printf '[1e40]' >"$out/corpus_text/overflow"
printf '{1:1.5,3:2}/5' >"$out/corpus_sparse/valid"
printf ' { 3 : -2 , 1:0 } / 5 ' >"$out/corpus_sparse/spaces"
printf '{2:1,2:3}/2' >"$out/corpus_sparse/duplicate"

# The store converts float16 records with the half-precision code, which
# links its kernels: built as the project builds them (g++, each file with its
# instruction set's flags; clang 14 lacks a CPU-feature test they use), not
# instrumented themselves.
half_objects=
for src in half half_avx2 distance distance_avx2 distance_avx512; do
  isa=
  case $src in
    *_avx2) isa="-mavx2 -mfma -mf16c" ;;
    *_avx512) isa="-mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vpopcntdq" ;;
  esac
  # shellcheck disable=SC2086
  g++ -std=c++17 -O2 -fPIC -I src $isa -c "src/core/$src.cpp" -o "$out/$src.o" >"$out/$src.build.log" 2>&1 ||
    { cat "$out/$src.build.log"; exit 1; }
  half_objects="$half_objects $out/$src.o"
done

build() {  # name sources...
  local name=$1; shift
  $cxx $flags "$@" -o "$out/$name" >"$out/$name.build.log" 2>&1
}
build fuzz_vector_text test/fuzz/fuzz_vector_text.cpp src/core/vector_text.cpp src/core/text_scan.cpp ||
  { cat "$out/fuzz_vector_text.build.log"; exit 1; }
build fuzz_sparse_text test/fuzz/fuzz_sparse_text.cpp src/core/sparse_vector.cpp src/core/text_scan.cpp ||
  { cat "$out/fuzz_sparse_text.build.log"; exit 1; }
# shellcheck disable=SC2086
build fuzz_vector_store test/fuzz/fuzz_vector_store.cpp src/core/vector_store.cpp $half_objects ||
  { cat "$out/fuzz_vector_store.build.log"; exit 1; }
# Real stores as seeds, float32 and float16: made with the core's own writer.
cat >"$out/make_seed.cpp" <<'CPP'
#include "core/vector_store.h"
#include <string>
int main(int, char** argv) {
    const auto element = std::string(argv[2]) == "16" ? vectordb::StoreElement::Float16 : vectordb::StoreElement::Float32;
    auto s = vectordb::VectorStore::create(argv[1], 3, vectordb::StoreIdentity{1, 2, 3}, element);
    const float v[3] = {1, 2, 3};
    for (int i = 0; i < 4; i++) s.append(i, v);
    s.sync();
}
CPP
rm -f "$out/corpus_store/valid" "$out/corpus_store/valid16"
# shellcheck disable=SC2086
$cxx $flags -fno-sanitize=fuzzer "$out/make_seed.cpp" src/core/vector_store.cpp $half_objects -o "$out/make_seed" &&
  "$out/make_seed" "$out/corpus_store/valid" 32 && "$out/make_seed" "$out/corpus_store/valid16" 16

for target in fuzz_vector_text fuzz_sparse_text fuzz_vector_store; do
  case $target in
    fuzz_vector_text) corpus="$out/corpus_text" ;;
    fuzz_sparse_text) corpus="$out/corpus_sparse" ;;
    fuzz_vector_store) corpus="$out/corpus_store" ;;
  esac
  "$out/$target" -max_total_time="$seconds" -max_len=8192 -print_final_stats=1 "$corpus" >"$out/$target.log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$out/$target.log" | tail -n 1)
  total_execs=$((total_execs + ${execs:-0}))
  if [ "$rc" -ne 0 ]; then
    crashes=$((crashes + 1))
    echo "fuzz $target: FAILED after ${execs:-?} executions (see $out/$target.log)"
    grep -E "ERROR|SUMMARY" "$out/$target.log" | head -n 5
  else
    echo "fuzz $target: ${execs:-?} executions in $seconds s, no crash"
  fi
done
echo "# fuzz summary: $total_execs executions, $crashes crashing targets"
[ "$crashes" -eq 0 ]
