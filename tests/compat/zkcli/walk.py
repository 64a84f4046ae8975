#!/usr/bin/env python3
"""Drive Apache ZooKeeper's zkCli.sh through a scripted walkthrough.

    walk.py --server 127.0.0.1:PORT --script walkthrough.zk \
            --raw OUT.raw.txt --out OUT.txt

Several zkCli sessions (A, B, C, ...) are long-lived JVMs fed through stdin
(JLine is not on the Debian classpath, so zkCli reads plain lines and prints
no prompt). The driver runs ONE step at a time, so the transcript order is
fully determined by the script, never by timing:

  * a command step sends "<command>" followed by "version" (answered locally
    by zkCli, no server traffic) and collects that session's output up to the
    "ZooKeeper CLI version:" line: exactly the command's output;
  * a wait step ("A? regex") reads session A's output until a line matches:
    that is how watch events triggered from another session are recorded;
  * a poll step ("A~ command ~~ regex") repeats a command until its output
    matches (container/TTL reaping), recording only the final output.

Script syntax (one step per line):
    # text            comment, not recorded
    ## text           section heading, recorded
    A> command        run command in session A ("quit" waits for the exit)
    A? regex          wait for a line of session A's output matching regex
    A~ cmd ~~ regex   poll: rerun cmd in A until its output matches regex

All sessions named in the script are started first (concurrently) and each
waits for its SyncConnected event before any step runs.

The raw transcript keeps zkCli's output verbatim (minus SLF4J noise); the
normalized one replaces volatile values (see normalize()).
"""

import argparse
import os
import queue
import re
import subprocess
import sys
import threading
import time

ZKCLI = os.environ.get("ZKCLI", "/usr/share/zookeeper/bin/zkCli.sh")
MARK = "ZooKeeper CLI version:"
CONNECTED = re.compile(r"WatchedEvent state:SyncConnected type:None path:null")
STEP_TIMEOUT = float(os.environ.get("ZKCLI_STEP_TIMEOUT", "15"))
POLL_TIMEOUT = float(os.environ.get("ZKCLI_POLL_TIMEOUT", "20"))
CONNECT_TIMEOUT = float(os.environ.get("ZKCLI_CONNECT_TIMEOUT", "30"))
MAX_TIMEOUTS = int(os.environ.get("ZKCLI_MAX_TIMEOUTS", "6"))


class Timeout(Exception):
    pass


