#!/usr/bin/env bash
# Apache ZooKeeper 3.8.0 (Debian package) as a standalone reference server.
#   scripts/ref-server.sh start DIR PORT | stop DIR | status DIR
set -euo pipefail
ZKC_NAME=ref-server
. "$(dirname "$0")/lib/zk-common.sh"

JAVA="${JAVA:-java}"
JARDIR="${ZK_JARDIR:-/usr/share/java}"
START_TIMEOUT="${ZK_START_TIMEOUT:-60}"

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
    [ -f "$JARDIR/zookeeper.jar" ] || zkc_die "$JARDIR/zookeeper.jar missing (run scripts/install-test-deps.sh)"
    rm -rf "$dir/data"
    zkc_write_cfg "$dir" "$port"
    cat > "$dir/log4j.properties" <<LOG4J
log4j.rootLogger=INFO, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=$dir/server.log
log4j.appender.FILE.Append=false
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n
LOG4J
    # zookeeper.jar's manifest Class-Path brings jute, netty, ...; Debian's
    # classpath has no SLF4J binding, so add log4j for a log file.
    cp="$JARDIR/zookeeper.jar:$JARDIR/slf4j-log4j12.jar:$JARDIR/log4j-1.2.jar"
    : > "$dir/server.log"
    setsid "$JAVA" \
        -Xmx512m \
        -Dzookeeper.extendedTypesEnabled=true \
        -Dznode.container.checkIntervalMs=1000 \
        -Dzookeeper.admin.enableServer=false \
        -Dlog4j.configuration="file:$dir/log4j.properties" \
        -Dzookeeper.log.dir="$dir" \
        -cp "$cp" \
        org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" \
        > "$dir/server.out" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$dir/server.pid"
    if ! zkc_wait_imok "$port" "$pid" "$START_TIMEOUT" "$dir/server.log"; then
        tail -n 20 "$dir/server.out" >&2 2>/dev/null || true
        zkc_stop "$dir"
        exit 1
    fi
    zkc_log "Apache ZooKeeper up on $ZK_HOST:$port (pid $pid, dir $dir)"
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
