#!/usr/bin/env bash
# Harness self-test shim: behaves like `zkserver start-foreground CFG` but
# runs Apache ZooKeeper 3.8.0, so the whole pipeline can be proven against
# the reference:
#   ZKSERVER_BIN=tests/compat/ref-as-zkserver.sh TEST_ALL_SKIP="build cargo-test" scripts/test-all.sh
# (our-server.sh writes znode.container.checkIntervalMs / extendedTypesEnabled
# into zoo.cfg for our server; the JVM needs them as system properties.)
# A CFG with server.N lines runs an ensemble member (QuorumPeerMain, as in
# tests/src/reference_peer.rs) logging at INFO to stdout, e.g. the reference
# run of the kazoo ensemble tests:
#   ZKSERVER_BIN=tests/compat/ref-as-zkserver.sh tests/compat/run-kazoo-ensemble.sh
set -euo pipefail
[ "${1:-}" = start-foreground ] && [ $# -eq 2 ] || { echo "usage: $0 start-foreground CFG" >&2; exit 2; }
J=/usr/share/java
if grep -qE '^[[:space:]]*server\.[0-9]+[[:space:]]*=' "$2"; then
    props="$(dirname "$2")/log4j.properties"
    cat > "$props" <<'PROPS'
log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n
PROPS
    exec java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Dzookeeper.admin.enableServer=false \
        -Dlog4j.configuration="file:$props" \
        -cp "$J/zookeeper.jar:$J/slf4j-log4j12.jar:$J/log4j-1.2.jar" \
        org.apache.zookeeper.server.quorum.QuorumPeerMain "$2"
fi
exec java -Xmx512m \
    -Dzookeeper.extendedTypesEnabled=true \
    -Dznode.container.checkIntervalMs=1000 \
    -Dzookeeper.admin.enableServer=false \
    -Dlog4j.configuration=file:/dev/null \
    -cp "$J/zookeeper.jar:$J/slf4j-nop.jar" \
    org.apache.zookeeper.server.ZooKeeperServerMain "$2"