class Session(object):
    def __init__(self, name, server):
        self.name = name
        self.lines = queue.Queue()
        self.dead = False
        self.pending_marks = 0  # end markers of timed-out steps still to come
        self.proc = subprocess.Popen(
            [ZKCLI, "-server", server],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # zkCli prints results on both
            bufsize=0,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line.startswith("SLF4J:"):
                continue
            self.lines.put(line)
        self.lines.put(None)  # EOF

    def send(self, text):
        if self.dead:
            return
        try:
            self.proc.stdin.write((text + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.dead = True

    def read_until(self, pred, timeout):
        """Lines up to and including the first line with pred(line) true."""
        if self.dead:
            raise Timeout(["<<%s: zkCli is not running>>" % self.name])
        out = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout(out)
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                raise Timeout(out)
            if line is None:
                self.dead = True
                out.append("<<%s: zkCli exited (status %s)>>" % (self.name, self.proc.wait()))
                raise Timeout(out)
            out.append(line)
            if pred(line):
                return out

    def run_command(self, cmd, timeout):
        """Send cmd plus the end marker; return cmd's output lines. Output of
        an earlier, timed-out command that arrives late is kept (it precedes
        its own marker) so later steps stay aligned."""
        self.send(cmd)
        self.send("version")
        need = self.pending_marks + 1
        out = []
        while need:
            try:
                chunk = self.read_until(lambda l: l.startswith(MARK), timeout)
            except Timeout as t:
                self.pending_marks = need
                raise Timeout(out + t.args[0])
            need -= 1
            out.extend(chunk[:-1])
        self.pending_marks = 0
        return out

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def parse_script(path):
    steps = []
    with open(path) as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            s = line.strip()
            if not s or (s.startswith("#") and not s.startswith("##")):
                continue
            if s.startswith("##"):
                steps.append(("heading", None, s[2:].strip()))
                continue
            m = re.match(r"^([A-Z])([>?~])\s?(.*)$", s)
            if not m:
                sys.exit("%s:%d: cannot parse %r" % (path, lineno, line))
            who, kind, rest = m.groups()
            if kind == ">":
                steps.append(("cmd", who, rest))
            elif kind == "?":
                steps.append(("wait", who, rest))
            else:
                if " ~~ " not in rest:
                    sys.exit("%s:%d: poll needs 'cmd ~~ regex'" % (path, lineno))
                cmd, rx = rest.split(" ~~ ", 1)
                steps.append(("poll", who, (cmd.strip(), rx.strip())))
    return steps


def run(server, steps, transcript):
    names = sorted({who for kind, who, _ in steps if who})
    timeouts = [0]

    def emit(lines):
        transcript.extend(lines)

    def note_timeout(what, partial):
        timeouts[0] += 1
        emit(partial)
        emit(["<<timeout: %s>>" % what])
        if timeouts[0] >= MAX_TIMEOUTS:
            emit(["<<aborting walkthrough after %d timeouts>>" % timeouts[0]])
            raise SystemExit(3)

    sessions = {}
    for n in names:  # start all JVMs at once; ~1 s each otherwise
        sessions[n] = Session(n, server)

    try:
        deadline = time.monotonic() + CONNECT_TIMEOUT
        for n in names:
            emit(["[%s] <session start>" % n])
            try:
                left = max(0.1, deadline - time.monotonic())
                emit(sessions[n].read_until(CONNECTED.search, left))
            except Timeout as t:
                emit(t.args[0])
                emit(["<<timeout: %s connecting to %s; aborting>>" % (n, server)])
                raise SystemExit(3)
        for kind, who, arg in steps:
            if kind == "heading":
                emit(["", "## " + arg])
                continue
            s = sessions[who]
            if kind == "cmd":
                emit(["[%s] %s" % (who, arg)])
                if s.dead:
                    emit(["<<%s is not running>>" % who])
                    continue
                if arg.strip() == "quit":
                    s.send(arg)
                    try:
                        s.read_until(lambda l: False, STEP_TIMEOUT)
                    except Timeout as t:
                        out = t.args[0]
                        if out and out[-1].startswith("<<%s: zkCli exited" % who):
                            out = out[:-1]  # normal end of a session
                            emit(out)
                        else:
                            note_timeout("%s quit" % who, out)
                    continue
                try:
                    emit(s.run_command(arg, STEP_TIMEOUT))
                except Timeout as t:
                    note_timeout("%s: %s" % (who, arg), t.args[0])
            elif kind == "wait":
                emit(["[%s] <wait for /%s/>" % (who, arg)])
                rx = re.compile(arg)
                try:
                    emit(s.read_until(rx.search, STEP_TIMEOUT))
                except Timeout as t:
                    note_timeout("%s waiting for /%s/" % (who, arg), t.args[0])
            elif kind == "poll":
                cmd, rxs = arg
                rx = re.compile(rxs)
                emit(["[%s] <poll %s until /%s/>" % (who, cmd, rxs)])
                deadline = time.monotonic() + POLL_TIMEOUT
                last = []
                while True:
                    try:
                        last = s.run_command(cmd, STEP_TIMEOUT)
                    except Timeout as t:
                        note_timeout("%s: %s" % (who, cmd), t.args[0])
                        break
                    if any(rx.search(l) for l in last):
                        emit(last)
                        break
                    if time.monotonic() > deadline:
                        emit(last)
                        note_timeout("%s polling %s for /%s/" % (who, cmd, rxs), [])
                        break
                    time.sleep(0.25)
    finally:
        for s in sessions.values():
            s.stop()
    return transcript


# ---- normalization ------------------------------------------------------------

_STAT_ZXID = re.compile(r"^(cZxid|mZxid|pZxid) = 0x[0-9a-fA-F]+$")
_STAT_TIME = re.compile(r"^(ctime|mtime) = .+$")
_OWNER = re.compile(r"^ephemeralOwner = (0x[0-9a-fA-F]+)$")
_SESSIONID = re.compile(r"\b0x[0-9a-fA-F]{9,16}\b")
_HEADER = re.compile(r"^\[([A-Z])\] (.*)$")
# What zkCli's event thread prints for the Closed event (blank lines included).
_CLOSED_EVENT = ("", "WATCHER::", "WatchedEvent state:Closed type:None path:null")


def normalize(lines, server, keep_zxids=False, strict_order=False):
    """Replace volatile values; keep everything a client could rely on.

    - stat lines cZxid/mZxid/pZxid -> <zxid> (unless keep_zxids: on a fresh
      server they are in fact reproducible); ctime/mtime -> <time>
    - ephemeralOwner: 0x0 is kept (containers/TTL must report 0); a session id
      becomes <session-N>, N in order of first appearance in the transcript
    - other long hex ids (session ids in messages) -> <session-N> likewise
    - the server's host:port -> <server>
    - the Closed event a session prints as it quits is dropped: zkCli's
      "quit" closes the session and then exits the JVM at once, while the
      event thread prints "WATCHER:: ... state:Closed" concurrently, so
      whether (and how much of) it appears is a race inside zkCli itself
    - unordered collections are sorted, unless strict_order: the children
      printed by ls (a list) and ls -R (one path per line), the paths of
      getEphemerals, and the "scheme: id" lines of whoami. ZooKeeper specifies
      no order for any of them; the reference prints Java HashSet/HashMap
      iteration order, which is reproducible but not a contract.
    """
    sessions = {}

    def sid(h):
        h = h.lower()
        if int(h, 16) == 0:
            return h
        if h not in sessions:
            sessions[h] = "<session-%d>" % (len(sessions) + 1)
        return sessions[h]

    out = []
    cmd = ""
    block = []  # ls -R paths being collected

    def flush_block():
        if block:
            out.extend(sorted(block))
            del block[:]

    for i, line in enumerate(lines):
        m = _HEADER.match(line)
        if m:
            flush_block()
            cmd = m.group(2)
            out.append(line.replace(server, "<server>"))
            continue
        if line.startswith("## "):
            cmd = ""
        if cmd.strip() == "quit" and line in _CLOSED_EVENT:
            heading_next = i + 1 < len(lines) and lines[i + 1].startswith("## ")
            if not (line == "" and heading_next):
                continue
        line = line.replace(server, "<server>")
        if _STAT_ZXID.match(line) and not keep_zxids:
            flush_block()
            out.append(line.split(" = ")[0] + " = <zxid>")
            continue
        if _STAT_TIME.match(line):
            flush_block()
            out.append(line.split(" = ")[0] + " = <time>")
            continue
        m = _OWNER.match(line)
        if m:
            flush_block()
            out.append("ephemeralOwner = " + sid(m.group(1)))
            continue
        line = _SESSIONID.sub(lambda mm: sid(mm.group(0)), line)
        words = cmd.split()
        verb = words[0] if words else ""
        if not strict_order:
            if verb in ("ls", "getEphemerals") and line.startswith("[") and line.endswith("]"):
                items = [i for i in line[1:-1].split(", ") if i]
                line = "[" + ", ".join(sorted(items)) + "]"
            if verb == "ls" and "-R" in words and line.startswith("/"):
                block.append(line)
                continue
            if verb == "whoami" and not line.startswith("Auth scheme:") and ": " in line:
                block.append(line)
                continue
        flush_block()
        out.append(line)
    flush_block()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True, help="127.0.0.1:PORT")
    ap.add_argument("--script", required=True)
    ap.add_argument("--raw", required=True, help="raw transcript path")
    ap.add_argument("--out", required=True, help="normalized transcript path")
    ap.add_argument(
        "--keep-zxids",
        action="store_true",
        default=os.environ.get("ZKCLI_KEEP_ZXIDS") == "1",
        help="do not normalize cZxid/mZxid/pZxid (stricter; env ZKCLI_KEEP_ZXIDS=1)",
    )
    ap.add_argument(
        "--strict-order",
        action="store_true",
        default=os.environ.get("ZKCLI_STRICT_ORDER", "1") == "1",
        help="keep the order of ls/getEphemerals/whoami items (the default; "
        "env ZKCLI_STRICT_ORDER=0 sorts them)",
    )
    a = ap.parse_args()

    steps = parse_script(a.script)
    status = 0
    transcript = []
    try:
        run(a.server, steps, transcript)
    except SystemExit as e:  # aborted: keep what we have
        status = e.code if isinstance(e.code, int) else 3
    with open(a.raw, "w") as f:
        f.write("\n".join(transcript) + "\n")
    with open(a.out, "w") as f:
        f.write("\n".join(normalize(transcript, a.server, a.keep_zxids, a.strict_order)) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
