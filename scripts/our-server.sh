#!/usr/bin/env bash
# Our server (target/release/zkserver) standalone, configured like the
# reference started by scripts/ref-server.sh.
#   scripts/our-server.sh start DIR PORT | stop DIR | status DIR
# ZKSERVER_BIN overrides the binary (default <repo>/target/release/zkserver).
set -euo pipefail
ZKC_NAME=our-server
. "$(dirname "$0")/lib/zk-common.sh"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${ZKSERVER_BIN:-$ROOT/target/release/zkserver}"
START_TIMEOUT="${ZK_START_TIMEOUT:-30}"

cmd="${1:-}"
[ $# -ge 2 ] || zkc_usage "$0"
dir="$(mkdir -p "$2" && cd "$2" && pwd)"

case "$cmd" in
start)
    [ $# -eq 3 ] || zkc_usage "$0"
    port="$3"
    if pid="$(zkc_pid_alive "$dir/server.pid" "$dir")"; then
        zkc_die "already running in $dir (pid $pid)"
    fi
    if zkc_port_busy "$port"; then
        ZKC_STATUS=75 zkc_die "$ZK_HOST:$port is already in use"
    fi
    [ -x "$BIN" ] || zkc_die "$BIN not built (cargo build --release --workspace)"
    rm -rf "$dir/data"
    zkc_write_cfg "$dir" "$port" \
        "znode.container.checkIntervalMs=1000" \
        "extendedTypesEnabled=true"
    : > "$dir/server.log"
    setsid "$BIN" start-foreground "$dir/zoo.cfg" \
        > "$dir/server.log" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$dir/server.pid"
    if ! zkc_wait_imok "$port" "$pid" "$START_TIMEOUT" "$dir/server.log"; then
        zkc_stop "$dir"
        exit 1
    fi
    zkc_log "zkserver up on $ZK_HOST:$port (pid $pid, dir $dir)"
    ;;
stop)
    zkc_stop "$dir"
    ;;
status)
    zkc_pid_alive "$dir/server.pid" "$dir" >/dev/null
    ;;
*)
    zkc_usage "$0"
    ;;
esac
