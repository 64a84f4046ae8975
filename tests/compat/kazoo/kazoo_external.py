"""pytest plugin: run kazoo's own test suite against ONE external server,
or its ensemble tests against an external 3-member ensemble (ZK_ENSEMBLE).

Load with ``-p kazoo_external`` (this directory on PYTHONPATH).

Environment:
  ZK_HOSTS             external server, "host:port" (required unless ZK_ENSEMBLE)
  KAZOO_DESELECT       deselect list (default: deselect.txt beside this file)
  KAZOO_TEST_TIMEOUT   per-test wall-clock limit in seconds (default 60, 0=off)
  KAZOO_SUITE_BUDGET   seconds after which the remaining tests are not run but
                       reported as errors, so a slow/hung server still yields
                       a pytest summary with counts (default 0 = no budget)
  ZK_SERVER_LOG        optional server log; its tail is logged on test failure

What it does:
  * replaces kazoo.testing.harness.get_global_cluster with a stand-in whose
    single "server" is ZK_HOSTS and whose start/stop/terminate are no-ops
    (the external server is managed by the caller, never by the tests);
  * installs a minimal kazoo.testing.common stub before kazoo.testing is
    imported: the real module imports pyOpenSSL and pyjks at import time only
    to build the Java cluster / TLS certificates, which this harness never uses;
  * drops CI and ZOOKEEPER_VERSION from the environment (they change kazoo's
    behaviour);
  * deselects the tests listed in the deselect file (reported by pytest as
    "deselected") and errors out if any listed id no longer exists;
  * enforces a per-test timeout so a hanging server cannot stall CI, fails a
    test at once when the server no longer accepts connections (instead of
    kazoo's 5 x 15 s retries), and applies the optional suite budget.

Ensemble mode (ZK_ENSEMBLE set; ZK_HOSTS is then ignored):
  ZK_ENSEMBLE          a directory with one subdirectory per member, named
                       <prefix><K> (e.g. zk1 zk2 zk3, ordered by K), each
                       holding zoo.cfg (its dataDir holds myid), server.pid
                       (the running member's pid) and server.log. The caller
                       starts the members (tests/compat/run-kazoo-ensemble.sh);
                       server.pid is the hand-over: a restarted member's pid
                       is written there, so the caller stops whatever runs.
  ZK_ENSEMBLE_CMD      the command that runs one member in the foreground,
                       the member's zoo.cfg path appended (shell words;
                       default "$ZKSERVER_BIN start-foreground", ZKSERVER_BIN
                       defaulting to <repo>/target/release/zkserver)
  ZK_ENSEMBLE_STOP_SIGNAL  TERM (default) or KILL: how stop() ends a member
                       (TERM escalates to KILL after ZK_ENSEMBLE_STOP_TIMEOUT)
  ZK_ENSEMBLE_STOP_TIMEOUT   seconds (default 10)
  ZK_ENSEMBLE_START_TIMEOUT  seconds run() waits for the restarted member to
                       serve, i.e. for "Mode: " in its srvr answer (default 30)
  ZK_ENSEMBLE_TARGET   first (default) or leader: which member is
                       cluster[0], the one the tests stop and restart. first:
                       the first subdirectory (as kazoo's own cluster, whose
                       server 1 is a follower once server 3 leads); leader:
                       before each test the members are rotated so that the
                       current leader comes first (leader failover under the
                       client)
  KAZOO_ENSEMBLE_TESTS the tests to run (default ensemble.txt beside this
                       file); every other collected test is deselected, and
                       each listed id must also be in the deselect file (the
                       single-server run must not run them)

  The stand-in cluster then has one member per subdirectory: .address is its
  client address (from its server.<myid> line, else clientPort), the
  harness's host string lists them all, stop() really signals the member's
  process (by pid, checked against its command line) and waits for it to
  exit, run() restarts it with the same zoo.cfg (same dataDir), appending to
  server.log, and returns once it serves again. Before each test every member
  that should run must be alive and serving, else the test fails with the
  member's log tail (a crashed member is never restarted silently).
"""

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import types

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))

for _var in ("CI", "ZOOKEEPER_VERSION"):
    os.environ.pop(_var, None)


