#!/usr/bin/env bash
# Run the zkCli.sh walkthrough (tests/compat/zkcli/walkthrough.zk) against a
# reference server and against ours, then the same walkthrough through OUR
# shell (zkcli) against both, and fail on any difference between the
# normalized transcripts: all four must equal zkCli.sh-on-the-reference.
#   tests/compat/run-zkcli.sh REF_HOST:PORT OURS_HOST:PORT
# Both servers must be FRESH (nothing created since start): sequence numbers
# and counts in the transcript depend on it. The zkcli runs come second on
# each server; the walkthrough deletes all it created, so their normalized
# transcripts do not depend on the first run (zxids are always normalized
# for them, even with ZKCLI_KEEP_ZXIDS=1).
# Env: COMPAT_OUT (default <repo>/tmp/compat) -> $COMPAT_OUT/zkcli/
# {ref,ours,zkcli-ref,zkcli-ours}.txt (normalized) and .raw.txt (verbatim);
# ZKCLI (zkCli.sh path); ZKCLI_BIN (our shell, default
# ${CARGO_TARGET_DIR:-<repo>/target}/release/zkcli).
# Exit status: 0 all identical, 1 any difference or failed run, 2 usage.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

if [ $# -ne 2 ]; then
    echo "usage: $0 REF_HOST:PORT OURS_HOST:PORT" >&2
    exit 2
fi
ref="$1"
ours="$2"
out="${COMPAT_OUT:-$ROOT/tmp/compat}/zkcli"
mkdir -p "$out"
script="$HERE/zkcli/walkthrough.zk"
zkcli_bin="${ZKCLI_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/zkcli}"

walk() { # NAME HOSTPORT
    local name="$1" hp="$2" t0 rc
    t0=$(date +%s)
    set +e
    python3 "$HERE/zkcli/walk.py" --server "$hp" --script "$script" \
        --raw "$out/$name.raw.txt" --out "$out/$name.txt"
    rc=$?
    set -e
    echo "run-zkcli: $name ($hp): walkthrough finished in $(( $(date +%s) - t0 ))s, status $rc, $(wc -l < "$out/$name.txt") lines -> $out/$name.txt"
    return $rc
}

status=0
walk ref "$ref" || status=1
walk ours "$ours" || true   # a broken server shows up in the diff

if [ $status -ne 0 ]; then
    echo "run-zkcli: FAILED -- the reference run itself did not complete (see $out/ref.raw.txt)"
    exit 1
fi

if ! cmp -s "$out/ref.txt" "$HERE/zkcli/expected.txt"; then
    echo "run-zkcli: note: the reference transcript differs from tests/compat/zkcli/expected.txt" \
         "(reference or walkthrough changed?):"
    diff -u --label expected.txt --label "ref ($ref)" "$HERE/zkcli/expected.txt" "$out/ref.txt" | head -n 40 || true
fi

failed=0
if diff -u --label "reference ($ref)" --label "ours ($ours)" "$out/ref.txt" "$out/ours.txt" > "$out/zkcli.diff"; then
    echo "run-zkcli: zkCli.sh: reference and ours identical ($(wc -l < "$out/ref.txt") lines)"
else
    cat "$out/zkcli.diff"
    echo "run-zkcli: zkCli.sh: $(grep -c '^[-+][^-+]' "$out/zkcli.diff" || true) differing lines, reference vs ours (diff saved to $out/zkcli.diff)"
    failed=1
fi

# Our shell must print what zkCli.sh prints, against either server.
baseline="$out/ref.txt"
if [ "${ZKCLI_KEEP_ZXIDS:-0}" = "1" ]; then
    baseline="$HERE/zkcli/expected.txt"   # zxid-normalized, as the zkcli runs are
fi
if [ ! -x "$zkcli_bin" ]; then
    echo "run-zkcli: our shell $zkcli_bin is not built (cargo build --release -p zk-client --bin zkcli)"
    failed=1
else
    for pair in "zkcli-ref:$ref" "zkcli-ours:$ours"; do
        name="${pair%%:*}"
        hp="${pair#*:}"
        ZKCLI="$zkcli_bin" ZKCLI_KEEP_ZXIDS=0 walk "$name" "$hp" || true
        if diff -u --label "zkCli.sh on reference" --label "zkcli on $name ($hp)" \
                "$baseline" "$out/$name.txt" > "$out/$name.diff"; then
            echo "run-zkcli: zkcli on $name: identical to zkCli.sh ($(wc -l < "$out/$name.txt") lines)"
        else
            cat "$out/$name.diff"
            echo "run-zkcli: zkcli on $name: $(grep -c '^[-+][^-+]' "$out/$name.diff" || true) differing lines (diff saved to $out/$name.diff)"
            failed=1
        fi
    done
fi

if [ "$failed" -eq 0 ]; then
    echo "run-zkcli: PASSED -- transcripts identical ($(wc -l < "$out/ref.txt") lines; zkCli.sh and zkcli, reference and ours)"
    exit 0
fi
echo "run-zkcli: FAILED -- see the differences above"
exit 1
