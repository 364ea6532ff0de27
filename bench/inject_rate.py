#!/usr/bin/env python3
"""How fast Outpost acknowledges injected mail, in one run on this machine: pipelined SMTP
submission (`outpost bench blast`, 32 connections) against bulk HTTP injection
(`outpost bench blast --http`, 4 keep-alive connections by default, 100 recipients per
request, one message each), each with DKIM off and with an rsa-sha256 2048-bit key, 4 KiB
messages to 100 domains, delivery.relay = an `outpost bench sink`, durability "sync".

The figure is messages ACKNOWLEDGED per second (250 after DATA, or 202 x batch), i.e. made
durable; the sink's count checks every acknowledged message also arrived. CPU seconds per
1,000 messages are Outpost's, from /proc. Injection is bounded by --seconds (default 15).

  bench/inject_rate.py --outpost build/release/app/outpost [--seconds 15] [--json FILE]
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from tls_rate import Sink, cpu_seconds, free_port, log, wait_for_port


class Outpost:
    def __init__(self, binary, workdir, sink_port, dkim_key):
        self.port = free_port()
        self.http_port = free_port()
        out = subprocess.run([binary, "passwd", "--api-key"], capture_output=True, text=True,
                             check=True).stdout
        self.key = re.search(r'^key = "([^"]+)"', out, re.M).group(1)
        digest = re.search(r'^key_sha256 = "([0-9a-f]{64})"', out, re.M).group(1)
        # Both blasters send From blast@bench.outpost.
        dkim = f"""[[dkim]]
domain = "bench.outpost"
selector = "s1"
key = "{dkim_key}"
""" if dkim_key else ""
        config = os.path.join(workdir, "outpost.toml")
        with open(config, "w") as f:
            f.write(f"""[node]
hostname = "outpost.bench.test"
[log]
level = "warning"
[spool]
path = "{os.path.join(workdir, 'spool')}"
durability = "sync"
[submission]
listen = ["127.0.0.1:{self.port}"]
recipients_max = 10000
[http]
listen = ["127.0.0.1:{self.http_port}"]
[[http.api_key]]
name = "bench"
key_sha256 = "{digest}"
[delivery]
relay = "127.0.0.1:{sink_port}"
tls = "none"
{dkim}""")
        self.log = open(os.path.join(workdir, "outpost.log"), "ab")
        self.proc = subprocess.Popen([binary, "run", "--config", config], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_for_port(self.port, 30, self.proc, "outpost")
        wait_for_port(self.http_port, 30, self.proc, "outpost http")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def measure(label, protocol, dkim_key, args, workdir):
    log(f"--- {label}")
    run_dir = os.path.join(workdir, label)
    os.makedirs(run_dir)
    sink = Sink(args.outpost, False, duration_max=args.seconds + 180)
    outpost = None
    try:
        outpost = Outpost(args.outpost, run_dir, sink.port, dkim_key)
        time.sleep(0.5)  # let it settle
        cpu_before = cpu_seconds(outpost.proc.pid)
        command = [args.outpost, "bench", "blast", "--json", "--no-progress", "--size", "4k",
                   "--domains", "100", "--shards", "1", "--duration", f"{args.seconds}s"]
        if protocol == "smtp":
            command += ["--to", f"127.0.0.1:{outpost.port}", "--connections", "32"]
        else:
            command += ["--http", f"http://127.0.0.1:{outpost.http_port}", "--key", outpost.key,
                        "--batch", "100", "--connections", str(args.http_connections)]
        out = subprocess.run(command, capture_output=True, text=True, timeout=args.seconds + 120)
        if out.returncode != 0:
            raise RuntimeError(f"bench blast exited {out.returncode}: {out.stderr}")
        sent = json.loads(out.stdout)
        got = sink.wait(timeout=args.seconds + 240)
        cpu = cpu_seconds(outpost.proc.pid) - cpu_before
    finally:
        if outpost is not None:
            outpost.stop()
        sink.kill()
    acknowledged = sent["messages_acknowledged"]
    result = {
        "run": label,
        "acknowledged": acknowledged,
        "acknowledged_per_second": round(sent["acknowledged_per_second"], 1),
        "latency_ms_p50": sent["latency_ms"]["p50"],
        "latency_ms_p99": sent["latency_ms"]["p99"],
        "blast_failed": sent["messages_failed"],
        "sink_messages": got["messages"],
        "sink_dkim_signed": got["messages_dkim_signed"],
        "all_acknowledged_arrived": got["messages"] >= acknowledged,
        "outpost_cpu_seconds_per_1000": round(1000 * cpu / acknowledged, 4) if acknowledged
        else None,
    }
    log(f"    {result['acknowledged_per_second']:.0f} msgs/s acknowledged ({acknowledged}), "
        f"p50/p99 {result['latency_ms_p50']:.1f}/{result['latency_ms_p99']:.1f} ms, "
        f"sink {got['messages']} ({got['messages_dkim_signed']} signed), Outpost CPU "
        f"{result['outpost_cpu_seconds_per_1000']} s/1000")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outpost", required=True, help="the outpost binary (a Release build)")
    parser.add_argument("--seconds", type=int, default=15, help="injection per run")
    parser.add_argument("--http-connections", type=int, default=4,
                        help="keep-alive connections of the HTTP blaster")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="outpost-inject-rate-") as workdir:
        key = os.path.join(workdir, "rsa.pem")
        subprocess.run([args.outpost, "dkim", "keygen", "--algorithm", "rsa-sha256", "--out",
                        key], check=True, capture_output=True)
        for protocol in ("smtp", "http"):
            for signed in (False, True):
                label = f"{protocol}-{'rsa2048' if signed else 'unsigned'}"
                results.append(measure(label, protocol, key if signed else None, args, workdir))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    for r in results:
        print(f"{r['run']:>16}: {r['acknowledged_per_second']:8.0f} msgs/s acknowledged, "
              f"p50 {r['latency_ms_p50']:.1f} ms, {r['outpost_cpu_seconds_per_1000']} CPU s/1000, "
              f"{r['sink_dkim_signed']}/{r['sink_messages']} signed at the sink")
    ok = all(r["all_acknowledged_arrived"] and r["blast_failed"] == 0 for r in results)
    ok = ok and all((r["sink_dkim_signed"] > 0) == r["run"].endswith("rsa2048") for r in results)
    if not ok:
        print("WARNING: a run lost messages, or signing was not where it should be",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