def _install_common_stub():
    if "kazoo.testing.common" in sys.modules:
        return
    stub = types.ModuleType("kazoo.testing.common")
    stub.__doc__ = "stub installed by kazoo_external (no local Java cluster)"

    class ZookeeperCluster(object):
        def __init__(self, *a, **kw):
            raise RuntimeError(
                "kazoo_external: local ZooKeeper clusters are disabled; "
                "tests run against ZK_HOSTS"
            )

    stub.ZookeeperCluster = ZookeeperCluster
    sys.modules["kazoo.testing.common"] = stub


class ExternalServer(object):
    """Looks like kazoo.testing.common.ManagedZooKeeper, but is external."""

    def __init__(self, hostport):
        self.address = hostport
        self.secure_address = hostport
        host, _, port = hostport.rpartition(":")
        self.host = host
        self.server_info = None
        self.running = True

    # The tests that really stop/start servers are deselected; for anything
    # else these must never touch the external server.
    def run(self):
        self.running = True

    def stop(self):
        pass

    def destroy(self):
        pass

    def reset(self):
        pass

    def get_logs(self, num_lines=100):
        path = os.environ.get("ZK_SERVER_LOG")
        if not path or not os.path.exists(path):
            return []
        with open(path, "r", errors="replace") as f:
            return f.readlines()[-num_lines:]


class ExternalCluster(object):
    def __init__(self, hostport):
        self._servers = [ExternalServer(hostport)]

    def __iter__(self):
        return iter(self._servers)

    def __getitem__(self, item):
        return self._servers[item]

    def __len__(self):
        return len(self._servers)

    def start(self):
        pass

    def stop(self):
        pass

    def terminate(self):
        pass

    def reset(self):
        pass

    def get_logs(self):
        return [s.get_logs() for s in self._servers]

    def get_ssl_client_configuration(self):
        raise RuntimeError("kazoo_external: no TLS port on the external server")

    def servers_string(self):
        return ",".join(s.address for s in self._servers)


def _env_seconds(name, default):
    value = os.environ.get(name, "")
    return float(value) if value.strip() else float(default)


def _four_letter(hostport, word, timeout=2.0):
    """The server's answer to a four-letter word ("" if none)."""
    host, _, port = hostport.rpartition(":")
    chunks = []
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(word.encode("ascii"))
            while True:
                data = s.recv(4096)
                if not data:
                    break
                chunks.append(data)
    except OSError:
        pass
    return b"".join(chunks).decode("utf-8", "replace")


def _read_cfg(path):
    """zoo.cfg as a dict (the last value of a key wins, as in Apache)."""
    entries = {}
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, _, value = line.partition("=")
            entries[key.strip()] = value.strip()
    return entries


def _client_address(cfg_path):
    """host:port clients use for the member configured by cfg_path."""
    cfg = _read_cfg(cfg_path)
    base = os.path.dirname(os.path.abspath(cfg_path))
    data_dir = os.path.join(base, cfg.get("dataDir", ""))
    with open(os.path.join(data_dir, "myid")) as f:
        myid = f.read().strip()
    line = cfg.get("server." + myid)
    if line and ";" in line:
        client = line.split(";", 1)[1].strip()
        host, sep, port = client.rpartition(":")
        if not sep:
            host, port = "", client
    elif "clientPort" in cfg:
        host, port = cfg.get("clientPortAddress", ""), cfg["clientPort"]
    else:
        raise RuntimeError("%s: no client port for server.%s" % (cfg_path, myid))
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    return "%s:%s" % (host, int(port))


