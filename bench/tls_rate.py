#!/usr/bin/env python3
"""What TLS costs Outpost, in one run on this machine: the same injector (`outpost bench
blast`) and receiver (`outpost bench sink`), 4 KiB messages, 32 connections, 100 recipient
domains, delivery.relay = the sink, once

  plain   TLS off everywhere: blast in plaintext, the sink without STARTTLS,
          Outpost delivery.tls = "none",
  tls     TLS on both hops: blast --starttls into Outpost's submission listener (its
          self-signed certificate), Outpost STARTTLS to the sink --starttls,
          delivery.tls = "opportunistic".

The figure is messages the SINK received per second between its first and last message
(every acknowledged message must arrive). CPU seconds per 1,000 messages are Outpost's, from
/proc/<pid>/stat (utime + stime + cutime + cstime) before the blast and after the sink went
idle. Injection is bounded by --seconds (default 15) per run.

  bench/tls_rate.py --outpost build/release/app/outpost [--seconds 15] [--json FILE]
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout, proc, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout}s")


def cpu_seconds(pid):
    """CPU of one process, its reaped children included (Outpost runs as one process)."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    fields = text[text.rindex(")") + 2:].split()  # fields[0] is the state (field 3)
    return sum(int(x) for x in fields[11:15]) / CLOCK_TICKS  # utime, stime, cutime, cstime


class Sink:
    def __init__(self, binary, tls, duration_max):
        self.port = free_port()
        command = [binary, "bench", "sink", "--listen", f"127.0.0.1:{self.port}", "--shards",
                   "1", "--idle-stop", "3s", "--duration", f"{duration_max}s", "--json",
                   "--no-progress"]
        if tls:
            command.append("--starttls")
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        wait_for_port(self.port, 10, self.proc, "bench sink")

    def wait(self, timeout):
        out, err = self.proc.communicate(timeout=timeout)
        if self.proc.returncode != 0:
            raise RuntimeError(f"bench sink exited {self.proc.returncode}: {err}")
        return json.loads(out)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


class Outpost:
    def __init__(self, binary, workdir, sink_port, tls):
        self.port = free_port()
        self.workdir = workdir
        config = os.path.join(workdir, "outpost.toml")
        # As bench/compare configures it, plus the delivery TLS policy. The submission
        # listener offers STARTTLS in both runs (the default); only the blaster decides.
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
[http]
listen = []
[delivery]
relay = "127.0.0.1:{sink_port}"
tls = "{'opportunistic' if tls else 'none'}"
""")
        self.log = open(os.path.join(workdir, "outpost.log"), "ab")
        self.proc = subprocess.Popen([binary, "run", "--config", config], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_for_port(self.port, 30, self.proc, "outpost")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def measure(label, tls, args, workdir):
    log(f"--- {label}")
    run_dir = os.path.join(workdir, label)
    os.makedirs(run_dir)
    sink = Sink(args.outpost, tls, duration_max=args.seconds + 120)
    outpost = None
    try:
        outpost = Outpost(args.outpost, run_dir, sink.port, tls)
        time.sleep(0.5)  # let it settle
        cpu_before = cpu_seconds(outpost.proc.pid)
        command = [args.outpost, "bench", "blast", "--to", f"127.0.0.1:{outpost.port}", "--json",
                   "--no-progress", "--size", "4k", "--domains", "100", "--connections", "32",
                   "--shards", "1", "--duration", f"{args.seconds}s"]
        if tls:
            command.append("--starttls")
        out = subprocess.run(command, capture_output=True, text=True, timeout=args.seconds + 120)
        if out.returncode != 0:
            raise RuntimeError(f"bench blast exited {out.returncode}: {out.stderr}")
        sent = json.loads(out.stdout)
        got = sink.wait(timeout=args.seconds + 180)
        cpu = cpu_seconds(outpost.proc.pid) - cpu_before
    finally:
        if outpost is not None:
            outpost.stop()
        sink.kill()
    messages = got["messages"]
    result = {
        "run": label,
        "sink_messages": messages,
        "sink_messages_per_second": round(got["messages_per_second"], 1),
        "sink_window_seconds": round(got["last_message_seconds"] - got["first_message_seconds"], 3),
        "acknowledged": sent["messages_acknowledged"],
        "all_acknowledged_arrived": messages >= sent["messages_acknowledged"],
        "blast_failed": sent["messages_failed"],
        "blast_tls_sessions": sent["tls_sessions"],
        "blast_connections": sent["connections_opened"],
        "sink_tls_sessions": got["tls_sessions"],
        "sink_tls_resumed": got["tls_resumed"],
        "sink_connections": got["connections_total"],
        "outpost_cpu_seconds": round(cpu, 3),
        "outpost_cpu_seconds_per_1000": round(1000 * cpu / messages, 4) if messages else None,
    }
    log(f"    {result['sink_messages_per_second']:.0f} msgs/s at the sink ({messages} messages in "
        f"{result['sink_window_seconds']} s), all acknowledged arrived: "
        f"{result['all_acknowledged_arrived']}; TLS sessions: blast {sent['tls_sessions']}/"
        f"{sent['connections_opened']} connections, sink {got['tls_sessions']}/"
        f"{got['connections_total']} ({got['tls_resumed']} resumed); Outpost CPU "
        f"{result['outpost_cpu_seconds_per_1000']} s/1000")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outpost", required=True, help="the outpost binary (a Release build)")
    parser.add_argument("--seconds", type=int, default=15, help="injection per run")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="outpost-tls-rate-") as workdir:
        plain = measure("plain", False, args, workdir)
        tls = measure("tls", True, args, workdir)
    rate_a, rate_b = plain["sink_messages_per_second"], tls["sink_messages_per_second"]
    ratio = rate_b / rate_a if rate_a else 0
    summary = {"plain": plain, "tls": tls, "ratio_tls_to_plain": round(ratio, 3)}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
    print(f"TLS off: {rate_a:.0f} msgs/s, {plain['outpost_cpu_seconds_per_1000']} Outpost CPU s "
          f"per 1000 msgs")
    print(f"TLS on both hops: {rate_b:.0f} msgs/s, {tls['outpost_cpu_seconds_per_1000']} Outpost "
          f"CPU s per 1000 msgs")
    print(f"ratio on/off: {ratio:.2f}")
    ok = all(r["all_acknowledged_arrived"] and r["blast_failed"] == 0 for r in (plain, tls))
    ok = ok and tls["sink_tls_sessions"] > 0 and tls["blast_tls_sessions"] > 0
    ok = ok and plain["sink_tls_sessions"] == 0 and plain["blast_tls_sessions"] == 0
    if not ok:
        print("WARNING: a run lost messages, or TLS was not (or not only) where it should be",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
