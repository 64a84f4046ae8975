#!/usr/bin/env bash
# Run kazoo 2.11.0's ensemble tests (tests/compat/kazoo/ensemble.txt: 9 tests
# that stop and restart servers under a client) against a 3-member ensemble
# of our server that this script starts on free 127.0.0.1 ports.
#   tests/compat/run-kazoo-ensemble.sh [extra pytest args, e.g. -k recovered]
#
# Each member K lives in $ZK_ENSEMBLE_DIR/zkK/ (zoo.cfg, data/ with myid,
# server.log, server.pid). The script waits for one leader and two followers
# (srvr's Mode), runs the tests through kazoo_external.py in ensemble mode
# (ZK_ENSEMBLE), whose stand-in cluster stops/restarts the members by pid and
# writes a restarted member's pid to its server.pid; on exit the script stops
# whatever pids those files name (trap). A member that is not running at the
# end (other than by the tests' own doing) fails the run.
#
# Env: ZKSERVER_BIN   member binary, run as `BIN start-foreground zoo.cfg`
#                     (default <repo>/target/release/zkserver)
#      ZK_ENSEMBLE_DIR  where the members live (default
#                     ${COMPAT_OUT:-<repo>/tmp/compat}/kazoo-ensemble; wiped)
#      ZK_TICK_TIME   tickTime in ms (default 200; initLimit=10, syncLimit=5)
#      ZK_ENSEMBLE_FORM_TIMEOUT  seconds to wait for leader + 2 followers (60)
#      ZK_ENSEMBLE_STOP_SIGNAL   TERM (default) or KILL, for the tests' stop()
#      ZK_ENSEMBLE_TARGET  first (default: zk1, as in kazoo's harness) or leader: the
#                     member the tests stop and restart (kazoo_external.py)
#      KAZOO_PYTHON, KAZOO_TEST_TIMEOUT (per test, default 60), KAZOO_TB,
#      KAZOO_JUNIT    as in run-kazoo.sh
#      KAZOO_SUITE_TIMEOUT  hard kill of the pytest run (default 240)
# Prints "run-kazoo-ensemble: N passed, M failed ..." last. Exit status:
# non-zero if any test failed, errored or was skipped, if not all 9 ran, or
# if the ensemble did not form or lost a member.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ZKC_NAME=run-kazoo-ensemble
. "$ROOT/scripts/lib/zk-common.sh"

PY="${KAZOO_PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || { echo "run-kazoo-ensemble: $PY missing (run scripts/install-test-deps.sh)" >&2; exit 2; }
BIN="${ZKSERVER_BIN:-$ROOT/target/release/zkserver}"
[ -x "$BIN" ] || { echo "run-kazoo-ensemble: $BIN not built" >&2; exit 2; }
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
DIR="${ZK_ENSEMBLE_DIR:-${COMPAT_OUT:-$ROOT/tmp/compat}/kazoo-ensemble}"
TICK="${ZK_TICK_TIME:-200}"
FORM_TIMEOUT="${ZK_ENSEMBLE_FORM_TIMEOUT:-60}"
LIST="$HERE/kazoo/ensemble.txt"
N=3

start=$(date +%s)
out=""
CLEANED=0
cleanup() {
    local k
    [ "$CLEANED" -eq 1 ] && return 0
    CLEANED=1
    for k in $(seq 1 $N); do
        [ -d "$DIR/zk$k" ] && zkc_stop "$DIR/zk$k"
    done
    [ -n "$out" ] && rm -f "$out"
    return 0
}
trap cleanup EXIT
trap 'echo "run-kazoo-ensemble: interrupted"; exit 130' INT TERM

summary() { # LINE RC: stops the members, then prints the closing line
    cleanup
    echo "run-kazoo-ensemble: $1 -- exit status $2, $(($(date +%s) - start))s"
    exit "$2"
}

