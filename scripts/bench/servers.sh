# Server launchers for scripts/bench-compare.sh. Sourced, not executed.
# Unlike scripts/ref-server.sh and scripts/our-server.sh these keep the data
# directory when a server is started again (the restart measurement needs
# that), write forceSync=yes explicitly, and record the wall-clock time of
# the launch (for time-to-ready).
#
# Requires: ROOT, BIN_DIR set by the caller; scripts/lib/zk-common.sh sourced.

REF_HEAP="${REF_HEAP:-3g}"
JARDIR="${ZK_JARDIR:-/usr/share/java}"

# bench_cfg DIR PORT -> DIR/zoo.cfg (same settings for both servers)
bench_cfg() {
    zkc_write_cfg "$1" "$2" "forceSync=yes"
}

# bench_launch NAME DIR PORT -> starts the server, writes DIR/server.pid and
# DIR/launch.ns (date +%s%N just before the exec); does not wait.
bench_launch() {
    local name="$1" dir="$2" port="$3"
    [ -f "$dir/zoo.cfg" ] || bench_cfg "$dir" "$port"
    if zkc_port_busy "$port"; then
        zkc_die "$ZK_HOST:$port is already in use"
    fi
    date +%s%N > "$dir/launch.ns"
    case "$name" in
    ours)
        setsid "$BIN_DIR/zkserver" start-foreground "$dir/zoo.cfg" \
            >> "$dir/server.log" 2>&1 < /dev/null &
        ;;
    ref)
        cat > "$dir/log4j.properties" <<LOG4J
log4j.rootLogger=INFO, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=$dir/server.log
log4j.appender.FILE.Append=true
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n
LOG4J
        setsid java -Xmx"$REF_HEAP" \
            -Dzookeeper.admin.enableServer=false \
            -Dlog4j.configuration="file:$dir/log4j.properties" \
            -Dzookeeper.log.dir="$dir" \
            -cp "$JARDIR/zookeeper.jar:$JARDIR/slf4j-log4j12.jar:$JARDIR/log4j-1.2.jar" \
            org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" \
            >> "$dir/server.out" 2>&1 < /dev/null &
        ;;
    *) zkc_die "unknown server $name" ;;
    esac
    echo $! > "$dir/server.pid"
}

# bench_ready DIR PORT LABEL -> waits until srvr reports Mode: and a session
# opens; prints zkbench's JSON line (times since the launch).
bench_ready() {
    local dir="$1" port="$2" label="$3"
    "$BIN_DIR/zkbench" ready --server "$ZK_HOST:$port" --since-ns "$(cat "$dir/launch.ns")" \
        --timeout 300 --json --label "$label" || {
        tail -n 30 "$dir/server.log" "$dir/server.out" >&2 2>/dev/null || true
        return 1
    }
}

# bench_rss DIR -> VmRSS of the server in bytes
bench_rss() {
    local pid
    pid="$(cat "$1/server.pid")"
    awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$pid/status"
}
