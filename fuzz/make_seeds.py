#!/usr/bin/env python3
"""Seed corpora for the fuzz targets from the golden fixtures (tests/golden/*.hex).

    python3 fuzz/make_seeds.py        # writes fuzz/corpus/{frame_decode,server_input}/

frame_decode: one seed per fixture (config byte 0x3f = 64-byte chunks, then the
request frame), plus one per connection with all its request frames.
server_input: the whole capture run as target commands (tag 0x10|slot, a 2-byte
length, the frame payload), plus each connection's requests alone.
"""

import glob
import os

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "tests", "golden")


def fixtures():
    out = []
    for path in glob.glob(os.path.join(GOLDEN, "*.hex")):
        f = {"name": os.path.basename(path)[:-4]}
        for line in open(path):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, value = (s.strip() for s in line.split(":", 1))
            if key in ("seq", "conn"):
                f[key] = int(value)
            elif key == "request":
                f["request"] = bytes.fromhex(value)
        out.append(f)
    return sorted(out, key=lambda f: f["seq"])


def command(slot, payload):
    return bytes([0x10 | slot]) + len(payload).to_bytes(2, "big") + payload


def main():
    fx = fixtures()
    fd = os.path.join(HERE, "corpus", "frame_decode")
    si = os.path.join(HERE, "corpus", "server_input")
    os.makedirs(fd, exist_ok=True)
    os.makedirs(si, exist_ok=True)
    for f in fx:
        open(os.path.join(fd, f["name"]), "wb").write(b"\x3f" + f["request"])
    conns = sorted({f["conn"] for f in fx})
    for c in conns:
        reqs = [f["request"] for f in fx if f["conn"] == c]
        open(os.path.join(fd, f"conn{c}"), "wb").write(b"\x3f" + b"".join(reqs))
        open(os.path.join(si, f"conn{c}"), "wb").write(
            b"".join(command(0, r[4:]) for r in reqs)
        )
    run = b"".join(command(min(f["conn"], 3), f["request"][4:]) for f in fx)
    open(os.path.join(si, "capture_run"), "wb").write(run + b"\xbf")  # + a 31 s tick
    print(f"{len(fx)} fixtures -> {fd}, {si}")


if __name__ == "__main__":
    main()
