#!/usr/bin/env python3
"""Acceptance rate of the real daemon, durability "sync" against "none", in one run: starts
outpost relaying to smtp-sink, injects COUNT 4 KiB messages over CONNECTIONS smtplib clients
(one process each), and prints messages/s acknowledged for each mode. A stand-in until
`outpost bench blast` exists; Python's smtplib limits the absolute figures, so read the ratio.
  bench/e2e_rate.py --outpost build/release/app/outpost [--count 4000] [--connections 8]"""
import argparse
import multiprocessing
import os
import smtplib
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))
from harness import Outpost, Sink, TempDir, message  # noqa: E402


def client(args):
    port, start, count = args
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        for i in range(start, start + count):
            msg = message(i, "rate")
            msg.set_content("r" * 4000 + "\n")
            smtp.send_message(msg, "sender@example.com", ["rcpt@example.net"])


def measure(binary, durability, count, connections):
    with TempDir() as workdir:
        sink = Sink(workdir)
        outpost = Outpost(binary, workdir, sink.port,
                          {"spool": {"durability": f'"{durability}"'}})
        outpost.start()
        per = count // connections
        began = time.monotonic()
        with multiprocessing.Pool(connections) as pool:
            pool.map(client, [(outpost.port, c * per, per) for c in range(connections)])
        elapsed = time.monotonic() - began
        outpost.stop()
        sink.stop()
        return per * connections / elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--outpost", required=True)
    parser.add_argument("--count", type=int, default=4000)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    rates = {}
    for durability in ("sync", "none", "sync", "none"):
        rate = measure(args.outpost, durability, args.count, args.connections)
        rates.setdefault(durability, []).append(rate)
        print(f"{durability:5s} {rate:8.0f} messages/s acknowledged", flush=True)
    best = {k: max(v) for k, v in rates.items()}
    print(f"sync/none ratio (best of 2 each): {best['sync'] / best['none']:.2f}")


if __name__ == "__main__":
    main()
