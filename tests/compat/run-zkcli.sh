#!/usr/bin/env bash
# Run the zkCli.sh walkthrough (tests/compat/zkcli/walkthrough.zk) against a
# reference server and against ours, and fail on any difference between the
# two normalized transcripts.
#   tests/compat/run-zkcli.sh REF_HOST:PORT OURS_HOST:PORT
# Both servers must be FRESH (nothing created since start): sequence numbers
# and counts in the transcript depend on it.
# Env: COMPAT_OUT (default <repo>/tmp/compat) -> $COMPAT_OUT/zkcli/{ref,ours}.txt
# (normalized) and .raw.txt (verbatim); ZKCLI (zkCli.sh path).
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

if diff -u --label "reference ($ref)" --label "ours ($ours)" "$out/ref.txt" "$out/ours.txt" > "$out/zkcli.diff"; then
    echo "run-zkcli: PASSED -- transcripts identical ($(wc -l < "$out/ref.txt") lines)"
    exit 0
fi
cat "$out/zkcli.diff"
echo "run-zkcli: FAILED -- $(grep -c '^[-+][^-+]' "$out/zkcli.diff" || true) differing lines (diff saved to $out/zkcli.diff)"
exit 1