def _process_alive(pid):
    """True if pid runs and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    # "pid (comm) state ...": comm may contain spaces and parentheses
    return stat[stat.rindex(")") + 2 :][:1] not in ("Z", "X")


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return None


class EnsembleMember(object):
    """Looks like kazoo.testing.common.ManagedZooKeeper for one member of
    the external ensemble: stop()/run() really stop and restart it."""

    def __init__(self, directory, command):
        self.dir = directory
        self.cfg = os.path.join(directory, "zoo.cfg")
        self.pid_file = os.path.join(directory, "server.pid")
        self.log_file = os.path.join(directory, "server.log")
        self.name = os.path.basename(directory)
        self.command = command
        self.address = _client_address(self.cfg)
        self.secure_address = self.address
        self.host = self.address.rpartition(":")[0]
        self.server_info = None
        self._child = None  # Popen of a member this plugin (re)started
        self._running = self.pid() is not None  # what the tests asked for
        if not self._running:
            raise RuntimeError(
                "kazoo_external: ensemble member %s is not running (%s)"
                % (self.name, self.pid_file)
            )

    @property
    def running(self):
        return self._running

    def pid(self):
        """The member's pid if its process is alive (and is this member)."""
        try:
            with open(self.pid_file) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return None
        if self._child is not None and self._child.pid == pid:
            # our own child: its pid cannot be reused before we reap it (and
            # its command line reads empty while it execs, e.g. a wrapper
            # script exec'ing java)
            return pid if self._child.poll() is None else None
        if not _process_alive(pid):
            return None
        cmdline = _cmdline(pid)
        if cmdline and self.cfg not in cmdline:
            return None  # pid reused by something else
        return pid

    def mode(self):
        """The "Mode: ..." value of srvr, or None if it does not serve."""
        m = re.search(r"^Mode: (\S+)", _four_letter(self.address, "srvr"), re.M)
        return m.group(1) if m else None

    def stop(self):
        """SIGTERM (or SIGKILL) the member, by pid; wait until it is gone."""
        if not self._running:
            return
        self._running = False
        pid = self.pid()
        if pid is None:
            raise RuntimeError(
                "kazoo_external: %s was already dead when asked to stop; log "
                "tail:\n%s" % (self.name, "".join(self.get_logs(30)))
            )
        how = os.environ.get("ZK_ENSEMBLE_STOP_SIGNAL", "TERM").upper()
        sig = signal.SIGKILL if how == "KILL" else signal.SIGTERM
        limit = _env_seconds("ZK_ENSEMBLE_STOP_TIMEOUT", 10)
        os.kill(pid, sig)
        if not self._wait_gone(pid, limit) and sig != signal.SIGKILL:
            sys.stderr.write(
                "kazoo_external: %s (pid %d) still alive %ss after SIGTERM; "
                "SIGKILL\n" % (self.name, pid, limit)
            )
            os.kill(pid, signal.SIGKILL)
            self._wait_gone(pid, limit)
        if self._child is not None and self._child.pid == pid:
            self._child.wait(timeout=1)

    def _wait_gone(self, pid, limit):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self._child is not None and self._child.pid == pid:
                if self._child.poll() is not None:
                    return True
            elif not _process_alive(pid):
                return True
            time.sleep(0.05)
        return False

    def run(self):
        """Restart the member with its zoo.cfg; return once it serves."""
        if self._running:
            return
        if self.pid() is not None:
            raise RuntimeError(
                "kazoo_external: %s still runs (pid %s)" % (self.name, self.pid())
            )
        with open(self.log_file, "ab") as log:
            log.write(
                ("---- kazoo_external: restarting %s ----\n" % self.name).encode()
            )
            log.flush()
            self._child = subprocess.Popen(
                self.command + [self.cfg],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        tmp = self.pid_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % self._child.pid)
        os.replace(tmp, self.pid_file)
        self._running = True
        self.wait_serving(_env_seconds("ZK_ENSEMBLE_START_TIMEOUT", 30))

    def wait_serving(self, limit):
        """Wait until srvr answers with a Mode; raise with the log if not."""
        deadline = time.monotonic() + limit
        while True:
            if self.pid() is None:
                raise RuntimeError(
                    "kazoo_external: %s (%s) is not running; log tail:\n%s"
                    % (self.name, self.address, "".join(self.get_logs(30)))
                )
            if self.mode() is not None:
                return
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    "kazoo_external: %s (%s) not serving (no Mode in srvr) "
                    "after %ss; log tail:\n%s"
                    % (self.name, self.address, limit, "".join(self.get_logs(30)))
                )
            time.sleep(0.1)

    def destroy(self):
        # The caller owns the members' lifetime (and their data).
        pass

    def reset(self):
        pass

    def get_logs(self, num_lines=100):
        if not os.path.exists(self.log_file):
            return []
        with open(self.log_file, "r", errors="replace") as f:
            return f.readlines()[-num_lines:]


