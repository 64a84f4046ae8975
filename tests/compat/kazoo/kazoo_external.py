"""pytest plugin: run kazoo's own test suite against ONE external server.

Load with ``-p kazoo_external`` (this directory on PYTHONPATH).

Environment:
  ZK_HOSTS             external server, "host:port" (required)
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
"""

import os
import signal
import socket
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


_CLUSTER = None


def get_external_cluster():
    global _CLUSTER
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
    return "kazoo_external: ZK_HOSTS=%s deselect=%s" % (
        os.environ.get("ZK_HOSTS"),
        _deselect_file(),
    )


def pytest_collection_modifyitems(session, config, items):
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
