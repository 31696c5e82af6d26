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

# replay_caught_up PRIMARY_PORT STANDBY_PORT [SECONDS]: waits (60 s unless told)
# until the standby has replayed all the WAL the primary has written so far;
# status 1 if it has not by then.
replay_caught_up() {
  local target tries
  target=$(psql -AtqX -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "SELECT pg_current_wal_lsn()")
  tries=$((${3:-60} * 10))
  for _ in $(seq "$tries"); do
    [ "$(psql -AtqX -h 127.0.0.1 -p "$2" -U postgres -d postgres -c "SELECT pg_last_wal_replay_lsn() >= '$target'" 2>/dev/null)" = t ] &&
      return 0
    sleep 0.1
  done
  return 1
}
