#!/usr/bin/env bash
# Installs, with apt-get, every Debian package the build, tests and demo need
# that is not there yet. Runs `apt-get update` only when something is missing,
# so a second run on a prepared machine costs nothing.
set -euo pipefail

packages=(
  build-essential            # g++, make
  cmake
  postgresql-server-dev-15   # PGXS and server headers
  libpq-dev                  # libpq for the benchmark and demo drivers
  postgresql-15-pgtap        # pgTAP extension
  libtap-parser-sourcehandler-pgtap-perl  # pg_prove
  libgtest-dev               # GoogleTest for the core unit tests
  libbenchmark-dev           # Google Benchmark for core micro-benchmarks
  util-linux                 # runuser, to run the throwaway cluster as postgres
  gnuplot-nox                # the recall/QPS plot of `make bench`
  clang-format               # the style check of .ci/run (scripts/check-format.sh)
  pgpool2                    # read replicas behind a pooler (scripts/replicas.sh)
)

# The client-library checks (test/scripts/client_libraries.sh) run node and npm;
# a machine that has them from elsewhere keeps its own.
if ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

# `make stress` also fuzzes, with clang's libFuzzer.
if [ "${1:-}" = "--stress" ]; then
  packages+=(clang-14 libfuzzer-14-dev)
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-deps: missing packages: ${missing[*]}" >&2
  echo "setup-deps: run as root (or install them) and try again" >&2
  exit 1
fi

echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup-deps: done"