# 3 x (client, quorum, election) ports, all free at the same moment.
free_ports() {
    python3 -c 'import socket
ss = [socket.socket() for _ in range(9)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
for s in ss: s.close()'
}

member_pid() { zkc_pid_alive "$DIR/zk$1/server.pid" "$DIR/zk$1"; }
mode_of() { zkc_4lw "$1" srvr | sed -n 's/^Mode: //p'; }

# start_ensemble -> 0 formed, 75 a port was taken (retry), 1 failed
start_ensemble() {
    local ports k j cp=() qp=() ep=()
    read -r -a ports <<< "$(free_ports)"
    for k in 0 1 2; do
        cp[k]="${ports[k * 3]}"
        qp[k]="${ports[k * 3 + 1]}"
        ep[k]="${ports[k * 3 + 2]}"
    done
    rm -rf "$DIR"
    mkdir -p "$DIR"
    DIR="$(cd "$DIR" && pwd)"
    for k in $(seq 1 $N); do
        mkdir -p "$DIR/zk$k/data"
        echo "$k" > "$DIR/zk$k/data/myid"
        {
            echo "# member $k of $N (tests/compat/run-kazoo-ensemble.sh)"
            echo "tickTime=$TICK"
            echo "initLimit=10"
            echo "syncLimit=5"
            # sessions negotiated as under kazoo's own harness (tickTime=2000:
            # 4-40 s), not capped at 20 ticks (4 s at tickTime=200)
            echo "minSessionTimeout=4000"
            echo "maxSessionTimeout=40000"
            echo "dataDir=$DIR/zk$k/data"
            echo "maxClientCnxns=0"
            echo "4lw.commands.whitelist=*"
            echo "admin.enableServer=false"
            for j in $(seq 1 $N); do
                echo "server.$j=$ZK_HOST:${qp[j - 1]}:${ep[j - 1]};$ZK_HOST:${cp[j - 1]}"
            done
        } > "$DIR/zk$k/zoo.cfg"
    done
    for k in $(seq 1 $N); do
        setsid "$BIN" start-foreground "$DIR/zk$k/zoo.cfg" \
            > "$DIR/zk$k/server.log" 2>&1 < /dev/null &
        echo $! > "$DIR/zk$k/server.pid"
    done
    HOSTS="$ZK_HOST:${cp[0]},$ZK_HOST:${cp[1]},$ZK_HOST:${cp[2]}"
    local i modes m leaders followers
    for ((i = 0; i < FORM_TIMEOUT * 5; i++)); do
        modes=""
        leaders=0
        followers=0
        for k in $(seq 1 $N); do
            # our child (reaped by this shell once it exits): kill -0, not
            # member_pid, whose command-line check can miss a process in exec
            if ! kill -0 "$(cat "$DIR/zk$k/server.pid")" 2> /dev/null; then
                if grep -qiE 'address (already )?in use|AddrInUse' "$DIR/zk$k/server.log"; then
                    echo "run-kazoo-ensemble: zk$k: a port was taken meanwhile; new ports"
                    cleanup
                    CLEANED=0
                    return 75
                fi
                echo "run-kazoo-ensemble: zk$k exited while the ensemble formed; its log:"
                tail -n 40 "$DIR/zk$k/server.log"
                return 1
            fi
            m="$(mode_of "${cp[k - 1]}")"
            modes="$modes zk$k=${m:-none}"
            [ "$m" = leader ] && leaders=$((leaders + 1))
            [ "$m" = follower ] && followers=$((followers + 1))
        done
        if [ $leaders -eq 1 ] && [ $followers -eq $((N - 1)) ]; then
            echo "run-kazoo-ensemble: ensemble formed in $(($(date +%s) - start))s:$modes ($HOSTS, tickTime=$TICK)"
            return 0
        fi
        sleep 0.2
    done
    echo "run-kazoo-ensemble: no leader + $((N - 1)) followers after ${FORM_TIMEOUT}s:$modes"
    for k in $(seq 1 $N); do
        echo "---- zk$k log tail ----"
        tail -n 20 "$DIR/zk$k/server.log"
    done
    return 1
}

for try in 1 2 3; do
    rc=0
    start_ensemble || rc=$?
    [ $rc -eq 75 ] && continue
    break
done
[ $rc -eq 0 ] || summary "0 passed, 0 failed (the ensemble did not form)" 1

# The modules of the listed tests; the plugin keeps exactly the listed ids.
mapfile -t files < <(sed -e 's/#.*//' -e 's/::.*//' -e 's/[[:space:]]//g' "$LIST" | grep . | sort -u)
expected="$(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$LIST" | grep -c .)"

