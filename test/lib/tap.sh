# Shared by the server-level test scripts (test/scripts, test/stress): the
# throwaway cluster's settings, TAP output and small psql helpers. Source it
# from the repository root after `cd`.
# shellcheck disable=SC1091
. build/cluster.env
# pg_bin, as_owner, free_port, and init/start/stop of servers of a script's own.
. scripts/lib/servers.sh

count=0
failures=0
# check STATUS DESCRIPTION: one TAP line, "ok" when STATUS is 0.
check() {
  count=$((count + 1))
  if [ "$1" -eq 0 ]; then
    echo "ok $count - $2"
  else
    echo "not ok $count - $2"
    failures=$((failures + 1))
  fi
}

# Unaligned, quiet psql that stops at the first error.
sql() { psql -AtqX -v ON_ERROR_STOP=1 "$@"; }

# Drops and creates database $1 and makes it the default for psql.
fresh_database() {
  psql -qX -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
  export PGDATABASE=$1
}

# Prints the TAP plan and exits non-zero if a check failed.
finish_tap() {
  echo "1..$count"
  [ "$failures" -eq 0 ]
  exit $?
}

# knn_load PORT [vectordb_load options]: build/cmake/vectordb_load against the
# server or pooler at 127.0.0.1:PORT, its query vectors those of the test's
# table queries (v, in qid order).
knn_load() {
  local port=$1
  shift
  build/cmake/vectordb_load --conninfo "host=127.0.0.1 port=$port user=postgres dbname=postgres" \
    --queries-from "SELECT v FROM queries ORDER BY qid" "$@"
}
