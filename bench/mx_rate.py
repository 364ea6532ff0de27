#!/usr/bin/env python3
"""Delivery rate with MX resolution against a single relay, in one run: the same injector
(`outpost bench blast`) and sink (`outpost bench sink`), 4 KiB messages to DOMAINS recipient
domains, once with delivery.relay = the sink and once with no relay, every domain's MX
(served by a real unbound on loopback) pointing at the sink. Prints messages/s received.
  bench/mx_rate.py --outpost build/release/app/outpost [--count 20000] [--domains 1000]"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))
from dns_server import DnsServer  # noqa: E402
from harness import Outpost, TempDir, free_port, wait_until  # noqa: E402


def run(binary, workdir, count, domains, dns_port):
    sink_port = free_port()
    sink = subprocess.Popen([binary, "bench", "sink", "--listen", f"127.0.0.1:{sink_port}",
                             "--messages", str(count), "--json", "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    settings = {"spool": {"path": f'"{os.path.join(workdir, "spool-" + str(sink_port))}"'},
                "delivery": {"connections_max": "16"}}
    if dns_port:
        settings["delivery"].update({"relay": '""', "remote_port": str(sink_port)})
        settings["dns"] = {"servers": f'["127.0.0.1:{dns_port}"]'}
    outpost = Outpost(binary, workdir, sink_port, settings).start()
    began = time.monotonic()
    blast = subprocess.run([binary, "bench", "blast", "--to", f"127.0.0.1:{outpost.port}",
                            "--count", str(count), "--connections", "32", "--domains",
                            str(domains), "--json", "--no-progress"],
                           capture_output=True, text=True, timeout=600)
    out, _ = sink.communicate(timeout=600)
    elapsed = time.monotonic() - began
    outpost.stop()
    received = json.loads(out)
    return count / elapsed, json.loads(blast.stdout), received


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--outpost", required=True)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--domains", type=int, default=1000)
    args = parser.parse_args()
    with TempDir() as workdir:
        records = [f"d{i}.bench.test. 300 IN MX 10 mx.sink.test." for i in range(args.domains)]
        records.append("mx.sink.test. 300 IN A 127.0.0.1")
        dns = DnsServer(workdir, records)
        try:
            relay_rate, _, _ = run(args.outpost, workdir, args.count, args.domains, None)
            mx_rate, _, _ = run(args.outpost, workdir, args.count, args.domains, dns.port)
            mx_queries = sum(dns.query_count(f"d{i}.bench.test", "MX") for i in range(args.domains))
        finally:
            dns.stop()
    print(f"relay: {relay_rate:.0f} msgs/s delivered; MX for {args.domains} domains: "
          f"{mx_rate:.0f} msgs/s ({mx_rate / relay_rate:.2f} of relay), {mx_queries} MX queries")


if __name__ == "__main__":
    main()
