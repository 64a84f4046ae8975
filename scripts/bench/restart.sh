#!/usr/bin/env bash
# Restart time and snapshot figures with N znodes (default 10^6), ours and
# Apache ZooKeeper 3.8.0 side by side, on copies of one data directory:
#   scripts/bench/restart.sh [N] [ROUNDS]
# 1. writes a dataDir holding one snapshot of N 100-byte znodes
#    (benches/examples/gen_datadir.rs; ZooKeeper's own format);
# 2. per round, for each server on a fresh copy: start, time until `srvr`
#    reports a Mode (that is: load + replay + its start-up work, including
#    the snapshot the reference always writes at start-up), then read RSS;
#    then, for the snapshot time, ask each for a new snapshot by writing
#    snapCount txns and time it from the server's own log;
# 3. prints one line per server and round, and the medians.
# Needs: a release build (cargo build --release), java, the Debian
# zookeeper package (scripts/install-test-deps.sh). Listens on 127.0.0.1 only;
# stops only the processes it started, by pid.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
N="${1:-1000000}"
ROUNDS="${2:-3}"
WORK="${BENCH_DIR:-$ROOT/tmp/bench-restart}"
JARS="${ZK_JARDIR:-/usr/share/java}"
ZKBIN="$ROOT/target/release/zkserver"
mkdir -p "$WORK"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
now_ms() { date +%s%3N; }
srvr_mode() { printf srvr | timeout 2 nc -q 1 127.0.0.1 "$1" 2>/dev/null | grep -c '^Mode:' || true; }

if ! ls "$WORK"/base/version-2/snapshot.* >/dev/null 2>&1; then
    rm -rf "$WORK/base"
    (cd "$ROOT" && cargo run -q --release -p zk-benches --example gen_datadir -- "$WORK/base" "$N")
fi
SNAP="$(ls "$WORK"/base/version-2/snapshot.* | head -1)"
echo "dataDir: $SNAP ($(stat -c %s "$SNAP") bytes)"

run_one() { # KIND ROUND -> prints "KIND round R: ready_ms rss_kb"
    local kind="$1" r="$2" dir="$WORK/$1-$2" port pid t0 t1 rss
    rm -rf "$dir"; mkdir -p "$dir"; cp -r "$WORK/base/version-2" "$dir/"
    port="$(free_port)"
    cat > "$dir/zoo.cfg" <<CFG
tickTime=2000
dataDir=$dir
clientPort=$port
clientPortAddress=127.0.0.1
4lw.commands.whitelist=*
admin.enableServer=false
forceSync=yes
CFG
    t0="$(now_ms)"
    if [ "$kind" = ours ]; then
        "$ZKBIN" start-foreground "$dir/zoo.cfg" > "$dir/server.log" 2>&1 &
    else
        java -Xmx3g -Dzookeeper.admin.enableServer=false \
            -Dlog4j.configuration="file:$ROOT/scripts/lib/log4j-console.properties" \
            -cp "$JARS/zookeeper.jar:$JARS/slf4j-log4j12.jar:$JARS/log4j-1.2.jar" \
            org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" > "$dir/server.log" 2>&1 &
    fi
    pid=$!; PIDS+=("$pid")
    for _ in $(seq 1 6000); do
        [ "$(srvr_mode "$port")" = 1 ] && break
        kill -0 "$pid" 2>/dev/null || { echo "$kind exited:"; tail -20 "$dir/server.log"; return 1; }
        sleep 0.01
    done
    t1="$(now_ms)"
    rss="$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")"
    echo "$kind round $r: ready in $((t1 - t0)) ms, RSS $((rss / 1024)) MiB"
    kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
    rm -rf "$dir"
}

for r in $(seq 1 "$ROUNDS"); do
    run_one ours "$r"
    run_one reference "$r"
done
