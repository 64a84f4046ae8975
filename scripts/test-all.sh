#!/usr/bin/env bash
# THE test command (CI runs it through .ci/run):
#   1. scripts/install-test-deps.sh      Debian zookeeper 3.8.0, .venv with kazoo
#   2. cargo build --release --workspace
#   3. cargo test --workspace --release  (release: reuses step 2's dependencies)
#   4. kazoo 2.11.0's own suite against our server   (tests/compat/run-kazoo.sh)
#   5. kazoo's 9 ensemble tests (stop/restart members under a client) against
#      a 3-member ensemble of our server       (tests/compat/run-kazoo-ensemble.sh)
#   6. zkCli.sh walkthrough, reference vs ours        (tests/compat/run-zkcli.sh)
#   7. the client library's integration tests against our server
#   8. lint: cargo fmt --check, cargo clippy --all-targets -D warnings, and
#      every criterion bench run once in test mode (so none can rot)
# Every part runs even if an earlier one failed (4, 5 and 6 need step 2's
# binary). Servers it starts are stopped on exit, by their pid files.
# Exit status: 0 only if every part passed. Ends with one summary line per
# part and a final "test-all: PASSED|FAILED" line.
#
# Env: COMPAT_OUT (default <repo>/tmp/compat): server dirs, logs, transcripts.
#      TEST_ALL_SKIP: space-separated parts to skip (install build cargo-test
#      kazoo kazoo-ensemble zkcli client lint); skipped parts are reported as SKIPPED, not PASSED.
#      ZKSERVER_BIN: server binary (default target/release/zkserver).
#      Plus everything run-kazoo.sh / run-kazoo-ensemble.sh / run-zkcli.sh read (KAZOO_SUITE_BUDGET...).
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

OUT="${COMPAT_OUT:-$ROOT/tmp/compat}"
export COMPAT_OUT="$OUT"
SRV="$OUT/servers"
mkdir -p "$OUT"
rm -rf "$SRV"
mkdir -p "$SRV"

declare -a SUMMARY=()
FAILED=0
# Individual tests counted across parts, for the closing line.
TOTAL_PASSED=0
TOTAL_FAILED=0
count_cargo() { # LOG: adds cargo's "test result:" counts to the totals
    local p f
    read -r p f < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1) } } END { print p + 0, f + 0 }' "$1")
    TOTAL_PASSED=$((TOTAL_PASSED + p))
    TOTAL_FAILED=$((TOTAL_FAILED + f))
}
STARTED_DIRS=()   # "kind:dir" of servers this script started

banner() { printf '\n==================== test-all: %s ====================\n' "$*"; }
record() { # PART STATUS DETAIL
    SUMMARY+=("$(printf '%-28s %-7s %s' "$1" "$2" "${3:-}")")
    [ "$2" = FAIL ] && FAILED=$((FAILED + 1))
    return 0
}
skipped() { [[ " ${TEST_ALL_SKIP:-} " == *" $1 "* ]]; }

cleanup() {
    local entry kind dir
    for entry in "${STARTED_DIRS[@]}"; do
        kind="${entry%%:*}"
        dir="${entry#*:}"
        "$ROOT/scripts/$kind-server.sh" stop "$dir" >/dev/null 2>&1 || true
    done
}
trap cleanup EXIT
trap 'echo "test-all: interrupted"; exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_server KIND NAME -> sets PORT; KIND is "ref" or "our"
start_server() {
    local kind="$1" dir="$SRV/$2" try
    STARTED_DIRS+=("$kind:$dir")
    for try in 1 2 3; do
        PORT="$(free_port)"
        "$ROOT/scripts/$kind-server.sh" start "$dir" "$PORT"
        case $? in
            0) return 0 ;;
            75) ;;          # port taken between free_port and start: retry
            *) return 1 ;;
        esac
    done
    return 1
}

stop_server() { # KIND NAME
    "$ROOT/scripts/$1-server.sh" stop "$SRV/$2" || true
}

elapsed() { echo "$(( $(date +%s) - $1 ))s"; }

ZKBIN="${ZKSERVER_BIN:-$ROOT/target/release/zkserver}"
export ZKSERVER_BIN="$ZKBIN"
T_ALL=$(date +%s)

# ---- 1. dependencies ------------------------------------------------------------
if skipped install; then
    record "install-test-deps" SKIPPED
else
    banner "install-test-deps"
    t=$(date +%s)
    if scripts/install-test-deps.sh; then
        record "install-test-deps" PASS "$(elapsed "$t")"
    else
        record "install-test-deps" FAIL "exit $? ($(elapsed "$t"))"
    fi
