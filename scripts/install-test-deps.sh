#!/usr/bin/env bash
# Install everything the compatibility tests need. Idempotent: does nothing
# when the packages and the venv are already in place.
#   - Debian packages: zookeeper, zookeeper-bin (Apache ZooKeeper 3.8.0, the
#     reference server and zkCli.sh), netcat-openbsd (four-letter words),
#     python3-yaml (tests/tests/packaging.rs reads the Kubernetes manifests);
#     libservlet-api-java (lets the reference's Jetty AdminServer start),
#     prometheus (promtool checks our /metrics);
#   - <repo>/.venv with tests/compat/kazoo/requirements.txt (kazoo 2.11.0 ...).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

log() { printf '[install-test-deps] %s\n' "$*"; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    SUDO=(sudo)
fi

# ---- Debian packages --------------------------------------------------------
pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for p in zookeeper zookeeper-bin netcat-openbsd libservlet-api-java prometheus python3-yaml; do
    pkg_installed "$p" || missing+=("$p")
done
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    missing+=(python3-venv)
fi

if [ "${#missing[@]}" -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update
    "${SUDO[@]}" apt-get install -y "${missing[@]}"
else
    log "Debian packages present (zookeeper, zookeeper-bin, netcat-openbsd, libservlet-api-java, prometheus, python3-yaml)"
fi

# ---- Python venv --------------------------------------------------------------
VENV="$ROOT/.venv"
REQ="$ROOT/tests/compat/kazoo/requirements.txt"
STAMP="$VENV/.compat-deps.sha256"
want="$(sha256sum "$REQ" | cut -d' ' -f1)"

venv_ok() {
    [ -x "$VENV/bin/python" ] || return 1
    [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] || return 1
    "$VENV/bin/python" - <<'PY' >/dev/null 2>&1
import importlib.metadata as md
import kazoo, pytest, gevent, eventlet, objgraph  # noqa: F401
assert md.version("kazoo") == "2.11.0"
PY
}

if venv_ok; then
    log "venv $VENV satisfied"
else
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating venv $VENV"
        python3 -m venv "$VENV"
    fi
    log "pip install -r $REQ"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQ"
    echo "$want" > "$STAMP"
    venv_ok || { log "venv check failed after install"; exit 1; }
fi
log "ok"
