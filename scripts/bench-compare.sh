#!/usr/bin/env bash
# Runs zkbench against Apache ZooKeeper 3.8.0 and our zkserver (release
# build) with the same settings, in alternating rounds, and prints a
# Markdown comparison. See docs/PERFORMANCE.md.
#
#   scripts/bench-compare.sh [options]
#     --rounds R         alternating rounds per server                  [3]
#     --duration S       seconds per workload per round                 [2]
#     --sessions N       client sessions (loaded runs)                  [4]
#     --outstanding K    requests in flight per session                 [16]
#     --workloads LIST   zkbench workloads for the loaded runs          [all]
#     --memory           also: N znodes of 100 B, RSS per znode, both servers
#     --restart          also: time to ready after a restart with N znodes
#     --znodes N         population of --memory/--restart              [1000000]
#     --only-long        skip the default suite (with --memory/--restart)
#     --out DIR          keep the raw JSON lines in DIR (default: a tmp dir)
#
# Servers listen on 127.0.0.1 only (ports BENCH_PORT_REF / BENCH_PORT_OURS,
# default 22281 / 22282); each gets a fresh data directory under the run's
# tmp dir, forceSync=yes and tickTime=2000. The script stops exactly the
# processes it started (by pid) on exit. REF_HEAP sets the reference's -Xmx
# (default 3g, enough for 10^6 znodes).
set -euo pipefail
ZKC_NAME=bench-compare
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/scripts/lib/zk-common.sh"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN_DIR="$TARGET/release"
. "$ROOT/scripts/bench/servers.sh"

rounds=3 duration=2 sessions=4 outstanding=16 workloads=all
memory=0 restart=0 znodes=1000000 default=1 out=""
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds="$2"; shift ;;
    --duration) duration="$2"; shift ;;
    --sessions) sessions="$2"; shift ;;
    --outstanding) outstanding="$2"; shift ;;
    --workloads) workloads="$2"; shift ;;
    --memory) memory=1 ;;
    --restart) restart=1 ;;
    --znodes) znodes="$2"; shift ;;
    --only-long) default=0 ;;
    --out) out="$2"; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) zkc_die "unknown option $1 (see --help)" ;;
    esac
    shift
done

PORT_REF="${BENCH_PORT_REF:-22281}"
PORT_OURS="${BENCH_PORT_OURS:-22282}"
port_of() { if [ "$1" = ref ]; then echo "$PORT_REF"; else echo "$PORT_OURS"; fi; }

[ -f "${ZK_JARDIR:-/usr/share/java}/zookeeper.jar" ] \
    || zkc_die "Apache ZooKeeper missing (scripts/install-test-deps.sh)"
zkc_log "building zkserver and zkbench (release)"
(cd "$ROOT" && cargo build --release -q -p zk-server -p zkbench)

WORK="$(mktemp -d "${TMPDIR:-/tmp}/bench-compare.XXXXXX")"
[ -n "$out" ] || out="$WORK/results"
mkdir -p "$out"
# A reused --out directory must not lend an earlier run's figures to this
# one: the summary reads every results file present.
for f in fsync ready rss loaded-ours loaded-ref sync-ours sync-ref memory restart; do
    rm -f "$out/$f.jsonl"
done
STARTED=()   # server dirs we launched; stopped by pid on exit
stop_all() {
    local d
    for d in "${STARTED[@]}"; do zkc_stop "$d" 2>/dev/null || true; done
    STARTED=()
}
trap 'stop_all; rm -rf "$WORK/ours" "$WORK/ref" "$WORK"/mem-*' EXIT

# start NAME DIR -> launched and ready; appends its ready JSON to $3 if given
start() {
    local name="$1" dir="$2" record="${3:-}" line rss
    mkdir -p "$dir"
    bench_launch "$name" "$dir" "$(port_of "$name")"
    STARTED+=("$dir")
    line="$(bench_ready "$dir" "$(port_of "$name")" "$name")"
    rss="$(bench_rss "$dir")"
    [ -z "$record" ] || echo "$line" | jq -c --argjson rss "$rss" '. + {rss_bytes: $rss}' >> "$record"
    zkc_log "$name ready: $line (RSS $rss B)"
}

zb() { "$BIN_DIR/zkbench" "$@"; }

zkc_log "fsync on this disk ($WORK)"
zb fsync --dir "$WORK" --ops 2000 --json --label disk > "$out/fsync.jsonl"

if [ "$default" = 1 ]; then
    : > "$out/ready.jsonl"
    start ref "$WORK/ref" "$out/ready.jsonl"
    start ours "$WORK/ours" "$out/ready.jsonl"
    jq -c '{label: .label, rss_bytes: .rss_bytes}' "$out/ready.jsonl" > "$out/rss.jsonl"
    # Warm-up (the JVM compiles its hot paths; page cache, allocators).
    for name in ref ours; do
        zb --server "$ZK_HOST:$(port_of $name)" --workloads get,set --duration 3 \
            --sessions "$sessions" --outstanding "$outstanding" > /dev/null
    done
    for f in loaded-ours loaded-ref sync-ours sync-ref; do : > "$out/$f.jsonl"; done
    for ((r = 1; r <= rounds; r++)); do
        order="ours ref"
        [ $((r % 2)) = 0 ] && order="ref ours"
        for name in $order; do
            zkc_log "round $r/$rounds: $name"
            zb --server "$ZK_HOST:$(port_of $name)" --workloads "$workloads" \
                --duration "$duration" --sessions "$sessions" --outstanding "$outstanding" \
                --pid-file "$WORK/$name/server.pid" \
                --json --label "$name" >> "$out/loaded-$name.jsonl"
            zb --server "$ZK_HOST:$(port_of $name)" --workloads set,get --sync \
                --duration "$duration" --json --label "$name" >> "$out/sync-$name.jsonl"
        done
    done
    stop_all
fi

if [ "$memory" = 1 ] || [ "$restart" = 1 ]; then
    : > "$out/memory.jsonl"
    : > "$out/restart.jsonl"
    for name in ours ref; do
        dir="$WORK/mem-$name"
        start "$name" "$dir"
        zkc_log "$name: creating $znodes znodes of 100 B"
        zb --server "$ZK_HOST:$(port_of $name)" --workloads memory --ops "$znodes" --size 100 \
            --sessions "$sessions" --outstanding "$outstanding" --keep \
            --pid-file "$dir/server.pid" --json --label "$name" >> "$out/memory.jsonl"
        if [ "$restart" = 1 ]; then
            zkc_stop "$dir"
            zkc_log "$name: restarting on $znodes znodes"
            start "$name" "$dir" "$out/restart.jsonl"
        fi
        stop_all
        rm -rf "$dir"
    done
    [ "$memory" = 1 ] || : > "$out/memory.jsonl"
fi

echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo);" \
    "$(date -u +%Y-%m-%d); zkserver $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "vs Apache ZooKeeper 3.8.0 (Debian), $(java -version 2>&1 | head -1)"
echo
python3 "$ROOT/scripts/bench/summarize.py" "$out"
echo "raw results: $out" >&2
