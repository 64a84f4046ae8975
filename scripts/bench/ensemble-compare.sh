#!/usr/bin/env bash
# Three-member ensembles of Apache ZooKeeper 3.8.0 and of our zkserver on
# this host, zkbench against a follower of each, in alternating rounds; prints
# one line per (server, workload, round) and the medians. See
# docs/PERFORMANCE.md.
#
#   scripts/bench/ensemble-compare.sh [--rounds R] [--duration S] [--workloads LIST]
#                                     [--sessions N] [--outstanding K]
#
# Members listen on 127.0.0.1 only (client ports BENCH_ENS_PORT..+2, default
# 22381; quorum and election ports 1000 and 2000 above), forceSync=yes,
# tickTime=2000, a fresh data directory per member and round, 3 s of
# unmeasured warm-up (create, get) before the measured workloads. The script
# stops exactly the processes it started (by pid) on exit. REF_HEAP sets the
# reference's -Xmx (default 1g).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
JARS="${ZK_JARDIR:-/usr/share/java}"
rounds=2 duration=5 workloads=create,set,get,exists,mixed sessions=4 outstanding=16
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds="$2"; shift ;;
    --duration) duration="$2"; shift ;;
    --workloads) workloads="$2"; shift ;;
    --sessions) sessions="$2"; shift ;;
    --outstanding) outstanding="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
base="${BENCH_ENS_PORT:-22381}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/ensemble-compare.XXXXXX")"
pids=()
stop_all() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pids=()
}
trap 'stop_all; rm -rf "$tmp"' EXIT

# start KIND DIR: three members of KIND (ours|ref) in DIR.
start() {
    local kind="$1" dir="$2" k j
    for k in 1 2 3; do
        mkdir -p "$dir/zk$k/data"
        echo "$k" > "$dir/zk$k/data/myid"
        {
            echo "tickTime=2000"; echo "initLimit=10"; echo "syncLimit=5"
            echo "dataDir=$dir/zk$k/data"; echo "forceSync=yes"
            echo "4lw.commands.whitelist=*"; echo "admin.enableServer=false"
            echo "maxClientCnxns=0"
            for j in 1 2 3; do
                echo "server.$j=127.0.0.1:$((base + 1000 + j)):$((base + 2000 + j));127.0.0.1:$((base + j - 1))"
            done
        } > "$dir/zk$k/zoo.cfg"
    done
    for k in 1 2 3; do
        if [ "$kind" = ours ]; then
            ZOO_LOG_DIR="$dir/zk$k" ZK_LOG=warn "$BIN/zkserver" start-foreground "$dir/zk$k/zoo.cfg" \
                > "$dir/zk$k/out.log" 2>&1 &
        else
            printf 'log4j.rootLogger=WARN, F\nlog4j.appender.F=org.apache.log4j.FileAppender\nlog4j.appender.F.File=%s\nlog4j.appender.F.layout=org.apache.log4j.PatternLayout\n' \
                "$dir/zk$k/server.log" > "$dir/zk$k/log4j.properties"
            java "-Xmx${REF_HEAP:-1g}" -Dzookeeper.admin.enableServer=false \
                "-Dlog4j.configuration=file:$dir/zk$k/log4j.properties" \
                -cp "$JARS/zookeeper.jar:$JARS/slf4j-log4j12.jar:$JARS/log4j-1.2.jar" \
                org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zk$k/zoo.cfg" \
                > "$dir/zk$k/out.log" 2>&1 &
        fi
        pids+=("$!")
    done
}

# follower: prints the client port of a follower once one leader and two
# followers serve (60 s at most).
follower() {
    local i k mode leaders followers port
    for i in $(seq 1 120); do
        leaders=0 followers=0 port=""
        for k in 0 1 2; do
            mode="$(printf srvr | timeout 2 nc -q1 127.0.0.1 $((base + k)) 2>/dev/null | sed -n 's/^Mode: //p')"
            [ "$mode" = leader ] && leaders=$((leaders + 1))
            [ "$mode" = follower ] && followers=$((followers + 1)) && port=$((base + k))
        done
        if [ "$leaders" = 1 ] && [ "$followers" = 2 ]; then echo "$port"; return 0; fi
        sleep 0.5
    done
    return 1
}

results="$tmp/results.jsonl"
for r in $(seq 1 "$rounds"); do
    for kind in ref ours; do
        dir="$tmp/$kind-$r"
        start "$kind" "$dir"
        port="$(follower)" || { echo "ensemble-compare: $kind did not form an ensemble" >&2; exit 1; }
        # Warm-up (the JVM's JIT; both get it), not measured.
        "$BIN/zkbench" --server "127.0.0.1:$port" --workloads create,get --duration 3 \
            --sessions "$sessions" --outstanding "$outstanding" --json > /dev/null
        "$BIN/zkbench" --server "127.0.0.1:$port" --workloads "$workloads" --duration "$duration" \
            --sessions "$sessions" --outstanding "$outstanding" --json --label "$kind" \
            | sed "s/^{/{\"round\":$r,/" | tee -a "$results"
        stop_all
    done
done
python3 - "$results" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
by = {}
for o in rows:
    by.setdefault((o["workload"], o["label"]), []).append(o)
print("\n| workload | Apache 3.8.0 ops/s | ours ops/s | ratio | Apache p99 µs | ours p99 µs |")
print("|---|---|---|---|---|---|")
for w in sorted({k[0] for k in by}):
    ref, ours = by.get((w, "ref"), []), by.get((w, "ours"), [])
    if not ref or not ours:
        continue
    med = lambda xs, f: statistics.median(x[f] for x in xs)
    a, b = med(ref, "ops_per_sec"), med(ours, "ops_per_sec")
    print(f"| {w} | {a:.0f} | {b:.0f} | {b / a:.2f}× | {med(ref, 'p99_us'):.0f} | {med(ours, 'p99_us'):.0f} |")
EOF