site="$("$PY" -c 'import os, kazoo; print(os.path.dirname(os.path.dirname(os.path.abspath(kazoo.__file__))))')"
junit=()
[ -n "${KAZOO_JUNIT:-}" ] && junit=(--junitxml "$KAZOO_JUNIT")
out="$(mktemp "${TMPDIR:-/tmp}/run-kazoo-ensemble.XXXXXX")"
suite_timeout="${KAZOO_SUITE_TIMEOUT:-240}"

echo "run-kazoo-ensemble: $expected kazoo tests against $HOSTS ($("$PY" -c 'import importlib.metadata as m; print("kazoo", m.version("kazoo"))'))"
set +e
(
    cd "$site"
    exec env -u CI -u ZOOKEEPER_VERSION -u ZK_HOSTS \
        ZK_ENSEMBLE="$DIR" \
        ZK_ENSEMBLE_CMD="$(printf '%q start-foreground' "$BIN")" \
        KAZOO_TEST_TIMEOUT="${KAZOO_TEST_TIMEOUT:-60}" \
        KAZOO_SUITE_BUDGET=0 \
        PYTHONPATH="$HERE/kazoo${PYTHONPATH:+:$PYTHONPATH}" \
        PYTHONDONTWRITEBYTECODE=1 \
        timeout -k 30 "$suite_timeout" \
        "$PY" -m pytest \
            -c "$HERE/kazoo/pytest.ini" \
            --rootdir "$site" \
            -p kazoo_external \
            -q -rfEs --tb="${KAZOO_TB:-short}" \
            "${junit[@]}" \
            "${files[@]}" \
            "$@"
) 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
set -e
[ $rc -eq 124 ] && echo "run-kazoo-ensemble: pytest killed after ${suite_timeout}s (KAZOO_SUITE_TIMEOUT)"

pyline="$(grep -E '^(=+ )?([0-9]+ [a-z]+.*|no tests ran) in [0-9.]+s( \([0-9:]+\))?( =+)?$' "$out" | tail -n 1 | sed -E 's/^=+ //; s/ =+$//')"
count() { echo "$pyline" | { grep -oE "[0-9]+ $1" || true; } | awk '{ n += $1 } END { print n + 0 }'; }
passed="$(count passed)"
failed="$(( $(count failed) + $(count 'errors?') ))"
skipped="$(count skipped)"
notes=""
if [ "$skipped" -gt 0 ]; then
    notes="$notes; $skipped SKIPPED (every listed test must run)"
    [ $rc -eq 0 ] && rc=1
fi
if [ $# -eq 0 ] && [ $((passed + failed + skipped)) -ne "$expected" ] && [ $rc -ne 124 ]; then
    notes="$notes; ran $((passed + failed + skipped)) of $expected"
    [ $rc -eq 0 ] && rc=1
fi
for k in $(seq 1 $N); do
    if ! member_pid "$k" > /dev/null; then
        notes="$notes; MEMBER zk$k NOT RUNNING at the end"
        echo "run-kazoo-ensemble: zk$k is not running at the end; last lines of $DIR/zk$k/server.log:"
        tail -n 30 "$DIR/zk$k/server.log" 2>/dev/null || true
        [ $rc -eq 0 ] && rc=1
    fi
done
summary "$passed passed, $failed failed (pytest: ${pyline:-no summary})$notes; ensemble $HOSTS, logs in $DIR" "$rc"
