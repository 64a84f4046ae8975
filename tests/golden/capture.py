#!/usr/bin/env python3
"""Capture golden client-protocol frames from a running Apache ZooKeeper.

Usage:
    python3 tests/golden/capture.py --start-reference        # launch, capture, stop
    python3 tests/golden/capture.py --port 2181 [--host 127.0.0.1] [--out DIR]

`--start-reference` runs the Debian package's ZooKeeper 3.8.0 (`apt-get install
zookeeper`) on 127.0.0.1 with a free port and a temporary dataDir, and stops it
(by pid) afterwards. Otherwise the server at --host/--port must be a fresh
standalone Apache ZooKeeper 3.8 started with `-Dzookeeper.extendedTypesEnabled=true`
(createTTL) and holding no `/golden` node. The
script uses plain sockets only: every request is encoded here by hand, so the
fixtures record exactly what the reference answers to known bytes.

Fixture format: one file `<name>.hex` per exchange (one request and the frames
the server sent back before the next request), UTF-8 text, one item per line:

    # free-text comment (ignored by readers)
    seq: 12                   order of the exchange within the capture run
    conn: 0                   which client connection sent it (0 = the main one)
    op: getData               the exchange's operation (facts §1.2 name, or `connect`)
    request: 0000001a...      the full request frame, 4-byte length prefix included
    reply: 00000010...        zero or more: each full frame received, in arrival order

Hex is lowercase without separators. Requests are replayed in `seq` order; each
connection's first exchange is its `connect`. A `reply` may be a watch
notification (xid -1) that arrived before the request's own reply. After a
`closeSession` (or a failed auth) the server closes the socket; no line marks
that. Timestamps, session ids and zxids are whatever the reference produced.
"""

import argparse
import base64
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time

# ---------------------------------------------------------------- jute encoding


def j_int(v):
    return struct.pack(">i", v)


def j_long(v):
    return struct.pack(">q", v)


def j_bool(v):
    return b"\x01" if v else b"\x00"


def j_buffer(b):
    if b is None:
        return j_int(-1)
    return j_int(len(b)) + b


def j_string(s):
    if s is None:
        return j_int(-1)
    raw = s.encode("utf-8")
    return j_int(len(raw)) + raw


def j_vector(items, enc):
    if items is None:
        return j_int(-1)
    return j_int(len(items)) + b"".join(enc(i) for i in items)


def j_acl(acl):
    perms, scheme, ident = acl
    return j_int(perms) + j_string(scheme) + j_string(ident)


def j_acls(acls):
    return j_vector(acls, j_acl)


OPEN_ACL = [(31, "world", "anyone")]

# ---------------------------------------------------------------- opcodes

OP = {
    "create": 1,
    "delete": 2,
    "exists": 3,
    "getData": 4,
    "setData": 5,
    "getACL": 6,
    "setACL": 7,
    "getChildren": 8,
    "sync": 9,
    "ping": 11,
    "getChildren2": 12,
    "check": 13,
    "multi": 14,
    "create2": 15,
    "reconfig": 16,
    "checkWatches": 17,
    "removeWatches": 18,
    "createContainer": 19,
    "createTTL": 21,
    "multiRead": 22,
    "auth": 100,
    "setWatches": 101,
    "getEphemerals": 103,
    "getAllChildrenNumber": 104,
    "setWatches2": 105,
    "addWatch": 106,
    "whoAmI": 107,
    "closeSession": -11,
}

# records


def create_req(path, data, acl, flags):
    return j_string(path) + j_buffer(data) + j_acls(acl) + j_int(flags)


def create_ttl_req(path, data, acl, flags, ttl):
    return create_req(path, data, acl, flags) + j_long(ttl)


def path_watch(path, watch):
    return j_string(path) + j_bool(watch)


def path_int(path, v):
    return j_string(path) + j_int(v)


def set_data_req(path, data, version):
    return j_string(path) + j_buffer(data) + j_int(version)


