#!/usr/bin/env python3
"""How well the daemon's latency histograms answer histogram_quantile: `outpost bench blast`
sends COUNT messages into a real daemon that relays to `outpost bench sink`; then the
quantiles Prometheus would compute from each histogram's buckets (linear interpolation inside
the bucket, as histogram_quantile does) are printed beside the mean (_sum/_count) and, for
the delivery duration, the true quantiles of the delivery log's queue_seconds. The same log
values bucketed with the layout Outpost had before 2026-12 (first bound 50 ms) show the
error the old buckets made. Run: bench/latency_buckets.py --outpost build/release/app/outpost
[--count 5000] [--connections 4]."""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from harness import Outpost, free_port, wait_until  # noqa: E402

OLD_DELIVERY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400,
                        86400, 432000]
FAMILIES = ["outpost_delivery_duration_seconds", "outpost_smtp_session_duration_seconds",
            "outpost_dkim_sign_seconds", "outpost_queue_commit_seconds"]


def quantile(q, buckets):
    """histogram_quantile over [(le, cumulative count)], +Inf last, as Prometheus computes
    it: the bucket holding rank q*count, linearly interpolated from its lower bound."""
    total = buckets[-1][1]
    if total == 0:
        return float("nan")
    rank = q * total
    lower, below = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == float("inf"):
                return lower
            return lower + (le - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = le, count
    return lower


def bucketed(values, bounds):
    return [(le, sum(1 for v in values if v <= le)) for le in bounds] + [(float("inf"),
                                                                           len(values))]


def parse(body, family):
    buckets, total_sum, count = [], 0.0, 0
    for line in body.splitlines():
        if line.startswith(family + "_bucket"):
            le = re.search(r'le="([^"]+)"', line).group(1)
            buckets.append((float(le), float(line.split()[-1])))
        elif line.startswith(family + "_sum "):
            total_sum = float(line.split()[-1])
        elif line.startswith(family + "_count "):
            count = float(line.split()[-1])
    return buckets, total_sum, count


def true_quantile(q, values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--outpost", required=True)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    binary = os.path.abspath(args.outpost)
    with tempfile.TemporaryDirectory() as workdir:
        sink_port = free_port()
        sink = subprocess.Popen([binary, "bench", "sink", "--listen", f"127.0.0.1:{sink_port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        log_path = os.path.join(workdir, "delivery.log")
        key = os.path.join(workdir, "dkim.pem")  # every message signed, RSA-2048
        subprocess.run([binary, "dkim", "keygen", "--algorithm", "rsa-sha256", "--out", key],
                       check=True, stdout=subprocess.DEVNULL)
        outpost = Outpost(binary, workdir, sink_port,
                          {"log": {"delivery_log": json.dumps(log_path)},
                           "[dkim]": {"domain": '"bench.test"', "selector": '"s1"',
                                      "key": json.dumps(key), "role": '"fallback"'}})
        try:
            outpost.start()
            subprocess.run([binary, "bench", "blast", "--to", f"127.0.0.1:{outpost.port}",
                            "--count", str(args.count), "--connections",
                            str(args.connections)], check=True, stdout=subprocess.DEVNULL,
                           timeout=300)

            def delivered():
                with open(log_path) as f:
                    return sum(1 for line in f if '"delivered"' in line) >= args.count
            wait_until(delivered, 120, 0.2, "every message delivered")
            time.sleep(1.5)  # the probes reach the registry once a second
            request = urllib.request.Request(f"http://127.0.0.1:{outpost.http_port}/metrics",
                                             headers=outpost.admin_headers())
            body = urllib.request.urlopen(request, timeout=30).read().decode()
        finally:
            outpost.stop()
            sink.send_signal(signal.SIGTERM)
            sink.wait(10)
        with open(log_path) as f:
            queue_seconds = [json.loads(line)["queue_seconds"] for line in f
                             if '"delivered"' in line]
    print(f"{args.count} messages, {args.connections} connections\n")
    print(f"{'family':42} {'count':>7} {'mean ms':>9} {'p50 ms':>9} {'p90 ms':>9} {'p99 ms':>9}")
    for family in FAMILIES:
        buckets, total_sum, count = parse(body, family)
        mean = total_sum / count if count else float("nan")
        print(f"{family:42} {int(count):7d} {mean * 1e3:9.3f} "
              + " ".join(f"{quantile(q, buckets) * 1e3:9.3f}" for q in (0.5, 0.9, 0.99)))
    mean = sum(queue_seconds) / len(queue_seconds)
    print(f"\ndelivery log queue_seconds (truth)         {len(queue_seconds):7d} {mean * 1e3:9.3f} "
          + " ".join(f"{true_quantile(q, queue_seconds) * 1e3:9.3f}" for q in (0.5, 0.9, 0.99)))
    old = bucketed(queue_seconds, OLD_DELIVERY_BUCKETS)
    print(f"the same, old buckets (first bound 50 ms)  {len(queue_seconds):7d} {mean * 1e3:9.3f} "
          + " ".join(f"{quantile(q, old) * 1e3:9.3f}" for q in (0.5, 0.9, 0.99)))


if __name__ == "__main__":
    main()
