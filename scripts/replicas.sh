#!/usr/bin/env bash
# Read replicas behind a pooler, on loopback: a primary, REPLICAS_STANDBYS
# (default 2) streaming hot standbys made with pg_basebackup, and pgpool-II in
# streaming-replication mode with load balancing. Every node has vectordb
# (the same installed build); CREATE EXTENSION on the primary reaches the
# standbys through WAL, and each standby's vtree sidecars heal themselves.
#
#   scripts/replicas.sh start   # stop a set an earlier run left, start a new one
#   scripts/replicas.sh stop    # stop every node and pgpool, remove the directories
#   scripts/replicas.sh env     # print the set's export lines
#
# Connect to pgpool (REPLICAS_PGPOOL_PORT): writes go to the primary, reads
# are spread over the standbys, statement by statement. How it is set up, and
# why (README, "Read replicas behind pgpool-II"):
#   - backend_weight0 = 0: the primary takes writes only (REPLICAS_PRIMARY_WEIGHT);
#   - sr_check_period = 1, delay_threshold = REPLICAS_DELAY_THRESHOLD (default
#     1 byte) with prefer_lower_delay_standby: a standby that pgpool's last
#     check (at most a second old) saw behind the primary gets no reads;
#   - health_check_period = 1 and auto_failback: a stopped standby is detached
#     within a second or two and attached again once it streams again.
# The set's state is in build/replicas.env (REPLICAS_STATE to put it elsewhere).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib/servers.sh"
state_file=${REPLICAS_STATE:-$here/build/replicas.env}
standbys=${REPLICAS_STANDBYS:-2}

stop_set() {
  [ -f "$state_file" ] || return 0
  # shellcheck disable=SC1090
  . "$state_file"
  if [ -f "$REPLICAS_DIR/pgpool.pid" ]; then
    as_owner pgpool -f "$REPLICAS_DIR/pgpool.conf" -m fast stop >/dev/null 2>&1 || true
    kill "$(cat "$REPLICAS_DIR/pgpool.pid" 2>/dev/null)" 2>/dev/null || true
  fi
  for data in "$REPLICAS_DIR"/standby* "$REPLICAS_DIR/primary"; do
    [ -d "$data" ] && stop_server "$data" immediate
  done
  rm -rf "$REPLICAS_DIR"
  rm -f "$state_file"
}