def multi_header(type_, done, err):
    return j_int(type_) + j_bool(done) + j_int(err)


def multi(ops):
    """ops: list of (opname, record bytes)."""
    out = b""
    for name, body in ops:
        out += multi_header(OP[name], False, -1) + body
    return out + multi_header(-1, True, -1)


def digest(user, password):
    sha = hashlib.sha1(f"{user}:{password}".encode()).digest()
    return f"{user}:{base64.b64encode(sha).decode()}"


# ---------------------------------------------------------------- connection


class Conn:
    def __init__(self, capture, index, host, port):
        self.capture = capture
        self.index = index
        self.sock = socket.create_connection((host, port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.xid = 0
        self.buf = b""
        self.closed = False
        self.session_id = 0
        self.passwd = b""

    def read_frame(self, timeout):
        """One full frame (with its prefix), or None on timeout/EOF."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 4:
                (n,) = struct.unpack(">i", self.buf[:4])
                if len(self.buf) >= 4 + n:
                    frame, self.buf = self.buf[: 4 + n], self.buf[4 + n :]
                    return frame
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.closed = True
                return None
            self.buf += chunk

    def exchange(self, name, op, frame_payload, want_xid, grace=0.25, wait_close=False):
        frame = j_int(len(frame_payload)) + frame_payload
        self.sock.sendall(frame)
        replies = []
        got = want_xid is None
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            f = self.read_frame(deadline - time.monotonic())
            if f is None:
                break
            replies.append(f)
            if op == "connect":
                got = True
            elif struct.unpack(">i", f[4:8])[0] == want_xid:
                got = True
        if not got:
            raise SystemExit(
                f"{name}: no reply with xid {want_xid} (closed={self.closed}, got {replies})"
            )
        # Anything else the server sends right after (late events, or nothing).
        while True:
            f = self.read_frame(grace)
            if f is None:
                break
            replies.append(f)
        if wait_close:
            f = self.read_frame(3)
            if f is not None:
                replies.append(f)
        self.capture.write(name, self.index, op, frame, replies)
        return replies

    def connect(self, name, read_only=True, session_id=0, passwd=b"\x00" * 16, timeout=30000):
        body = j_int(0) + j_long(0) + j_int(timeout) + j_long(session_id) + j_buffer(passwd)
        if read_only:
            body += j_bool(False)
        (reply,) = self.exchange(name, "connect", body, None)[:1]
        # ConnectResponse: int proto, int timeout, long session, buffer passwd
        _, _, sid = struct.unpack(">iiq", reply[4:20])
        (plen,) = struct.unpack(">i", reply[20:24])
        self.session_id, self.passwd = sid, reply[24 : 24 + plen]
        return reply

    def request(self, name, opname, body=b"", xid=None, **kw):
        if xid is None:
            self.xid += 1
            xid = self.xid
        payload = j_int(xid) + j_int(OP[opname]) + body
        return self.exchange(name, opname, payload, xid, **kw)

    def close(self):
        self.sock.close()


class Capture:
    def __init__(self, out):
        self.out = out
        self.seq = 0
        self.names = set()

    def write(self, name, conn, op, request, replies):
        assert name not in self.names, name
        self.names.add(name)
        self.seq += 1
        lines = [
            f"# {name}: captured from Apache ZooKeeper 3.8 by tests/golden/capture.py",
            f"seq: {self.seq}",
            f"conn: {conn}",
            f"op: {op}",
            f"request: {request.hex()}",
        ]
        for r in replies:
            if op != "connect" and len(r) >= 20:
                xid, zxid, err = struct.unpack(">iqi", r[4:20])
                lines.append(f"# reply xid={xid} zxid={zxid:#x} err={err}")
            lines.append(f"reply: {r.hex()}")
        with open(os.path.join(self.out, f"{name}.hex"), "w") as fh:
            fh.write("\n".join(lines) + "\n")
        print(f"{self.seq:3} {name}: {len(replies)} reply frame(s)")


# ---------------------------------------------------------------- the script


def run(host, port, out):
    cap = Capture(out)
    S = j_string
    secret_acl = [(31, "digest", digest("golden", "secret"))]
    readable_acl = secret_acl + [(1, "world", "anyone")]

    a = Conn(cap, 0, host, port)
    a.connect("connect")

    # A second client without the trailing read-only byte (pre-3.4 form).
    b = Conn(cap, 1, host, port)
    b.connect("connect_no_read_only", read_only=False)

    # create and friends
    a.request("create", "create", create_req("/golden", b"root", OPEN_ACL, 0))
    a.request("create_node_exists", "create", create_req("/golden", b"again", OPEN_ACL, 0))
    a.request("create_no_node", "create", create_req("/missing/child", b"", OPEN_ACL, 0))
    a.request("create_invalid_acl", "create", create_req("/golden/badacl", b"", [], 0))
    a.request("create_null_data", "create", create_req("/golden/nulldata", None, OPEN_ACL, 0))
    a.request("create2", "create2", create_req("/golden/c2", b"two", OPEN_ACL, 0))
    a.request("create_sequential", "create", create_req("/golden/seq-", b"s", OPEN_ACL, 2))
    a.request("create2_ephemeral", "create2", create_req("/golden/eph", b"e", OPEN_ACL, 1))
    a.request(
        "create_no_children_for_ephemerals",
        "create",
        create_req("/golden/eph/kid", b"", OPEN_ACL, 0),
    )
    a.request(
        "create_container", "createContainer", create_req("/golden/box", b"box", OPEN_ACL, 4)
    )
    a.request(
        "create_ttl", "createTTL", create_ttl_req("/golden/ttl", b"ttl", OPEN_ACL, 5, 600000)
    )
    a.request(
        "create_ttl_bad_ttl",
        "createTTL",
        create_ttl_req("/golden/ttl2", b"", OPEN_ACL, 5, 0),
    )

    # reads
    a.request("exists_hit", "exists", path_watch("/golden", False))
    a.request("exists_miss", "exists", path_watch("/golden/nope", False))
    a.request("get_data", "getData", path_watch("/golden/c2", False))
    a.request("get_data_null", "getData", path_watch("/golden/nulldata", False))
    a.request("get_data_no_node", "getData", path_watch("/golden/nope", False))
    a.request("get_acl", "getACL", S("/golden"))
    a.request("get_children", "getChildren", path_watch("/golden", False))
    a.request("get_children2", "getChildren2", path_watch("/golden", False))
    a.request("get_children_no_node", "getChildren", path_watch("/golden/nope", False))
    a.request("get_ephemerals", "getEphemerals", S("/golden"))
    a.request("get_all_children_number", "getAllChildrenNumber", S("/golden"))
    a.request("sync", "sync", S("/golden"))
    a.request("ping", "ping", b"", xid=-2)
    a.request("who_am_i", "whoAmI")

    # writes
    a.request("set_data", "setData", set_data_req("/golden/c2", b"two-v1", 0))
    a.request("set_data_bad_version", "setData", set_data_req("/golden/c2", b"x", 7))
    a.request("set_data_no_node", "setData", set_data_req("/golden/nope", b"x", -1))
    a.request("set_acl", "setACL", S("/golden/c2") + j_acls(OPEN_ACL) + j_int(0))
    a.request("set_acl_bad_version", "setACL", S("/golden/c2") + j_acls(OPEN_ACL) + j_int(5))
    a.request("delete_no_node", "delete", path_int("/golden/nope", -1))
    a.request("delete_not_empty", "delete", path_int("/golden", -1))
    a.request("delete_bad_version", "delete", path_int("/golden/nulldata", 3))
    a.request("delete", "delete", path_int("/golden/nulldata", 0))

    # multi
    a.request(
        "multi",
        "multi",
        multi(
            [
                ("create", create_req("/golden/m1", b"m", OPEN_ACL, 0)),
                ("create2", create_req("/golden/m2", b"m", OPEN_ACL, 0)),
                ("create", create_req("/golden/mseq-", b"m", OPEN_ACL, 2)),
                ("createContainer", create_req("/golden/mbox", b"", OPEN_ACL, 4)),
                ("createTTL", create_ttl_req("/golden/mttl", b"", OPEN_ACL, 5, 600000)),
                ("setData", set_data_req("/golden/m1", b"m1", 0)),
                ("check", path_int("/golden/m1", 1)),
                ("delete", path_int("/golden/m2", 0)),
            ]
        ),
    )
    a.request(
        "multi_failure",
        "multi",
        multi(
            [
                ("create", create_req("/golden/f1", b"", OPEN_ACL, 0)),
                ("check", path_int("/golden/m1", 0)),
                ("delete", path_int("/golden/nope", -1)),
            ]
        ),
    )
    a.request("multi_empty", "multi", multi([]))
    a.request(
        "multi_read",
        "multiRead",
        multi(
            [
                ("getData", path_watch("/golden/c2", False)),
                ("getChildren", path_watch("/golden", False)),
                ("getData", path_watch("/golden/nope", False)),
                ("getChildren", path_watch("/golden/nope", False)),
            ]
        ),
    )
    a.request(
        "multi_read_with_write",
        "multiRead",
        multi(
            [
                ("getData", path_watch("/golden/c2", False)),
                ("create", create_req("/golden/x", b"", OPEN_ACL, 0)),
            ]
        ),
    )

    # watches and notifications
    a.request("get_data_watch", "getData", path_watch("/golden/c2", True))
    a.request("check_watches", "checkWatches", path_int("/golden/c2", 2))
    a.request("check_watches_no_watcher", "checkWatches", path_int("/golden/c2", 1))
    a.request("notification_data_changed", "setData", set_data_req("/golden/c2", b"v2", -1))
    a.request("exists_watch_miss", "exists", path_watch("/golden/later", True))
    a.request("notification_created", "create", create_req("/golden/later", b"", OPEN_ACL, 0))
    a.request("get_children_watch", "getChildren", path_watch("/golden/later", True))
    a.request(
        "notification_children_changed",
        "create",
        create_req("/golden/later/kid", b"", OPEN_ACL, 0),
    )
    a.request("get_data_watch_kid", "getData", path_watch("/golden/later/kid", True))
    a.request("notification_deleted", "delete", path_int("/golden/later/kid", -1))
    a.request("get_data_watch_again", "getData", path_watch("/golden/c2", True))
    a.request("remove_watches", "removeWatches", path_int("/golden/c2", 3))
    a.request("remove_watches_no_watcher", "removeWatches", path_int("/golden/c2", 2))
    a.request("add_watch", "addWatch", path_int("/golden/later", 1))
    a.request(
        "notification_persistent_recursive",
        "create",
        create_req("/golden/later/deep", b"", OPEN_ACL, 0),
    )
    a.request("check_watches_persistent", "checkWatches", path_int("/golden/later", 5))
    a.request("add_watch_persistent", "addWatch", path_int("/golden/c2", 0))
    a.request(
        "set_watches",
        "setWatches",
        j_long(1)
        + j_vector(["/golden/c2"], S)
        + j_vector(["/golden/nope", "/golden/gone"], S)
        + j_vector(["/golden"], S),
        xid=-8,
    )
    a.request(
        "set_watches2",
        "setWatches2",
        j_long(1)
        + j_vector(["/golden/m1"], S)
        + j_vector([], S)
        + j_vector([], S)
        + j_vector(["/golden/box"], S)
        + j_vector(["/golden/ttl"], S),
        xid=-8,
    )

    # ACLs and auth
    a.request("create_secret", "create", create_req("/golden/secret", b"hidden", secret_acl, 0))
    a.request("get_data_no_auth", "getData", path_watch("/golden/secret", False))
    a.request("set_data_no_auth", "setData", set_data_req("/golden/secret", b"x", -1))
    a.request("get_acl_no_auth", "getACL", S("/golden/secret"))
    a.request("create_readable", "create", create_req("/golden/readable", b"r", readable_acl, 0))
    a.request("get_acl_masked", "getACL", S("/golden/readable"))
    a.request("auth", "auth", j_int(0) + S("digest") + j_buffer(b"golden:secret"), xid=-4)
    a.request("get_data_authed", "getData", path_watch("/golden/secret", False))
    a.request("get_acl_authed", "getACL", S("/golden/secret"))
    a.request("who_am_i_authed", "whoAmI")
    a.request(
        "reconfig",
        "reconfig",
        S("") + S("") + S("server.1=127.0.0.1:2888:3888;2181") + j_long(-1),
    )

    # A reconnect with connection 1's session id and a wrong password. (The
    # reference first closes the socket currently holding that session, so
    # this must not name the main connection's session.)
    c = Conn(cap, 2, host, port)
    c.connect("connect_bad_password", session_id=b.session_id, passwd=b"\x01" * 16)
    c.close()

    # Reattach connection 1's session on a new socket with the right password.
    b.close()
    d = Conn(cap, 3, host, port)
    d.connect("connect_reattach", session_id=b.session_id, passwd=b.passwd)
    d.request("close_session_reattached", "closeSession", wait_close=True)
    d.close()

    # A failed auth closes the connection.
    e = Conn(cap, 4, host, port)
    e.connect("connect_for_auth_failed")
    e.request(
        "auth_failed", "auth", j_int(0) + S("nosuch") + j_buffer(b"whatever"), xid=-4, wait_close=True
    )
    e.close()

    a.request("close_session", "closeSession", wait_close=True)
    a.close()
    print(f"{cap.seq} fixtures written to {out}")


def four_letter(host, port, word):
    with socket.create_connection((host, port), timeout=2) as s:
        s.sendall(word.encode())
        out = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return out.decode(errors="replace")
            out += chunk


def start_reference():
    """Starts the reference on a free loopback port; returns (process, port, tmpdir)."""
    tmp = tempfile.mkdtemp(prefix="zk-golden-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.makedirs(os.path.join(tmp, "data"))
    cfg = os.path.join(tmp, "zoo.cfg")
    with open(cfg, "w") as fh:
        fh.write(
            "tickTime=2000\n"
            f"dataDir={tmp}/data\n"
            f"clientPort={port}\n"
            "clientPortAddress=127.0.0.1\n"
            "maxClientCnxns=0\n"
            "admin.enableServer=false\n"
            "4lw.commands.whitelist=*\n"
        )
    jars = ["/usr/share/java/zookeeper.jar"] + [
        j
        for j in ("/usr/share/java/slf4j-log4j12.jar", "/usr/share/java/log4j-1.2.jar")
        if os.path.exists(j)
    ]
    log = open(os.path.join(tmp, "zk.log"), "w")
    proc = subprocess.Popen(
        [
            "java",
            "-Dzookeeper.extendedTypesEnabled=true",
            "-Dzookeeper.4lw.commands.whitelist=*",
            "-cp",
            ":".join(jars),
            "org.apache.zookeeper.server.ZooKeeperServerMain",
            cfg,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if four_letter("127.0.0.1", port, "ruok") == "imok":
                return proc, port, tmp
        except OSError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.25)
    stop_reference(proc, tmp)
    raise SystemExit(f"reference did not start; see {tmp}/zk.log")


def stop_reference(proc, tmp):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2181)
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--start-reference", action="store_true")
    args = ap.parse_args()
    if not args.start_reference:
        run(args.host, args.port, args.out)
        return
    proc, port, tmp = start_reference()
    try:
        run("127.0.0.1", port, args.out)
    finally:
        stop_reference(proc, tmp)


if __name__ == "__main__":
    main()
