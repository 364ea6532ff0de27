#!/usr/bin/env python3
"""Hostile connections against one listener of a real daemon, and what a legitimate client sees
meanwhile (issue 21 item 2): slowloris connections (a byte a second of a line that never ends),
pipeliners that never read, and IMAP `a APPEND INBOX {52428800}` before login, all open at once
from many 127.x source addresses; a client from another address is timed (connect to served)
while they are, and the daemon's RSS is sampled. Prints one JSON object.

  bench/limits_flood.py --outpost build/release/app/outpost --listener submission \\
      --slowloris 1000 --nonreading 300 --literal 20 --addresses 64

--addresses 1 shows the per-IP cap instead: all but connections_per_ip are refused. The
daemon is started here, in a temp directory, with the default [limits] unless --set adds
keys ("limits.command_timeout=\\"5s\\""). Raises RLIMIT_NOFILE to its hard limit.
"""
import argparse
import json
import multiprocessing
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from harness import Outpost, TempDir  # noqa: E402
from scripted_peer import ScriptedPeer  # noqa: E402

SLOW_LINE = {
    "submission": b"EHLO " + b"s" * 4000,
    "http": b"GET / HTTP/1.1\r\nX-Slow: " + b"s" * 4000,
    "imap": b"a1 CAPABILITY " + b"s" * 4000,
}
PIPELINED = {
    "submission": b"NOOP\r\n" * 2000,
    "http": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 400,
    "imap": b"a NOOP\r\n" * 2000,
}
LITERAL_BYTES = 52428800


def source(index):
    return f"127.0.{1 + index // 250}.{1 + index % 250}"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def open_socket(port, address):
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5,
                                        source_address=(address, 0))
    except OSError:
        return None
    sock.setblocking(False)
    return sock


def served_once(listener, port, address):
    """Seconds from connect to a useful answer (greeting and EHLO's 250, /healthz's 200, the
    IMAP greeting and a NOOP's OK), or None when refused or failed."""
    start = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10,
                                      source_address=(address, 0)) as sock:
            if listener == "http":
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                want = rb"HTTP/1\.1 200 "
            elif listener == "submission":
                want = rb"^220 .*\r\n250 "
                sock.sendall(b"EHLO legit.example\r\n")
            else:
                want = rb"^\* OK.*\r\nz OK"
                sock.sendall(b"z NOOP\r\n")
            data = b""
            while not re.search(want, data, re.S):
                chunk = sock.recv(65536)
                if not chunk:
                    return None
                data += chunk
    except OSError:
        return None
    return time.monotonic() - start


def legitimate(listener, port, samples, delay, results):
    time.sleep(delay)  # let the flood build up first
    timings = []
    for _ in range(samples):
        timings.append(served_once(listener, port, "127.0.255.250"))
        time.sleep(0.2)
    results.put(timings)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--outpost", required=True)
    parser.add_argument("--listener", choices=sorted(SLOW_LINE), default="submission")
    parser.add_argument("--slowloris", type=int, default=1000)
    parser.add_argument("--nonreading", type=int, default=300)
    parser.add_argument("--literal", type=int, default=20, help="IMAP pre-auth APPEND literals")
    parser.add_argument("--addresses", type=int, default=64)
    parser.add_argument("--hold", type=float, default=20, help="seconds the flood lasts")
    parser.add_argument("--samples", type=int, default=20, help="legitimate client timings")
    parser.add_argument("--delay", type=float, default=2.0,
                        help="seconds from the flood's last connection to the first timing")
    parser.add_argument("--set", action="append", default=[], help="section.key=value")
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    with TempDir() as workdir:
        peer = ScriptedPeer()
        hashed = subprocess.run([args.outpost, "passwd"], input="pw\n", capture_output=True,
                                text=True, check=True).stdout.strip()
        settings = {
            "bounce": {"domain": '"bounces.outpost.test"'},
            "[mailbox.user]": {"name": '"processor"', "password_hash": f"'{hashed}'"},
            "imap": {"listen": '"127.0.0.1:0"'},
        }
        for item in args.set:
            key, value = item.split("=", 1)
            section, name = key.rsplit(".", 1)
            settings.setdefault(section, {})[name] = value
        outpost = Outpost(args.outpost, workdir, peer.port, settings)
        try:
            outpost.start()
            report = flood(args, outpost)
        finally:
            outpost.stop()
            peer.stop()
    print(json.dumps(report, indent=2))


