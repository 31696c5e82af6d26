#!/usr/bin/env bash
# pgvector's client libraries against vectordb: test/clients/node/app.js, an
# application written for pgvector (vector, halfvec, bit and sparsevec columns
# side by side), run unchanged but for the extension's name with two client
# stacks from npm, node-postgres + pgvector-node and Knex + pgvector-node.
# Skips, saying why, when npm or its registry cannot be reached.
# Runs against the throwaway cluster in build/cluster.env and prints TAP.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "1..0 # SKIP client libraries: node and npm are not installed (scripts/setup-deps.sh installs them)"
  exit 0
fi
# Pinned: the versions these checks were written against.
dir=build/clients/node
mkdir -p "$dir"
cat >"$dir/package.json" <<'JSON'
{ "private": true, "dependencies": { "pg": "8.23.1", "pgvector": "0.2.1", "knex": "3.3.0" } }
JSON
if ! (cd "$dir" && timeout 300 npm install --no-audit --no-fund --loglevel=error >npm-install.log 2>&1); then
  echo "1..0 # SKIP client libraries: npm install failed (registry unreachable?): $(tail -n 1 "$dir/npm-install.log")"
  exit 0
fi

fresh_database vectordb_clients
NODE_PATH=$PWD/$dir/node_modules node test/clients/node/app.js