class EnsembleCluster(ExternalCluster):
    def __init__(self, directory, command):
        def key(name):
            m = re.search(r"(\d+)$", name)
            return (int(m.group(1)) if m else -1, name)

        subdirs = sorted(
            (
                d
                for d in os.listdir(directory)
                if os.path.isfile(os.path.join(directory, d, "zoo.cfg"))
            ),
            key=key,
        )
        if not subdirs:
            raise RuntimeError(
                "ZK_ENSEMBLE=%s has no <member>/zoo.cfg" % directory
            )
        self._servers = [
            EnsembleMember(os.path.join(directory, d), command) for d in subdirs
        ]

    def start(self):
        # As kazoo's cluster: (re)start the members that were stopped.
        for server in reversed(self._servers):
            server.run()

    def check(self):
        """Every member that should run is alive and serving, else raise.
        With ZK_ENSEMBLE_TARGET=leader, then puts the leader first."""
        limit = _env_seconds("ZK_ENSEMBLE_START_TIMEOUT", 30)
        for server in self._servers:
            if server.running:
                server.wait_serving(limit)
        target = os.environ.get("ZK_ENSEMBLE_TARGET", "first").strip().lower()
        if target == "leader":
            self._leader_first(limit)
        elif target not in ("", "first"):
            raise RuntimeError("ZK_ENSEMBLE_TARGET must be first or leader")

    def _leader_first(self, limit):
        deadline = time.monotonic() + limit
        while True:
            modes = [s.mode() for s in self._servers]
            if modes.count("leader") == 1:
                i = modes.index("leader")
                self._servers = self._servers[i:] + self._servers[:i]
                return
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    "kazoo_external: no single leader after %ss: %s"
                    % (limit, ", ".join(
                        "%s=%s" % (s.name, m) for s, m in zip(self._servers, modes)
                    ))
                )
            time.sleep(0.1)

    def get_logs(self):
        return [
            "---- %s (%s) ----\n%s"
            % (s.name, s.address, "".join(s.get_logs(40)))
            for s in self._servers
        ]


def _ensemble_command():
    words = os.environ.get("ZK_ENSEMBLE_CMD", "").strip()
    if words:
        return shlex.split(words)
    root = os.path.dirname(os.path.dirname(os.path.dirname(_HERE)))
    binary = os.environ.get("ZKSERVER_BIN") or os.path.join(
        root, "target", "release", "zkserver"
    )
    return [binary, "start-foreground"]


def _ensemble_dir():
    return os.environ.get("ZK_ENSEMBLE", "").strip()


_CLUSTER = None


def get_external_cluster():
    global _CLUSTER
    if _CLUSTER is None and _ensemble_dir():
        _CLUSTER = EnsembleCluster(
            os.path.abspath(_ensemble_dir()), _ensemble_command()
        )
    if _CLUSTER is None:
        hosts = os.environ.get("ZK_HOSTS", "").strip()
        if not hosts or "," in hosts or ":" not in hosts:
            raise RuntimeError("ZK_HOSTS must be one host:port, got %r" % hosts)
        _CLUSTER = ExternalCluster(hosts)
    return _CLUSTER


def _deselect_file():
    return os.environ.get("KAZOO_DESELECT") or os.path.join(_HERE, "deselect.txt")


def _read_deselect(path):
    """Lines: '<test id>  # reason'. Blank lines and full-line comments skipped."""
    ids = []
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            test_id = line.split("#", 1)[0].strip()
            if test_id:
                ids.append(test_id)
    return ids


def _canonical_id(item):
    """'kazoo/tests/test_x.py::Class::test' whatever the rootdir is."""
    import kazoo

    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(kazoo.__file__)))
    rel = os.path.relpath(str(item.path), pkg_parent).replace(os.sep, "/")
    rest = item.nodeid.split("::", 1)
    return rel + ("::" + rest[1] if len(rest) > 1 else "")


def pytest_configure(config):
    _install_common_stub()
    import kazoo.testing.harness as harness

    harness.get_global_cluster = get_external_cluster
    get_external_cluster()  # validate ZK_HOSTS early
    config.addinivalue_line(
        "markers", "kazoo_external: run against an external ZooKeeper"
    )


def pytest_unconfigure(config):
    # Clients some tests leave running keep logging ("Connection dropped",
    # "Transition to CONNECTING") through logging's last-resort stderr handler
    # after pytest has printed its summary; keep the summary the last thing.
    import logging

    for name in ("kazoo", "kazoo.client", "kazoo.protocol.connection"):
        lg = logging.getLogger(name)
        lg.addHandler(logging.NullHandler())
        lg.propagate = False


