#!/bin/bash
# Entrypoint of the zkserver image, following the official `zookeeper`
# image's docker-entrypoint.sh (github.com/31z4/zookeeper-docker):
#
#   1. Started as root with the server as the command: chown the data, data
#      log and log directories to $ZOO_USER and re-exec as that user
#      (setpriv, from util-linux, in place of gosu).
#   2. $ZOO_CONF_DIR/zoo.cfg is generated from the ZOO_* variables only if it
#      does not exist: a mounted or earlier config is never touched.
#   3. $ZOO_DATA_DIR/myid is written only if it does not exist.
#   4. exec "$@".
#
# Every path comes from a ZOO_* variable, with the image's value as default,
# so the script runs (and is tested) outside a container with any command.
#
# Differences from the official script, each for a reason:
#   - zoo.cfg also gets `clientPort` (and `clientPortAddress`) taken from this
#     server's own `server.N=...;[addr:]port` entry, else 2181: zkserver does
#     not read the client port from a server line. ZooKeeper 3.8 accepts
#     both when they agree, which they do by construction.
#   - Kubernetes: when ZOO_MY_ID is unset and the host name ends in
#     `-<ordinal>` (a StatefulSet pod, zk-0, zk-1, ...), myid = ordinal + 1.
#   - The config is written to a temporary file and renamed, so a failed
#     start never leaves a half-written zoo.cfg that would then be kept.
#   - ZOO_MY_ID must be a positive integer; anything else stops with a message.
set -euo pipefail

: "${ZOO_CONF_DIR:=/conf}"
: "${ZOO_DATA_DIR:=/data}"
: "${ZOO_DATA_LOG_DIR:=/datalog}"
: "${ZOO_LOG_DIR:=/logs}"
: "${ZOO_TICK_TIME:=2000}"
: "${ZOO_INIT_LIMIT:=5}"
: "${ZOO_SYNC_LIMIT:=2}"
: "${ZOO_AUTOPURGE_PURGEINTERVAL:=0}"
: "${ZOO_AUTOPURGE_SNAPRETAINCOUNT:=3}"
: "${ZOO_MAX_CLIENT_CNXNS:=60}"
: "${ZOO_STANDALONE_ENABLED:=true}"
: "${ZOO_ADMINSERVER_ENABLED:=true}"
: "${ZOO_USER:=zookeeper}"
ZOO_SERVERS="${ZOO_SERVERS:-}"
ZOO_CFG_EXTRA="${ZOO_CFG_EXTRA:-}"
ZOO_4LW_COMMANDS_WHITELIST="${ZOO_4LW_COMMANDS_WHITELIST:-}"
ZOO_MY_ID="${ZOO_MY_ID:-}"

die() {
    echo "docker-entrypoint: $*" >&2
    exit 1
}

# ---- 1. drop privileges ------------------------------------------------------
# Only for the server itself: `docker run IMAGE zkcli ...` or a shell stay root.
if [[ "${1:-}" = 'zkserver' && "$(id -u)" = '0' ]]; then
    mkdir -p "$ZOO_DATA_DIR" "$ZOO_DATA_LOG_DIR" "$ZOO_LOG_DIR"
    chown -R "$ZOO_USER" "$ZOO_DATA_DIR" "$ZOO_DATA_LOG_DIR" "$ZOO_LOG_DIR"
    exec setpriv --reuid="$ZOO_USER" --regid="$(id -g "$ZOO_USER")" --init-groups "$0" "$@"
fi

# ---- myid --------------------------------------------------------------------
# The id this server has: an existing myid file wins (it is never rewritten),
# then ZOO_MY_ID, then a StatefulSet ordinal in the host name, then 1.
MYID_FILE="$ZOO_DATA_DIR/myid"
if [[ -f "$MYID_FILE" ]]; then
    MY_ID="$(tr -d '[:space:]' < "$MYID_FILE")"
elif [[ -n "$ZOO_MY_ID" ]]; then
    MY_ID="$ZOO_MY_ID"
