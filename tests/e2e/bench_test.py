"""`outpost bench blast` and `outpost bench sink` end to end: blast straight into the sink,
blast through a real outpost daemon relaying to the sink, the sink's reply mix seen in blast's
reply codes, the --json, CSV and SVG outputs parsed, and both again with --starttls (and
implicit TLS straight into the sink).
  tests/e2e/bench_test.py --outpost build/release/app/outpost"""
import csv
import json
import os
import signal
import subprocess
import sys
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import Outpost, TempDir, free_port, wait_until  # noqa: E402

OUTPOST = None
SVG = "{http://www.w3.org/2000/svg}"


class SinkProcess:
    """`outpost bench sink --json` on a free loopback port; stop() returns its JSON."""

    def __init__(self, workdir, *args):
        self.port = free_port()
        self.csv = os.path.join(workdir, f"sink-{self.port}.csv")
        self.svg = os.path.join(workdir, f"sink-{self.port}.svg")
        self.proc = subprocess.Popen(
            [OUTPOST, "bench", "sink", "--listen", f"127.0.0.1:{self.port}", "--json",
             "--csv", self.csv, "--svg", self.svg, *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_until(self._listening, 10, what="the bench sink to listen")

    def _listening(self):
        if self.proc.poll() is not None:
            raise AssertionError("bench sink exited: " + self.proc.stderr.read())
        import socket
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def wait(self, timeout=30):
        out, err = self.proc.communicate(timeout=timeout)
        if self.proc.returncode != 0:
            raise AssertionError(f"bench sink exited {self.proc.returncode}: {err}")
        return json.loads(out)

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        return self.wait()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def blast(port, *args):
    out = subprocess.run([OUTPOST, "bench", "blast", "--to", f"127.0.0.1:{port}", "--json",
                          *args], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError(f"bench blast exited {out.returncode}: {out.stderr}")
    return json.loads(out.stdout)


class BenchTest(unittest.TestCase):
    def test_blast_into_sink_counts_agree(self):
        with TempDir() as workdir:
            sink = SinkProcess(workdir, "--messages", "2000", "--duration", "30s")
            try:
                sent = blast(sink.port, "--count", "2000", "--connections", "8",
                             "--recipients", "2", "--domains", "10", "--size", "2k-6k",
                             "--messages-per-connection", "100")
                got = sink.wait()
            finally:
                sink.kill()
            self.assertEqual(sent["messages_acknowledged"], 2000)
            self.assertEqual(sent["messages_failed"], 0)
            self.assertEqual(sent["message_codes"], {"250": 2000})
            self.assertEqual(sent["recipient_codes"], {"250": 4000})
            self.assertGreater(sent["acknowledged_per_second"], 0)
            latency = sent["latency_ms"]
            self.assertLessEqual(latency["p50"], latency["p90"])
            self.assertLessEqual(latency["p90"], latency["p99"])
            self.assertLessEqual(latency["p99"], latency["max"])
            self.assertEqual(got["messages"], 2000)
            self.assertEqual(got["distinct_message_ids"], 2000)
            self.assertEqual(got["messages_without_id"], 0)
            self.assertEqual(got["recipients"], 4000)
            self.assertEqual(got["bytes"], sent["bytes_acknowledged"])
            self.assertEqual(got["recipients_per_domain"],
                             {f"d{i}.bench.test": 400 for i in range(10)})
            self.assertGreaterEqual(got["connections_total"], 20)
            self.assertEqual(sum(int(k) * v for k, v in got["messages_per_connection"].items()),
                             2000)
            self.assertTrue(all(int(k) <= 100 for k in got["messages_per_connection"]))

            with open(sink.csv, newline="") as f:
                rows = list(csv.DictReader(f))
            self.assertEqual(list(rows[0].keys()),
                             ["second", "messages", "recipients", "bytes", "rejected",
                              "connections"])
            self.assertEqual(sum(int(r["messages"]) for r in rows), 2000)
            self.assertEqual([int(r["second"]) for r in rows], list(range(1, len(rows) + 1)))
            self.assertEqual(len(got["per_second"]), len(rows))

            root = ET.parse(sink.svg).getroot()
            self.assertEqual(root.tag, SVG + "svg")
            lines = root.findall(SVG + "polyline")
            self.assertEqual(len(lines), 2)
            for line in lines:
                self.assertEqual(len(line.get("points").split()), len(rows))

            # The CSV renders again on its own.
            again = os.path.join(workdir, "again.svg")
            subprocess.run([OUTPOST, "bench", "plot", "--csv", sink.csv, "--svg", again],
                           check=True, timeout=10)
            self.assertEqual(ET.parse(again).getroot().tag, SVG + "svg")

    def test_reply_mix_shows_in_blast_codes(self):
        with TempDir() as workdir:
            sink = SinkProcess(workdir, "--reply-mix", "rcpt4xx=10,data5xx=5", "--seed", "3")
            try:
                sent = blast(sink.port, "--count", "3000", "--connections", "4")
                got = sink.stop()  # SIGTERM: the summary is still printed
            finally:
                sink.kill()
            codes = sent["message_codes"]
            self.assertEqual(codes.get("450", 0), got["recipients_refused"]["450"])
            self.assertEqual(codes.get("554", 0), got["rejected"]["554"])
            self.assertAlmostEqual(codes.get("450", 0) / 3000, 0.10, delta=0.025)
            self.assertAlmostEqual(codes.get("554", 0) / 2700, 0.05, delta=0.02)
            self.assertEqual(sent["messages_acknowledged"], got["messages"])
            self.assertEqual(sent["messages_acknowledged"] + sent["messages_rejected"], 3000)
            self.assertEqual(got["distinct_message_ids"], got["messages"])

    def test_blast_through_outpost_to_sink(self):
        with TempDir() as workdir:
            # --idle-stop: the sink ends once the relay has delivered what it acknowledged.
            sink = SinkProcess(workdir, "--idle-stop", "2s", "--duration", "30s")
            outpost = Outpost(OUTPOST, workdir, sink.port)
            try:
                outpost.start()
                sent = blast(outpost.port, "--count", "1000", "--connections", "16",
                             "--domains", "5", "--size", "4k")
                got = sink.wait(timeout=40)
            finally:
                outpost.stop()
                sink.kill()
            self.assertEqual(sent["messages_acknowledged"], 1000)
            self.assertEqual(got["messages"], 1000)
            self.assertEqual(got["distinct_message_ids"], 1000)
            self.assertEqual(got["recipients_per_domain"],
                             {f"d{i}.bench.test": 200 for i in range(5)})

    def test_starttls_blast_into_sink(self):
        for mode in ("--starttls", "--implicit-tls"):
            with self.subTest(mode=mode), TempDir() as workdir:
                # Stopped after the blast, not at a message count: the blaster's last
                # reconnects must not race the sink's exit.
                sink = SinkProcess(workdir, mode, "--duration", "30s")
                try:
                    sent = blast(sink.port, mode, "--count", "600", "--connections", "6",
                                 "--messages-per-connection", "50")
                    got = sink.stop()
                finally:
                    sink.kill()
                self.assertEqual(sent["messages_acknowledged"], 600)
                self.assertEqual(sent["messages_failed"], 0)
                self.assertEqual(got["messages"], 600)
                self.assertEqual(got["distinct_message_ids"], 600)
                self.assertEqual(sent["tls"], mode[2:].replace("-tls", ""))
                self.assertGreaterEqual(sent["connections_opened"], 12)
                self.assertEqual(sent["connect_failures"], 0)
                self.assertEqual(sent["tls_sessions"], sent["connections_opened"])
                self.assertEqual(sent["tls_failures"], 0)
                # The sink also counts SinkProcess's readiness probe, a bare TCP connect.
                self.assertEqual(got["connections_total"], sent["connections_opened"] + 1)
                self.assertEqual(got["tls_sessions"], sent["tls_sessions"])
                # With implicit TLS the probe's bare connect is a failed handshake too.
                self.assertEqual(got["tls_failures"], 1 if mode == "--implicit-tls" else 0)
                # Every reconnect resumes (the first connection of each slot cannot).
                self.assertGreaterEqual(sent["tls_resumed"], sent["connections_opened"] - 6)
                self.assertEqual(got["tls_resumed"], sent["tls_resumed"])

    def test_starttls_through_outpost_to_sink(self):
        """Submission offers STARTTLS with Outpost's self-signed certificate; delivery takes
        STARTTLS opportunistically toward a sink that offers it."""
        with TempDir() as workdir:
            sink = SinkProcess(workdir, "--starttls", "--idle-stop", "2s", "--duration", "30s")
            outpost = Outpost(OUTPOST, workdir, sink.port)
            try:
                outpost.start()
                sent = blast(outpost.port, "--starttls", "--count", "1000", "--connections",
                             "16", "--domains", "5", "--size", "4k",
                             "--messages-per-connection", "20")
                got = sink.wait(timeout=40)
            finally:
                outpost.stop()
                sink.kill()
            self.assertEqual(sent["messages_acknowledged"], 1000)
            self.assertEqual(sent["tls_sessions"], sent["connections_opened"])
            self.assertEqual(sent["tls_failures"], 0)
            self.assertGreater(sent["tls_resumed"], 0)
            self.assertEqual(got["messages"], 1000)
            self.assertEqual(got["distinct_message_ids"], 1000)
            self.assertGreater(got["tls_sessions"], 0)
            # Every delivery connection took STARTTLS; the one more is the readiness probe.
            self.assertEqual(got["tls_sessions"], got["connections_total"] - 1)
            self.assertEqual(got["tls_failures"], 0)

    def test_usage(self):
        for args, code in ((["--help"], 0), (["blast", "--help"], 0), (["sink", "--help"], 0),
                           (["blast", "--count", "1"], 2),
                           (["blast", "--to", "127.0.0.1:1", "--size", "4x", "--count", "1"], 2),
                           (["sink", "--reply-mix", "rcpt4xx=200"], 2),
                           (["sink", "--starttls", "--cert", "/nonexistent.pem"], 2),
                           (["sink", "--cert", "a.pem", "--key", "b.pem"], 2),
                           (["sink", "--starttls", "--cert", "/nonexistent.pem",
                             "--key", "/nonexistent.key", "--duration", "1s"], 1),
                           (["nonsense"], 2)):
            out = subprocess.run([OUTPOST, "bench", *args], capture_output=True, text=True,
                                 timeout=10)
            self.assertEqual(out.returncode, code, f"{args}: {out.stderr}")


if __name__ == "__main__":
    harness.run_tests(sys.modules[__name__])
