#!/usr/bin/env bash
# Builds the C++ core, its unit tests and benchmarks with CMake, then runs ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build/cmake -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/cmake -j"$(nproc)" >/dev/null
cd build/cmake
ctest --output-on-failure -j"$(nproc)"