# Waits until pgpool answers and shows every node up; status 1 after 60 s.
wait_for_pgpool() {  # port count
  for _ in $(seq 600); do
    if [ "$(psql_on "$1" -c "SHOW POOL_NODES" 2>/dev/null |
            awk -F'|' '$4 == "up" { n++ } END { print n + 0 }')" = "$2" ]; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

start_set() {
  stop_set
  command -v pgpool >/dev/null || { echo "replicas: pgpool-II is not installed (scripts/setup-deps.sh installs it)" >&2; return 1; }
  mkdir -p "$(dirname "$state_file")"
  local base ports="" primary_port pool_port pcp_port
  base=$(mktemp -d /tmp/vectordb-replicas.XXXXXX)
  chmod 755 "$base"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$base"
  primary_port=$(free_port "${VECTORDB_REPLICAS_PORT:-31340}"); ports="$primary_port"

  # wal_keep_size lets a standby that was stopped catch up again without a
  # replication slot (slots would keep WAL forever for a standby that is gone);
  # hot_standby_feedback keeps the primary's VACUUM from cancelling standby reads.
  init_server "$base/primary" "$primary_port" "$base" "wal_level = replica
max_wal_senders = 10
wal_keep_size = '1GB'
hot_standby = on
hot_standby_feedback = on
max_connections = 150"
  start_server "$base/primary"
  local i port standby_ports=()
  for i in $(seq "$standbys"); do
    port=$(free_port $((primary_port + 1)) "$ports"); ports="$ports $port"
    # application_name names the standby in pg_stat_replication, which pgpool
    # reads for SHOW POOL_NODES' replication_state.
    as_owner "$pg_bin/pg_basebackup" -D "$base/standby$i" -R -X stream \
      -d "host=127.0.0.1 port=$primary_port user=postgres application_name=standby$i" >"$base/standby$i.basebackup.log" 2>&1 ||
      { cat "$base/standby$i.basebackup.log" >&2; return 1; }
    echo "port = $port" >>"$base/standby$i/postgresql.conf"
    start_server "$base/standby$i"
    standby_ports+=("$port")
  done

  pool_port=$(free_port $((primary_port + 10)) "$ports"); ports="$ports $pool_port"
  pcp_port=$(free_port $((pool_port + 1)) "$ports")
  {
    cat <<CONF
backend_clustering_mode = 'streaming_replication'
listen_addresses = '127.0.0.1'
port = $pool_port
socket_dir = '$base'
pcp_listen_addresses = '127.0.0.1'
pcp_port = $pcp_port
pcp_socket_dir = '$base'
wd_ipc_socket_dir = '$base'
pid_file_name = '$base/pgpool.pid'
logdir = '$base'
log_destination = 'stderr'
# One pooled connection per child and backend: num_init_children clients at once.
num_init_children = ${REPLICAS_PGPOOL_CHILDREN:-32}
max_pool = 1
enable_pool_hba = off
pool_passwd = '$base/pool_passwd'
load_balance_mode = on
statement_level_load_balance = on
sr_check_period = 1
sr_check_user = 'postgres'
sr_check_password = ''
delay_threshold = ${REPLICAS_DELAY_THRESHOLD:-1}
prefer_lower_delay_standby = on
health_check_period = 1
health_check_timeout = 5
health_check_user = 'postgres'
health_check_password = ''
health_check_max_retries = 0
failover_on_backend_error = on
auto_failback = on
auto_failback_interval = 1
backend_hostname0 = '127.0.0.1'
backend_port0 = $primary_port
backend_weight0 = ${REPLICAS_PRIMARY_WEIGHT:-0}
backend_data_directory0 = '$base/primary'
backend_application_name0 = 'primary'
backend_flag0 = 'ALLOW_TO_FAILOVER'
CONF
    for i in $(seq "$standbys"); do
      cat <<CONF
backend_hostname$i = '127.0.0.1'
backend_port$i = ${standby_ports[$((i - 1))]}
backend_weight$i = 1
backend_data_directory$i = '$base/standby$i'
backend_application_name$i = 'standby$i'
backend_flag$i = 'ALLOW_TO_FAILOVER'
CONF
    done
  } >"$base/pgpool.conf"
  : >"$base/pcp.conf"
  : >"$base/pool_hba.conf"
  : >"$base/pool_passwd"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$base/pgpool.conf" "$base/pcp.conf" "$base/pool_hba.conf" "$base/pool_passwd"
  # -n: in the foreground of a background job (its log to a file); -D: forget
  # node states an earlier pgpool recorded.
  as_owner setsid pgpool -n -D -f "$base/pgpool.conf" -F "$base/pcp.conf" -a "$base/pool_hba.conf" \
    >"$base/pgpool.log" 2>&1 </dev/null &
  if ! wait_for_pgpool "$pool_port" $((standbys + 1)); then
    tail -n 20 "$base/pgpool.log" >&2
    return 1
  fi

  {
    echo "export REPLICAS_DIR=$base"
    echo "export REPLICAS_PRIMARY_PORT=$primary_port"
    echo "export REPLICAS_STANDBY_PORTS=\"${standby_ports[*]}\""
    echo "export REPLICAS_PGPOOL_PORT=$pool_port"
    echo "export REPLICAS_PGPOOL_LOG=$base/pgpool.log"
  } >"$state_file"
  echo "replicas: primary on 127.0.0.1:$primary_port, standbys on ${standby_ports[*]}, pgpool-II on $pool_port (state in $state_file)"
}

case "${1:-}" in
  start) start_set ;;
  stop) stop_set ;;
  env) cat "$state_file" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
