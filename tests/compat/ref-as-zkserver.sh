#!/usr/bin/env bash
# Harness self-test shim: behaves like `zkserver start-foreground CFG` but
# runs Apache ZooKeeper 3.8.0, so the whole pipeline can be proven against
# the reference:
#   ZKSERVER_BIN=tests/compat/ref-as-zkserver.sh TEST_ALL_SKIP="build cargo-test" scripts/test-all.sh
# (our-server.sh writes znode.container.checkIntervalMs / extendedTypesEnabled
# into zoo.cfg for our server; the JVM needs them as system properties.)
set -euo pipefail
[ "${1:-}" = start-foreground ] && [ $# -eq 2 ] || { echo "usage: $0 start-foreground CFG" >&2; exit 2; }
J=/usr/share/java
exec java -Xmx512m \
    -Dzookeeper.extendedTypesEnabled=true \
    -Dznode.container.checkIntervalMs=1000 \
    -Dzookeeper.admin.enableServer=false \
    -Dlog4j.configuration=file:/dev/null \
    -cp "$J/zookeeper.jar:$J/slf4j-nop.jar" \
    org.apache.zookeeper.server.ZooKeeperServerMain "$2"