fi

# ---- 2. build -------------------------------------------------------------------
BUILT=0
if skipped build; then
    record "cargo build --release" SKIPPED
    [ -x "$ZKBIN" ] && BUILT=1
else
    banner "cargo build --release --workspace"
    t=$(date +%s)
    if cargo build --release --workspace; then
        BUILT=1
        record "cargo build --release" PASS "$(elapsed "$t")"
    else
        record "cargo build --release" FAIL "exit $? ($(elapsed "$t"))"
    fi
fi

# ---- 3. cargo test ----------------------------------------------------------------
if skipped cargo-test; then
    record "cargo test --release" SKIPPED
else
    banner "cargo test --workspace --release"
    t=$(date +%s)
    cargo test --workspace --release 2>&1 | tee "$OUT/cargo-test.log"
    rc=${PIPESTATUS[0]}
    count_cargo "$OUT/cargo-test.log"
    # cargo prints one "test result:" line per test binary
    totals="$(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^(passed|failed|ignored);?$/) { k = $(i); sub(/;/, "", k); n[k] += $(i-1) } } } END { printf "%d passed, %d failed, %d ignored", n["passed"], n["failed"], n["ignored"] }' "$OUT/cargo-test.log")"
    if [ "$rc" -eq 0 ]; then
        record "cargo test --release" PASS "$totals ($(elapsed "$t"))"
    else
        record "cargo test --release" FAIL "exit $rc: $totals ($(elapsed "$t"))"
    fi
fi

# ---- 4. kazoo's suite against our server -------------------------------------------
if skipped kazoo; then
    record "kazoo suite (ours)" SKIPPED
elif [ "$BUILT" -ne 1 ] || [ ! -x "$ZKBIN" ]; then
    record "kazoo suite (ours)" FAIL "not run: $ZKBIN not built"
else
    banner "kazoo 2.11.0 suite against our server"
    export KAZOO_SUITE_BUDGET="${KAZOO_SUITE_BUDGET:-1800}"
    t=$(date +%s)
    if start_server our kazoo-ours; then
        tests/compat/run-kazoo.sh "127.0.0.1:$PORT" 2>&1 | tee "$OUT/kazoo.log"
        rc=${PIPESTATUS[0]}
        line="$(grep '^run-kazoo: ' "$OUT/kazoo.log" | tail -n 1 | sed 's/^run-kazoo: //')"
        kp="$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)"
        kf="$(echo "$line" | grep -oE '[0-9]+ (failed|error|errors)' | awk '{ n += $1 } END { print n + 0 }')"
        TOTAL_PASSED=$((TOTAL_PASSED + ${kp:-0}))
        TOTAL_FAILED=$((TOTAL_FAILED + ${kf:-0}))
        if ! "$ROOT/scripts/our-server.sh" status "$SRV/kazoo-ours"; then
            line="$line; OUR SERVER DIED during the run"
            echo "test-all: our server is no longer running; last lines of $SRV/kazoo-ours/server.log:"
            tail -n 30 "$SRV/kazoo-ours/server.log" 2>/dev/null || true
        fi
        stop_server our kazoo-ours
        if [ "$rc" -eq 0 ]; then
            record "kazoo suite (ours)" PASS "$line"
        else
            record "kazoo suite (ours)" FAIL "$line"
        fi
    else
        record "kazoo suite (ours)" FAIL "our server did not start (see $SRV/kazoo-ours/server.log)"
    fi
fi

# ---- 5. kazoo's ensemble tests against 3 of our members ----------------------------
# The 9 tests the single-server run deselects because they stop and restart
# servers (tests/compat/kazoo/ensemble.txt); the script starts, and on exit
# stops, its own members; their dirs are also registered for cleanup here.
if skipped kazoo-ensemble; then
    record "kazoo ensemble tests (ours)" SKIPPED
elif [ "$BUILT" -ne 1 ] || [ ! -x "$ZKBIN" ]; then
    record "kazoo ensemble tests (ours)" FAIL "not run: $ZKBIN not built"