def flood(args, outpost):
    ports = {"submission": outpost.port, "http": outpost.http_port,
             "imap": int(re.search(r"imap listening on 127\.0\.0\.1:(\d+)",
                                   outpost.output()).group(1))}
    port = ports[args.listener]
    pid = outpost.proc.pid
    rss_before = rss_kib(pid)
    slow, pipers, literals = [], [], []
    refused = {"slowloris": 0, "nonreading": 0, "literal": 0}
    for i in range(args.slowloris):
        sock = open_socket(port, source(i % args.addresses))
        if sock is None:
            refused["slowloris"] += 1
        else:
            slow.append(sock)
    for i in range(args.nonreading):
        sock = open_socket(port, source((args.slowloris + i) % args.addresses))
        if sock is None:
            refused["nonreading"] += 1
        else:
            pipers.append(sock)
    for i in range(args.literal):
        sock = open_socket(ports["imap"], source((args.slowloris + args.nonreading + i)
                                                 % args.addresses))
        if sock is None:
            refused["literal"] += 1
            continue
        try:
            sock.send(b"a APPEND INBOX {%d}\r\n" % LITERAL_BYTES)
        except OSError:
            refused["literal"] += 1
            continue
        literals.append([sock, 0])

    # Over a cap the server answers with its refusal and closes at once.
    time.sleep(0.5)
    refusal = re.compile(rb"^(421 4\.7\.0|HTTP/1\.1 503|\* BYE Too many)")
    for kind, socks in (("slowloris", slow), ("nonreading", pipers),
                        ("literal", [entry[0] for entry in literals])):
        for sock in socks:
            try:
                if refusal.match(sock.recv(64, socket.MSG_PEEK)):
                    refused[kind] += 1
            except OSError:
                pass

    # The legitimate client runs in its own process, so the flood loop here does not delay
    # its timings (one interpreter lock).
    results = multiprocessing.Queue()
    legit = multiprocessing.Process(target=legitimate,
                                    args=(args.listener, port, args.samples,
                                          min(args.delay, args.hold / 2), results), daemon=True)
    legit.start()
    timings = []
    slow_pos = [0] * len(slow)
    slow_cut = set()
    pipers_dropped = set()
    literal_dropped = set()
    literal_chunk = bytes(65536)
    rss_peak = rss_before
    start = time.monotonic()
    next_trickle = start
    while time.monotonic() - start < args.hold or legit.is_alive():
        if time.monotonic() - start > args.hold + 120:
            break
        now = time.monotonic()
        if now >= next_trickle:  # a byte a second on every slowloris connection
            next_trickle = now + 1.0
            line = SLOW_LINE[args.listener]
            for i, sock in enumerate(slow):
                if i in slow_cut:
                    continue
                try:
                    sock.send(line[slow_pos[i] % len(line):][:1])
                    slow_pos[i] += 1
                except BlockingIOError:
                    pass
                except OSError:
                    slow_cut.add(i)
        for i, sock in enumerate(pipers):
            if i in pipers_dropped:
                continue
            try:
                sock.send(PIPELINED[args.listener])
            except BlockingIOError:
                pass
            except OSError:
                pipers_dropped.add(i)
        for i, entry in enumerate(literals):
            sock, sent = entry
            if i in literal_dropped or sent >= LITERAL_BYTES:
                continue
            try:
                entry[1] += sock.send(literal_chunk[:min(len(literal_chunk), LITERAL_BYTES - sent)])
            except BlockingIOError:
                pass
            except OSError:
                literal_dropped.add(i)
        rss_peak = max(rss_peak, rss_kib(pid))
        time.sleep(0.05)

    # Slowloris connections the server closed show as EOF on a read.
    for i, sock in enumerate(slow):
        try:
            if sock.recv(65536, socket.MSG_PEEK) == b"" and i not in slow_cut:
                slow_cut.add(i)
        except BlockingIOError:
            pass
        except OSError:
            slow_cut.add(i)
    legit.join(5)
    if not results.empty():
        timings = results.get()
    served = [t for t in timings if t is not None]
    for sock in slow + pipers + [entry[0] for entry in literals]:
        sock.close()
    return {
        "listener": args.listener,
        "addresses": args.addresses,
        "hold_seconds": args.hold,
        "opened": {"slowloris": len(slow), "nonreading": len(pipers), "literal": len(literals)},
        "refused_by_a_cap": refused,
        "closed_by_server": {"slowloris": len(slow_cut), "nonreading": len(pipers_dropped),
                             "literal": len(literal_dropped)},
        "literal_bytes_sent": sum(entry[1] for entry in literals),
        "legitimate": {
            "samples": len(timings),
            "served": len(served),
            "median_seconds": round(statistics.median(served), 4) if served else None,
            "max_seconds": round(max(served), 4) if served else None,
            "seconds": [None if t is None else round(t, 4) for t in timings],
        },
        "rss_mib": {"before": round(rss_before / 1024, 1), "peak": round(rss_peak / 1024, 1)},
    }


if __name__ == "__main__":
    main()
