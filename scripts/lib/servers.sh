# Shared by the scripts that start servers of their own on loopback
# (scripts/cluster.sh, replicas.sh, shards.sh, bench-scaleout.sh, and the
# tests through test/lib/tap.sh): PostgreSQL 15's programs, running them as
# the cluster owner, free ports, one initdb/start/stop of a throwaway server,
# psql on one of them, and waiting for a standby. Source it; it sets no shell
# options of its own.
pg_bin=$(/usr/lib/postgresql/15/bin/pg_config --bindir 2>/dev/null || pg_config --bindir)

# Runs a command as the servers' owner (postgres when we are root: initdb refuses root).
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# Prints the first TCP port from $1 upward that nothing listens on at 127.0.0.1
# and that is not in the space-separated list $2 (ports already handed out).
# Start below the kernel's ephemeral range (32768 up, by default): a port in it
# may be the local end of some client connection, which no check here sees and
# which makes the server's bind fail ("could not create any TCP/IP sockets").
free_port() {
  local port=$1
  while [ "$port" -lt 65000 ]; do
    if [[ " ${2:-} " != *" $port "* ]] && ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
    port=$((port + 1))
  done
  echo "no free port found" >&2
  return 1
}

# init_server DATA_DIR PORT SOCKET_DIR [EXTRA_CONF]: initdb (trust, UTF8, C
# locale) and the settings every throwaway server here shares; EXTRA_CONF is
# appended to postgresql.conf.
init_server() {
  as_owner "$pg_bin/initdb" -D "$1" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$1.initdb.log" 2>&1 ||
    { cat "$1.initdb.log" >&2; return 1; }
  cat >>"$1/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $2
unix_socket_directories = '$3'
shared_buffers = '${VECTORDB_SHARED_BUFFERS:-256MB}'
maintenance_work_mem = '512MB'
max_wal_size = '2GB'
fsync = ${VECTORDB_FSYNC:-off}
logging_collector = off
${4:-}
CONF
}

# start_server DATA_DIR [SECONDS]: pg_ctl start (waiting 120 s unless told),
# its log beside the data directory (DATA_DIR.log).
start_server() {
  as_owner "$pg_bin/pg_ctl" -D "$1" -l "$1.log" -w -t "${2:-120}" start >/dev/null || { tail -n 20 "$1.log" >&2; return 1; }
}

# stop_server DATA_DIR [MODE]: pg_ctl stop (fast unless told) if it runs.
stop_server() {
  [ -f "$1/postmaster.pid" ] || return 0
  as_owner "$pg_bin/pg_ctl" -D "$1" -m "${2:-fast}" -w -t 60 stop >/dev/null 2>&1 ||
    as_owner "$pg_bin/pg_ctl" -D "$1" -m immediate -w stop >/dev/null 2>&1 || true
}

# psql_on PORT [psql arguments]: unaligned, quiet psql as postgres to the
# postgres database of the server on 127.0.0.1:PORT, stopping at the first error.
psql_on() {
  local port=$1
  shift
  psql -AtqX -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"
}

# replay_caught_up PRIMARY_PORT STANDBY_PORT [SECONDS]: waits (60 s unless told)
# until the standby has replayed all the WAL the primary has written so far;
# status 1 if it has not by then.
replay_caught_up() {
  local target tries
  target=$(psql_on "$1" -c "SELECT pg_current_wal_lsn()")
  tries=$((${3:-60} * 10))
  for _ in $(seq "$tries"); do
    [ "$(psql_on "$2" -c "SELECT pg_last_wal_replay_lsn() >= '$target'" 2>/dev/null)" = t ] &&
      return 0
    sleep 0.1
  done
  return 1
}
