#!/usr/bin/env python3
"""Drive zkcli's interactive shell through a pseudo-terminal.

    drive_zkcli.py ZKCLI_BIN HOST:PORT HISTORY_FILE

Checks, against a server where /ptytest/alpha holds "alpha-data":
  1. Tab completes a command name (getAll -> getAllChildrenNumber);
  2. Tab completes a znode path read from the server (/ptyt -> /ptytest,
     then /ptytest/al -> /ptytest/alpha);
  3. up-arrow recalls the previous command, and the history survives a
     restart (the second shell recalls the first shell's last command);
  4. a watch event is printed while the shell sits idle at its prompt
     (fired by a one-shot zkcli from outside).
Every wait has a deadline; exit status 0 means all checks passed.
"""
import os
import pty
import re
import select
import subprocess
import sys
import time

BIN, SERVER, HISTORY = sys.argv[1:4]
STEP_TIMEOUT = 15.0


class Shell(object):
    def __init__(self):
        env = dict(os.environ, TERM="xterm", ZKCLI_HISTORY=HISTORY)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(BIN, [BIN, "-server", SERVER], env)
        self.buf = ""

    def expect(self, pattern, what):
        rx = re.compile(pattern)
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                sys.exit("timeout waiting for %s (/%s/); got: %r" % (what, pattern, self.buf[-600:]))
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    sys.exit("shell exited while waiting for %s; got: %r" % (what, self.buf[-600:]))
                self.buf += chunk.decode("utf-8", "replace")

    def send(self, text):
        os.write(self.fd, text.encode())

    def prompt(self, n):
        return self.expect(r"\[zk: [^\]]*\(CONNECTED\) %d\] " % n, "prompt %d" % n)

    def quit(self):
        self.send("quit\r")
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            try:
                select.select([self.fd], [], [], 0.2)
                os.read(self.fd, 4096)
            except OSError:
                pass
        sys.exit("shell did not exit after quit")


sh = Shell()
sh.prompt(0)

# 1. command completion: the line becomes "getAllChildrenNumber " + "/".
sh.send("getAll\t")
sh.expect(r"getAllChildrenNumber ", "completed command name")
sh.send("/ptytest\r")
sh.expect(r"\r\n1\r\n", "getAllChildrenNumber output")
sh.prompt(1)

# 2. path completion, two levels, read live from the server.
sh.send("get /ptyt\t")
sh.expect(r"/ptytest", "completed /ptytest")
sh.send("/al\t")
sh.expect(r"alpha", "completed /ptytest/alpha")
sh.send("\r")
sh.expect(r"alpha-data", "get output")
sh.prompt(2)

# 3. up-arrow recalls "get /ptytest/alpha".
sh.send("\x1b[A")
sh.expect(r"get /ptytest/alpha", "recalled line")
sh.send("\r")
sh.expect(r"alpha-data", "recalled command's output")
sh.prompt(3)

# 4. a watch fires while the shell is idle.
sh.send("get -w /ptytest/alpha\r")
sh.expect(r"alpha-data", "get -w output")
sh.prompt(4)
subprocess.run([BIN, "-server", SERVER, "set", "/ptytest/alpha", "changed"],
               check=True, stdout=subprocess.DEVNULL, timeout=STEP_TIMEOUT)
sh.expect(r"WatchedEvent state:SyncConnected type:NodeDataChanged path:/ptytest/alpha",
          "watch event while idle")
status = sh.quit()
if status != 0:
    sys.exit("first shell exited %s" % status)

# 3b. the history file carries over to a new shell.
with open(HISTORY) as f:
    if "get -w /ptytest/alpha" not in f.read():
        sys.exit("history file lacks the last command")
sh = Shell()
sh.prompt(0)
sh.send("\x1b[A")
sh.expect(r"quit", "previous run's last line (quit)")
sh.send("\x1b[A")
sh.expect(r"get -w /ptytest/alpha", "previous run's command")
sh.send("\x15")  # clear the line (Ctrl-U) before quitting
status = sh.quit()
print("pty checks passed")
sys.exit(0 if status == 0 else 1)