def pytest_report_header(config):
    if _ensemble_dir():
        return "kazoo_external: ZK_ENSEMBLE=%s (%s) tests=%s command=%s" % (
            _ensemble_dir(),
            get_external_cluster().servers_string(),
            _ensemble_tests_file(),
            " ".join(_ensemble_command()),
        )
    return "kazoo_external: ZK_HOSTS=%s deselect=%s" % (
        os.environ.get("ZK_HOSTS"),
        _deselect_file(),
    )


def _ensemble_tests_file():
    return os.environ.get("KAZOO_ENSEMBLE_TESTS") or os.path.join(
        _HERE, "ensemble.txt"
    )


def _select_ensemble_tests(config, items):
    """Ensemble mode: keep exactly the listed tests."""
    path = _ensemble_tests_file()
    wanted = _read_deselect(path)
    wanted_set = set(wanted)
    if len(wanted_set) != len(wanted):
        raise pytest.UsageError("duplicate ids in %s" % path)
    single = set(_read_deselect(_deselect_file()))
    not_deselected = sorted(wanted_set - single)
    if not_deselected:
        raise pytest.UsageError(
            "%s names tests the single-server run does not deselect (add them "
            "to %s):\n  %s"
            % (path, _deselect_file(), "\n  ".join(not_deselected))
        )
    keep, drop, seen = [], [], set()
    for item in items:
        cid = _canonical_id(item)
        if cid in wanted_set:
            keep.append(item)
            seen.add(cid)
        else:
            drop.append(item)
    missing = sorted(wanted_set - seen)
    if missing:
        raise pytest.UsageError(
            "%s names tests that were not collected:\n  %s"
            % (path, "\n  ".join(missing))
        )
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_modifyitems(session, config, items):
    if _ensemble_dir():
        _select_ensemble_tests(config, items)
        return
    wanted = _read_deselect(_deselect_file())
    wanted_set = set(wanted)
    if len(wanted_set) != len(wanted):
        raise pytest.UsageError("duplicate ids in %s" % _deselect_file())
    keep, drop, seen = [], [], set()
    for item in items:
        cid = _canonical_id(item)
        if cid in wanted_set:
            drop.append(item)
            seen.add(cid)
        else:
            keep.append(item)
    missing = sorted(wanted_set - seen)
    if missing:
        raise pytest.UsageError(
            "deselect list names tests that were not collected:\n  "
            + "\n  ".join(missing)
        )
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


_STARTED = time.monotonic()


def _server_accepts(hostport):
    host, _, port = hostport.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    budget = int(os.environ.get("KAZOO_SUITE_BUDGET", "0") or 0)
    if budget > 0 and time.monotonic() - _STARTED > budget:
        pytest.fail(
            "kazoo_external: not run, KAZOO_SUITE_BUDGET=%ss exhausted" % budget,
            pytrace=False,
        )
    from kazoo.testing.harness import KazooTestHarness

    cls = getattr(item, "cls", None)
    if not (cls and issubclass(cls, KazooTestHarness)):
        return  # a unit test that needs no server
    if _ensemble_dir():
        try:
            get_external_cluster().check()
        except RuntimeError as e:
            pytest.fail(str(e), pytrace=False)
        return
    hostport = get_external_cluster()[0].address
    if not _server_accepts(hostport):
        pytest.fail(
            "kazoo_external: %s does not accept connections (server down?)"
            % hostport,
            pytrace=False,
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Per-test wall-clock limit (setup + call + teardown), like
    pytest-timeout's signal method: SIGALRM raises pytest's Failed, a
    BaseException, so kazoo's own `except Exception` retry loops cannot
    swallow it; the timer re-fires every 5 s until the test is over."""
    limit = int(os.environ.get("KAZOO_TEST_TIMEOUT", "60") or 0)
    usable = (
        limit > 0
        and hasattr(signal, "setitimer")
        and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None)
    )
    if not usable:
        yield
        return

    def _expired(signum, frame):
        pytest.fail(
            "kazoo_external: %s exceeded KAZOO_TEST_TIMEOUT=%ss"
            % (item.nodeid, limit),
            pytrace=True,
        )

    signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, limit, 5)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