else
    banner "kazoo 2.11.0 ensemble tests against 3 of our members"
    for k in 1 2 3; do STARTED_DIRS+=("our:$SRV/kazoo-ensemble/zk$k"); done
    ZK_ENSEMBLE_DIR="$SRV/kazoo-ensemble" tests/compat/run-kazoo-ensemble.sh 2>&1 | tee "$OUT/kazoo-ensemble.log"
    rc=${PIPESTATUS[0]}
    line="$(grep '^run-kazoo-ensemble: [0-9]* passed' "$OUT/kazoo-ensemble.log" | tail -n 1 | sed 's/^run-kazoo-ensemble: //')"
    kp="$(echo "$line" | grep -oE '^[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)"
    kf="$(echo "$line" | grep -oE '^[0-9]+ passed, [0-9]+ failed' | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0)"
    TOTAL_PASSED=$((TOTAL_PASSED + ${kp:-0}))
    TOTAL_FAILED=$((TOTAL_FAILED + ${kf:-0}))
    if [ "$rc" -eq 0 ]; then
        record "kazoo ensemble tests (ours)" PASS "$line"
    else
        record "kazoo ensemble tests (ours)" FAIL "${line:-exit $rc}"
    fi
fi

# ---- 6. zkCli walkthrough: reference vs ours ----------------------------------------
if skipped zkcli; then
    record "zkCli walkthrough" SKIPPED
elif [ "$BUILT" -ne 1 ] || [ ! -x "$ZKBIN" ]; then
    record "zkCli walkthrough" FAIL "not run: $ZKBIN not built"
else
    banner "zkCli.sh walkthrough: reference vs ours"
    t=$(date +%s)
    if ! start_server ref zkcli-ref; then
        record "zkCli walkthrough" FAIL "reference server did not start (see $SRV/zkcli-ref/server.log)"
    else
        REF_PORT="$PORT"
        if ! start_server our zkcli-ours; then
            record "zkCli walkthrough" FAIL "our server did not start (see $SRV/zkcli-ours/server.log)"
        else
            OUR_PORT="$PORT"
            tests/compat/run-zkcli.sh "127.0.0.1:$REF_PORT" "127.0.0.1:$OUR_PORT" 2>&1 | tee "$OUT/zkcli.log"
            rc=${PIPESTATUS[0]}
            line="$(grep -E '^run-zkcli: (PASSED|FAILED)' "$OUT/zkcli.log" | tail -n 1 | sed 's/^run-zkcli: //')"
            stop_server our zkcli-ours
            if [ "$rc" -eq 0 ]; then
                TOTAL_PASSED=$((TOTAL_PASSED + 1))
                record "zkCli walkthrough" PASS "$line ($(elapsed "$t"))"
            else
                TOTAL_FAILED=$((TOTAL_FAILED + 1))
                record "zkCli walkthrough" FAIL "${line:-exit $rc} ($(elapsed "$t"))"
            fi
        fi
        stop_server ref zkcli-ref
    fi
fi

# ---- 7. the client library against our server -----------------------------------------
if skipped client; then
    record "client tests (ours)" SKIPPED
elif [ "$BUILT" -ne 1 ]; then
    record "client tests (ours)" FAIL "not run: not built"
else
    banner "zk-client integration tests against our server"
    t=$(date +%s)
    ZK_TEST_SERVER=ours ZK_SERVER_BIN="$ZKBIN" cargo test --release -p zk-client --test against_server 2>&1 | tee "$OUT/client-ours.log"
    rc=${PIPESTATUS[0]}
    count_cargo "$OUT/client-ours.log"
    if [ "$rc" -eq 0 ]; then
        record "client tests (ours)" PASS "$(elapsed "$t")"
    else
        record "client tests (ours)" FAIL "exit $rc ($(elapsed "$t"))"
    fi
fi

# ---- 8. lint ----------------------------------------------------------------------------
if skipped lint; then
    record "lint (fmt, clippy, benches)" SKIPPED
else
    banner "cargo fmt --check; cargo clippy --all-targets -D warnings; cargo bench -- --test"
    t=$(date +%s)
    if cargo fmt --all -- --check && cargo clippy --workspace --all-targets --release -- -D warnings \
        && cargo bench --workspace -- --test; then
        record "lint (fmt, clippy, benches)" PASS "$(elapsed "$t")"
    else
        record "lint (fmt, clippy, benches)" FAIL "$(elapsed "$t")"
    fi
fi

# ---- summary ------------------------------------------------------------------------
banner "summary"
for s in "${SUMMARY[@]}"; do
    echo "$s"
done
if [ "$FAILED" -eq 0 ]; then
    echo "test-all: PASSED ($(elapsed "$T_ALL"))"
else
    echo "test-all: FAILED -- $FAILED part(s) failed ($(elapsed "$T_ALL"))"
fi
# The closing line: every individual test of every part.
echo "tests: $TOTAL_PASSED passed, $TOTAL_FAILED failed"
[ "$FAILED" -eq 0 ]
