#!/usr/bin/env bash
# Run kazoo 2.11.0's own test suite against one external server.
#   tests/compat/run-kazoo.sh HOST:PORT [extra pytest args, e.g. -k test_lock]
# Env: KAZOO_PYTHON (default <repo>/.venv/bin/python),
#   KAZOO_TEST_TIMEOUT  per test, seconds (default 60; slowest vs the reference: ~10)
#   KAZOO_SUITE_BUDGET  after this many seconds the remaining tests are reported
#                       as errors without running (default 2400; 0 = none)
#   KAZOO_SUITE_TIMEOUT hard kill of the whole run (default budget + 600)
#   KAZOO_TB            pytest --tb style (default short)
#   ZK_SERVER_LOG       server log whose tail is logged with each failure
#   KAZOO_JUNIT         write junit xml there
# Exit status: pytest's (non-zero on any failure/error, or if nothing ran).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

if [ $# -lt 1 ] || [[ "$1" != *:* ]]; then
    echo "usage: $0 HOST:PORT [pytest args...]" >&2
    exit 2
fi
hostport="$1"
shift

PY="${KAZOO_PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || { echo "run-kazoo: $PY missing (run scripts/install-test-deps.sh)" >&2; exit 2; }

# kazoo's site-packages dir: used as pytest rootdir so that test ids read
# kazoo/tests/test_x.py::Class::test (as in kazoo/deselect.txt).
site="$("$PY" -c 'import os, kazoo; print(os.path.dirname(os.path.dirname(os.path.abspath(kazoo.__file__))))')"

junit=()
[ -n "${KAZOO_JUNIT:-}" ] && junit=(--junitxml "$KAZOO_JUNIT")

out="$(mktemp "${TMPDIR:-/tmp}/run-kazoo.XXXXXX")"
trap 'rm -f "$out"' EXIT

export KAZOO_TEST_TIMEOUT="${KAZOO_TEST_TIMEOUT:-60}"
export KAZOO_SUITE_BUDGET="${KAZOO_SUITE_BUDGET:-2400}"
suite_timeout="${KAZOO_SUITE_TIMEOUT:-$(( KAZOO_SUITE_BUDGET > 0 ? KAZOO_SUITE_BUDGET + 600 : 86400 ))}"

start=$(date +%s)
echo "run-kazoo: kazoo suite against $hostport ($("$PY" -c 'import importlib.metadata as m; print("kazoo", m.version("kazoo"))'))"
set +e
(
    cd "$site"
    exec env -u CI -u ZOOKEEPER_VERSION -u ZK_ENSEMBLE \
        ZK_HOSTS="$hostport" \
        PYTHONPATH="$HERE/kazoo${PYTHONPATH:+:$PYTHONPATH}" \
        PYTHONDONTWRITEBYTECODE=1 \
        timeout -k 30 "$suite_timeout" \
        "$PY" -m pytest \
            -c "$HERE/kazoo/pytest.ini" \
            --rootdir "$site" \
            -p kazoo_external \
            -q -rfE --tb="${KAZOO_TB:-short}" \
            "${junit[@]}" \
            --pyargs kazoo.tests \
            "$@"
) 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
set -e
end=$(date +%s)
if [ $rc -eq 124 ]; then
    echo "run-kazoo: killed after ${suite_timeout}s (KAZOO_SUITE_TIMEOUT)"
fi
summary="$(grep -E '^(=+ )?([0-9]+ [a-z]+.*|no tests ran) in [0-9.]+s( \([0-9:]+\))?( =+)?$' "$out" | tail -n 1 | sed -E 's/^=+ //; s/ =+$//')"
echo "run-kazoo: ${summary:-no pytest summary} -- exit status $rc, $((end - start))s against $hostport"
exit $rc
