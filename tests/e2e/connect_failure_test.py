"""An MX that refuses connections (a host in the test's DNS zone pointing at a closed loopback
port): each deferral's delivery log line names the MX host and the address dialled (they were
null), and the daemon warns about that failure once, not once per attempt. Run as: connect_failure_test.py --outpost PATH."""
import json
import os
import re
import smtplib
import sys

from dns_server import DnsServer
from harness import run_tests, Outpost, message, wait_until, DaemonTest, free_port

OUTPOST = None


class ConnectFailureTest(DaemonTest):
    def test_an_unreachable_mx_is_named_in_the_log_and_warned_about_once(self):
        closed = free_port()  # nothing listens there: every connect is refused
        dns = DnsServer(self.workdir, [
            "dead.test. 300 IN MX 10 mx.dead.test.",
            "mx.dead.test. 300 IN A 127.0.0.1",
        ])
        self.stoppers.append(dns.stop)
        log_path = os.path.join(self.workdir, "delivery.jsonl")
        outpost = Outpost(OUTPOST, self.workdir, 0, {
            "node": {"shards": "1"},
            "log": {"delivery_log": f'"{log_path}"'},
            "delivery": {"relay": '""', "remote_port": str(closed)},
            "dns": {"servers": f'["127.0.0.1:{dns.port}"]', "timeout": '"500ms"'},
            "queue": {"retry_initial": '"1s"', "retry_max_delay": '"1s"'},
        })
        self.stoppers.append(outpost.stop)
        outpost.start()
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            client.send_message(message(1, "dead"), "news@example.com", ["ann@dead.test"])

        def deferrals():
            if not os.path.exists(log_path):
                return []
            with open(log_path) as f:
                lines = [json.loads(line) for line in f if line.strip()]
            return [line for line in lines if line["event"] == "deferred"]
        # Several attempts, one a second: each one's line names where it went.
        wait_until(lambda: len(deferrals()) >= 3, 30, 0.2, "three deferrals")
        for line in deferrals():
            self.assertEqual(line["recipient"], "ann@dead.test")
            self.assertEqual(line["mx_host"], "mx.dead.test", line)
            self.assertEqual(line["address"], f"127.0.0.1:{closed}", line)
            self.assertEqual(line["enhanced_code"], "4.4.1", line)
            self.assertIn(f"connect to 127.0.0.1:{closed}", line["reply"])
        # The same failure, attempt after attempt: one warning line (the next, with the count
        # of the others, would come a minute later).
        warnings = [line for line in outpost.output().splitlines()
                    if "[warning]" in line and f"connect to 127.0.0.1:{closed}" in line]
        self.assertEqual(len(warnings), 1, warnings)
        self.assertEqual(outpost.stop(), 0)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
