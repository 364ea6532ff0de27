#!/usr/bin/env python3
"""What the crash-loop breaker's mark costs, in one run on this machine: the same load as
tls_rate.py's plain run (`outpost bench blast` into submission, 4 KiB, 32 connections, 100
domains, delivery to `outpost bench sink`, TLS off, durability sync) against two builds, taken
in turns (before, after, before, after, ...) so drift on a shared machine hits both alike:

  before  a build without the breaker (e.g. main's),
  after   this build: one more un-synced WAL append per delivery attempt.

Prints messages/s at the sink and Outpost's CPU seconds per 1,000 messages for each, and the
ratio of the means (after / before).

  bench/breaker_rate.py --before OLD/outpost --after build/release/app/outpost [--seconds 10]
                        [--rounds 2]
"""
import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from tls_rate import measure  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="outpost without the breaker")
    parser.add_argument("--after", required=True, help="outpost with the breaker")
    parser.add_argument("--seconds", type=int, default=10, help="injection per run")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each build")
    args = parser.parse_args()
    rates = {"before": [], "after": []}
    cpu = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(prefix="outpost-breaker-rate-") as workdir:
        for round_number in range(args.rounds):
            for label in ("before", "after"):
                run = argparse.Namespace(outpost=getattr(args, label), seconds=args.seconds)
                result = measure(f"{label}-{round_number}", False, run, workdir)
                if not result["all_acknowledged_arrived"] or result["blast_failed"]:
                    print(f"WARNING: {label} run {round_number} lost or failed messages",
                          file=sys.stderr)
                rates[label].append(result["sink_messages_per_second"])
                cpu[label].append(result["outpost_cpu_seconds_per_1000"])
    for label in ("before", "after"):
        print(f"{label}: {statistics.mean(rates[label]):.0f} msgs/s at the sink "
              f"(runs {', '.join(f'{r:.0f}' for r in rates[label])}), "
              f"{statistics.mean(cpu[label]):.4f} Outpost CPU s per 1000 msgs")
    ratio = statistics.mean(rates["after"]) / statistics.mean(rates["before"])
    cpu_ratio = statistics.mean(cpu["after"]) / statistics.mean(cpu["before"])
    print(f"ratio after/before: {ratio:.3f} msgs/s, {cpu_ratio:.3f} CPU per message")


if __name__ == "__main__":
    main()