elif [[ "${HOSTNAME:-}" =~ -([0-9]+)$ ]]; then
    MY_ID=$((10#${BASH_REMATCH[1]} + 1))
else
    MY_ID=1
fi
[[ "$MY_ID" =~ ^[0-9]{1,18}$ ]] && (( 10#$MY_ID >= 1 )) \
    || die "server id ${MY_ID@Q} is not a positive integer (ZOO_MY_ID or $MYID_FILE)"
MY_ID=$((10#$MY_ID)) # decimal, whatever its leading zeros

if [[ -z "$ZOO_SERVERS" ]]; then
    ZOO_SERVERS="server.1=localhost:2888:3888;2181"
fi
# Split on blanks without glob expansion (`4lw.commands.whitelist=*` stays a
# word, whatever the working directory holds).
read -r -a SERVERS <<< "$ZOO_SERVERS"
read -r -a CFG_EXTRA <<< "$ZOO_CFG_EXTRA"

# The client address of this server's own entry `server.ID=...;[addr:]port`
# (ZooKeeper 3.5+ form): prints "PORT ADDR" (ADDR may be empty).
own_client_address() {
    local entry client addr
    for entry in "${SERVERS[@]}"; do
        [[ "$entry" == "server.$MY_ID="* ]] || continue
        [[ "$entry" == *";"* ]] || return 0
        client="${entry#*;}"
        if [[ "$client" == *:* ]]; then
            addr="${client%:*}"
            addr="${addr#[}"
            echo "${client##*:} ${addr%]}"
        else
            echo "$client"
        fi
        return 0
    done
}

# ---- 2. zoo.cfg, only if absent --------------------------------------------
CONFIG="$ZOO_CONF_DIR/zoo.cfg"
if [[ ! -f "$CONFIG" ]]; then
    mkdir -p "$ZOO_CONF_DIR"
    read -r client_port client_addr <<< "$(own_client_address)" || true
    TMP="$CONFIG.tmp.$$"
    trap 'rm -f "$TMP"' EXIT
    {
        echo "dataDir=$ZOO_DATA_DIR"
        echo "dataLogDir=$ZOO_DATA_LOG_DIR"

        echo "tickTime=$ZOO_TICK_TIME"
        echo "initLimit=$ZOO_INIT_LIMIT"
        echo "syncLimit=$ZOO_SYNC_LIMIT"

        echo "autopurge.snapRetainCount=$ZOO_AUTOPURGE_SNAPRETAINCOUNT"
        echo "autopurge.purgeInterval=$ZOO_AUTOPURGE_PURGEINTERVAL"
        echo "maxClientCnxns=$ZOO_MAX_CLIENT_CNXNS"
        echo "standaloneEnabled=$ZOO_STANDALONE_ENABLED"
        echo "admin.enableServer=$ZOO_ADMINSERVER_ENABLED"

        for server in "${SERVERS[@]}"; do
            echo "$server"
        done

        echo "clientPort=${client_port:-2181}"
        if [[ -n "${client_addr:-}" ]]; then
            echo "clientPortAddress=$client_addr"
        fi

        if [[ -n "$ZOO_4LW_COMMANDS_WHITELIST" ]]; then
            echo "4lw.commands.whitelist=$ZOO_4LW_COMMANDS_WHITELIST"
        fi

        # Last: a key given here overrides one above (the last value wins).
        for cfg_extra_entry in "${CFG_EXTRA[@]}"; do
            echo "$cfg_extra_entry"
        done
    } > "$TMP"
    mv -f "$TMP" "$CONFIG"
    trap - EXIT
fi

# ---- 3. myid, only if absent -------------------------------------------------
if [[ ! -f "$MYID_FILE" ]]; then
    mkdir -p "$ZOO_DATA_DIR"
    echo "$MY_ID" > "$MYID_FILE"
fi
mkdir -p "$ZOO_DATA_LOG_DIR"

exec "$@"
