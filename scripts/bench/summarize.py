#!/usr/bin/env python3
"""Summarise scripts/bench-compare.sh results (JSON lines written by zkbench).

usage: summarize.py OUTDIR

Reads OUTDIR/{loaded,sync}-{ours,ref}.jsonl (one object per workload per
round, rounds in file order), OUTDIR/fsync.jsonl, OUTDIR/ready.jsonl,
OUTDIR/rss.jsonl, and OUTDIR/memory.jsonl / restart.jsonl when present.
Prints Markdown tables: the median over rounds for each figure, and the
ours/reference throughput ratio as the median of the per-round ratios
with its min-max spread.
"""
import json
import os
import statistics
import sys


def load(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def by_workload(rows):
    out = {}
    for r in rows:
        out.setdefault(r["workload"], []).append(r)
    return out


def med(values):
    return statistics.median(values) if values else float("nan")


def fmt_ops(v):
    return f"{v:,.0f}"


def mib(b):
    return f"{b / 1048576:.1f} MiB"


def cpu(rows, refs):
    o = [r["server_cpu_us_per_op"] for r in rows if "server_cpu_us_per_op" in r]
    f = [r["server_cpu_us_per_op"] for r in refs if "server_cpu_us_per_op" in r]
    if not o or not f:
        return "n/a"
    return f"{med(o):.1f} / {med(f):.1f} ({med(f) / med(o):.1f}x)" if med(o) > 0 else "n/a"


def main(outdir):
    ours = by_workload(load(f"{outdir}/loaded-ours.jsonl"))
    ref = by_workload(load(f"{outdir}/loaded-ref.jsonl"))
    if ours:
        any_row = next(iter(ours.values()))[0]
        rounds = max(len(v) for v in ours.values())
        print(f"Loaded: {any_row['sessions']} sessions x {any_row['outstanding']} outstanding, "
              f"{any_row['size']}-byte znodes, {rounds} rounds (median; ratio = ours / reference, "
              "median and min-max of the per-round ratios)\n")
        print("| workload | ours ops/s | reference ops/s | ratio (min-max) | ours p99 µs "
              "| reference p99 µs | server CPU µs/op ours / ref (ref ÷ ours) |")
        print("|---|---:|---:|---|---:|---:|---|")
        for w, rows in ours.items():
            refs = ref.get(w, [])
            ratios = [o["ops_per_sec"] / r["ops_per_sec"]
                      for o, r in zip(rows, refs) if r["ops_per_sec"] > 0]
            ratio = (f"{med(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"
                     if ratios else "n/a")
            errors = sum(r["errors"] for r in rows) + sum(r["errors"] for r in refs)
            note = f" ({errors} errors)" if errors else ""
            print(f"| {w}{note} | {fmt_ops(med([r['ops_per_sec'] for r in rows]))} "
                  f"| {fmt_ops(med([r['ops_per_sec'] for r in refs]))} | {ratio} "
                  f"| {med([r['p99_us'] for r in rows]):.0f} "
                  f"| {med([r['p99_us'] for r in refs]):.0f} | {cpu(rows, refs)} |")
        print()
    sync_o = by_workload(load(f"{outdir}/sync-ours.jsonl"))
    sync_r = by_workload(load(f"{outdir}/sync-ref.jsonl"))
    fsync = load(f"{outdir}/fsync.jsonl")
    if sync_o:
        print("Unloaded (one session, one request at a time), median over rounds:\n")
        print("| figure | ours | reference |")
        print("|---|---:|---:|")
        for w, what in (("set", "sync write (setData) p50 µs"), ("get", "sync read (getData) p50 µs")):
            print(f"| {what} | {med([r['p50_us'] for r in sync_o.get(w, [])]):.0f} "
                  f"| {med([r['p50_us'] for r in sync_r.get(w, [])]):.0f} |")
        for w, what in (("set", "sync write p99 µs"), ("get", "sync read p99 µs")):
            print(f"| {what} | {med([r['p99_us'] for r in sync_o.get(w, [])]):.0f} "
                  f"| {med([r['p99_us'] for r in sync_r.get(w, [])]):.0f} |")
        if fsync:
            print(f"| one write+fdatasync on this disk, p50 µs (p99) | "
                  f"{fsync[0]['p50_us']} ({fsync[0]['p99_us']}) | same disk |")
        print()
    ready = {r["label"]: r for r in load(f"{outdir}/ready.jsonl")}
    rss = {r["label"]: r for r in load(f"{outdir}/rss.jsonl")}
    if ready or rss:
        print("Start-up, empty data directory:\n")
        print("| figure | ours | reference |")
        print("|---|---:|---:|")
        if ready:
            for key, what in (("srvr_ms", "launch → `srvr` reports Mode (ms)"),
                              ("connect_ms", "launch → first session (ms)")):
                print(f"| {what} | {ready.get('ours', {}).get(key, float('nan')):.1f} "
                      f"| {ready.get('ref', {}).get(key, float('nan')):.1f} |")
        if rss:
            print(f"| idle RSS after start | {mib(rss['ours']['rss_bytes'])} "
                  f"| {mib(rss['ref']['rss_bytes'])} |")
        print()
    memory = {r["label"]: r for r in load(f"{outdir}/memory.jsonl")}
    if memory:
        o, r = memory.get("ours", {}), memory.get("ref", {})
        print(f"Memory: {o.get('znodes', r.get('znodes', 0)):,.0f} znodes of "
              f"{o.get('size', r.get('size', 0))} bytes (VmRSS after − before):\n")
        print("| figure | ours | reference |")
        print("|---|---:|---:|")
        print(f"| bytes per znode | {o.get('bytes_per_znode', float('nan')):.0f} "
              f"| {r.get('bytes_per_znode', float('nan')):.0f} |")
        print(f"| RSS before / after | {mib(o.get('rss_before_bytes', 0))} / "
              f"{mib(o.get('rss_after_bytes', 0))} | {mib(r.get('rss_before_bytes', 0))} / "
              f"{mib(r.get('rss_after_bytes', 0))} |")
        print(f"| create rate while filling (ops/s) | {o.get('ops_per_sec', 0):,.0f} "
              f"| {r.get('ops_per_sec', 0):,.0f} |")
        print()
    restart = {r["label"]: r for r in load(f"{outdir}/restart.jsonl")}
    if restart:
        o, r = restart.get("ours", {}), restart.get("ref", {})
        print("Restart with the populated data directory:\n")
        print("| figure | ours | reference | ratio (ref / ours) |")
        print("|---|---:|---:|---:|")
        for key, what in (("srvr_ms", "launch → `srvr` reports Mode (ms)"),
                          ("connect_ms", "launch → first session (ms)")):
            ov, rv = o.get(key, float("nan")), r.get(key, float("nan"))
            print(f"| {what} | {ov:.0f} | {rv:.0f} | {rv / ov:.2f}x |")
        if "rss_bytes" in o or "rss_bytes" in r:
            print(f"| RSS once serving | {mib(o.get('rss_bytes', 0))} "
                  f"| {mib(r.get('rss_bytes', 0))} | |")
        print()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
