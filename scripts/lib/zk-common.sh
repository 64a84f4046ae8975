# Shared helpers for scripts/ref-server.sh and scripts/our-server.sh.
# Sourced, not executed. All test traffic goes to 127.0.0.1.

ZK_HOST=127.0.0.1

zkc_die() { printf '%s: %s\n' "${ZKC_NAME:-zk}" "$*" >&2; exit "${ZKC_STATUS:-1}"; }
zkc_log() { printf '[%s] %s\n' "${ZKC_NAME:-zk}" "$*" >&2; }

# zkc_4lw PORT WORD -> prints the reply (empty if nothing answers)
zkc_4lw() {
    local port="$1" word="$2"
    if command -v nc >/dev/null 2>&1; then
        printf '%s' "$word" | timeout 3 nc -N -w 2 "$ZK_HOST" "$port" 2>/dev/null || true
    else
        (
            exec 3<>"/dev/tcp/$ZK_HOST/$port" || exit 0
            printf '%s' "$word" >&3
            timeout 2 cat <&3 || true
        ) 2>/dev/null || true
    fi
}

# zkc_port_busy PORT -> true if something accepts connections on PORT
zkc_port_busy() {
    (exec 3<>"/dev/tcp/$ZK_HOST/$1") 2>/dev/null
}

# zkc_write_cfg DIR PORT [extra lines...] -> writes DIR/zoo.cfg
zkc_write_cfg() {
    local dir="$1" port="$2"
    shift 2
    mkdir -p "$dir/data"
    {
        echo "tickTime=2000"
        echo "initLimit=10"
        echo "syncLimit=5"
        echo "dataDir=$dir/data"
        echo "clientPort=$port"
        echo "clientPortAddress=$ZK_HOST"
        echo "maxClientCnxns=0"
        echo "4lw.commands.whitelist=*"
        echo "admin.enableServer=false"
        for line in "$@"; do echo "$line"; done
    } > "$dir/zoo.cfg"
}

# zkc_pid_alive PIDFILE -> prints pid and succeeds if that process is alive
# and its command line mentions DIR (guards against pid reuse).
zkc_pid_alive() {
    local pidfile="$1" dir="$2" pid
    [ -f "$pidfile" ] || return 1
    pid="$(cat "$pidfile" 2>/dev/null)"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    if [ -r "/proc/$pid/cmdline" ]; then
        tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF "$dir" || return 1
    fi
    echo "$pid"
}

# zkc_wait_imok PORT PID TIMEOUT_SECONDS LOGFILE
zkc_wait_imok() {
    local port="$1" pid="$2" limit="$3" logfile="$4" i reply
    for ((i = 0; i < limit * 10; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            zkc_log "server (pid $pid) exited during startup; last log lines:"
            tail -n 40 "$logfile" >&2 2>/dev/null || true
            return 1
        fi
        reply="$(zkc_4lw "$port" ruok)"
        if [ "$reply" = "imok" ]; then
            return 0
        fi
        sleep 0.1
    done
    zkc_log "no 'imok' from $ZK_HOST:$port after ${limit}s; last log lines:"
    tail -n 40 "$logfile" >&2 2>/dev/null || true
    return 1
}

# zkc_stop DIR -> stops the server whose pid is in DIR/server.pid
zkc_stop() {
    local dir="$1" pidfile="$1/server.pid" pid i
    if ! pid="$(zkc_pid_alive "$pidfile" "$dir")"; then
        rm -f "$pidfile"
        zkc_log "not running ($dir)"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        zkc_log "pid $pid ignored SIGTERM for 10s; SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -f "$pidfile"
    zkc_log "stopped pid $pid ($dir)"
}

# zkc_usage SCRIPT
zkc_usage() {
    cat >&2 <<USAGE
usage: $1 start DIR PORT     start a standalone server on 127.0.0.1:PORT,
                             state in DIR (zoo.cfg, data/, server.log,
                             server.pid); returns once it answers ruok
       $1 stop DIR           stop the server started with DIR (by pid file)
       $1 status DIR         exit 0 if it is running
USAGE
    exit 2
}
