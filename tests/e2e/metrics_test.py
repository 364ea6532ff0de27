"""End-to-end metrics: a known workload through the real daemon (smtplib, some over STARTTLS,
relayed to smtp-sink), then GET /metrics with curl: the counts match what the sink received,
`promtool check metrics` accepts the body, and a real Prometheus server started here scrapes
the daemon and answers a query. Also [metrics] listen as a listener of its own.
Run as: metrics_test.py --outpost PATH."""
import json
import os
import re
import shutil
import smtplib
import subprocess
import sys
import time
import urllib.request

from harness import run_tests, Outpost, Sink, free_port, message, wait_until, DaemonTest, insecure_tls_context

OUTPOST = None


def scrape(port, key=None):
    """GET /metrics with the admin key when given (beside the admin API it needs one)."""
    auth = ["-H", f"Authorization: Bearer {key}"] if key else []
    out = subprocess.run(["curl", "-s", "-D", "-", *auth, f"http://127.0.0.1:{port}/metrics"],
                         capture_output=True, text=True, timeout=30)
    head, _, body = out.stdout.partition("\n\n")  # text mode turned CRLF into LF
    return head, body


def value(body, series):
    """The value of one series line, e.g. 'outpost_deliveries_total{result="delivered"}'."""
    for line in body.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None


def total(body, family, **labels):
    """The sum of every series of `family` whose labels include `labels`, or None."""
    found = None
    for line in body.splitlines():
        match = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        if not match or match.group(1) != family:
            continue
        have = dict(re.findall(r'([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"', match.group(3) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            found = (found or 0) + float(match.group(4))
    return found


class MetricsTest(DaemonTest):
    def test_counts_follow_a_known_workload(self):
        sink = Sink(self.workdir)
        self.stoppers.append(sink.stop)
        outpost = Outpost(OUTPOST, self.workdir, sink.port)
        self.stoppers.append(outpost.stop)
        outpost.start()
        context = insecure_tls_context()
        for batch in range(4):
            with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
                if batch % 2:
                    client.starttls(context=context)
                for i in range(5):
                    client.send_message(message(batch * 5 + i, "metrics"), "a@example.com",
                                        ["b@example.net"])
        wait_until(lambda: len(sink.message_ids()) == 20, 30, 0.1, "20 messages at the sink")
        # Outcomes count at once; the probes reach the registry once a second.
        def counted():
            body = scrape(outpost.http_port, outpost.admin_key())[1]
            return (total(body, "outpost_deliveries_total", result="delivered") == 20 and
                    value(body, 'outpost_messages_received_total{listener="smtp"}') == 20 and
                    value(body, "outpost_smtp_session_duration_seconds_count") == 4)
        wait_until(counted, 10, 0.2, "the delivered, received and session counts")
        head, body = scrape(outpost.http_port, outpost.admin_key())
        self.assertIn("Content-Type: text/plain; version=0.0.4", head)
        self.assertEqual(value(body, 'outpost_messages_received_total{listener="smtp"}'), 20)
        self.assertEqual(value(body, 'outpost_smtp_connections_total{result="accepted"}'), 4)
        # Every delivery went to the relay, the one destination with a series of its own.
        self.assertEqual(value(body, 'outpost_deliveries_total{result="delivered",'
                                     'destination="relay"}'), 20)
        self.assertIsNone(total(body, "outpost_deliveries_total", result="bounced"))
        # Histograms: one observation per final recipient, per session, per signed message.
        self.assertEqual(value(body, "outpost_delivery_duration_seconds_count"), 20)
        self.assertEqual(value(body, 'outpost_delivery_duration_seconds_bucket{le="+Inf"}'), 20)
        self.assertEqual(value(body, "outpost_smtp_session_duration_seconds_count"), 4)
        commits = value(body, "outpost_queue_commit_seconds_count")
        self.assertTrue(1 <= commits <= 20, commits)
        self.assertGreater(value(body, "outpost_queue_commit_seconds_sum"), 0)
        self.assertEqual(value(body, "outpost_dkim_sign_seconds_count"), 0)  # no [[dkim]]
        self.assertEqual(total(body, "outpost_queue_messages"), 0)
        self.assertIn("# TYPE outpost_connections_open gauge", body)
        inbound_tls = sum(value(body, 'outpost_tls_handshakes_total{direction="inbound",'
                                f'resumed="{r}"}}') or 0 for r in ("false", "true"))
        self.assertEqual(inbound_tls, 2)
        self.assertGreater(value(body, "process_resident_memory_bytes"), 0)
        self.assertEqual(value(body, "outpost_queue_parts_scheduled"), 0)
        self.assertIn("# TYPE outpost_deliveries_total counter", body)

        promtool = shutil.which("promtool")
        if promtool:
            checked = subprocess.run([promtool, "check", "metrics"], input=body,
                                     capture_output=True, text=True)
            self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)

        prometheus = shutil.which("prometheus")
        if prometheus:
            self.query_through_prometheus(prometheus, outpost.http_port,
                                          os.path.join(self.workdir, "spool", "admin.key"))
        self.assertEqual(outpost.stop(), 0)

    def query_through_prometheus(self, prometheus, target_port, key_file):
        # As deploy/prometheus scrapes /metrics beside the admin API: the key from a file.
        config = os.path.join(self.workdir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n"
                    "  - job_name: outpost\n"
                    f"    authorization:\n      credentials_file: {key_file}\n"
                    "    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{target_port}']\n")
        port = free_port()
        proc = subprocess.Popen([prometheus, f"--config.file={config}",
                                 f"--storage.tsdb.path={os.path.join(self.workdir, 'tsdb')}",
                                 f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            query = (f"http://127.0.0.1:{port}/api/v1/query?query="
                     "sum(outpost_messages_received_total)")

            def answered():
                if proc.poll() is not None:
                    raise AssertionError("prometheus exited: " + proc.stderr.read().decode())
                try:
                    with urllib.request.urlopen(query, timeout=5) as r:
                        result = json.load(r)["data"]["result"]
                except OSError:
                    return False
                return bool(result) and float(result[0]["value"][1]) == 20
            wait_until(answered, 60, 0.5, "prometheus to scrape and answer")
        finally:
            proc.terminate()
            proc.wait(20)
            proc.stderr.close()

    def test_metrics_on_a_listener_of_their_own(self):
        sink = Sink(self.workdir)
        self.stoppers.append(sink.stop)
        outpost = Outpost(OUTPOST, self.workdir, sink.port,
                          {"metrics": {"listen": '["127.0.0.1:0"]'}})
        self.stoppers.append(outpost.stop)
        outpost.start()
        port = int(re.search(r"metrics listening on 127\.0\.0\.1:(\d+)",
                             outpost.output()).group(1))
        head, body = scrape(port)
        self.assertIn(" 200 ", head.splitlines()[0])
        self.assertIn("outpost_messages_received_total", body)
        # No longer beside the admin API, even with its key.
        head, _ = scrape(outpost.http_port, outpost.admin_key())
        self.assertIn(" 404 ", head.splitlines()[0])
        out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                              f"http://127.0.0.1:{port}/metrics"], capture_output=True, text=True)
        self.assertEqual(out.stdout, "405")
        self.assertEqual(outpost.stop(), 0)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
