"""End-to-end MX delivery: the daemon with no relay resolves each recipient domain through a
real DNS server on loopback (unbound, the test's own zone) and delivers to a real SMTP peer:
MX preference with failover to the next host, the implicit MX, null MX (5.1.10) and NXDOMAIN
(5.1.2) bounced at once with DSNs, a refused zone deferred with 4.4.3, and one MX query for
many messages. Run as: mx_test.py --outpost PATH."""
import smtplib
import sys
import time
import unittest

from dns_server import DnsServer
from harness import run_tests, Outpost, TempDir, message, wait_until
from queue_test import dsn_groups
from scripted_peer import ScriptedPeer

OUTPOST = None


class MxTest(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.workdir = self.tmp.__enter__()
        self.stoppers = []

    def tearDown(self):
        for stop in reversed(self.stoppers):
            stop()
        self.tmp.__exit__(None, None, None)

    def test_mx_delivery_bounces_and_deferrals(self):
        peer = ScriptedPeer()  # listens on 127.0.0.1 only: 127.0.0.2 refuses the same port
        self.stoppers.append(peer.stop)
        dns = DnsServer(self.workdir, [
            "one.test. 300 IN MX 10 mx1.one.test.",
            "one.test. 300 IN MX 20 mx2.one.test.",
            "mx1.one.test. 300 IN A 127.0.0.2",
            "mx2.one.test. 300 IN A 127.0.0.1",
            "implicit.test. 300 IN A 127.0.0.1",
            "nullmx.test. 300 IN MX 0 .",
            "sender.test. 300 IN MX 10 mx2.one.test.",
        ], refuse=["refused.test"])
        self.stoppers.append(dns.stop)
        outpost = Outpost(OUTPOST, self.workdir, 0, {
            "delivery": {"relay": '""', "remote_port": str(peer.port)},
            "dns": {"servers": f'["127.0.0.1:{dns.port}"]', "timeout": '"500ms"'},
            "queue": {"retry_initial": '"1h"', "retry_max_delay": '"1h"'},
        })
        self.stoppers.append(outpost.stop)
        outpost.start()
        sender = "news@sender.test"
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            for i in range(40):
                client.send_message(message(i, "mx"), sender, [f"user{i}@one.test"])
            client.send_message(message(100, "implicit"), sender, ["a@implicit.test"])
            client.send_message(message(101, "nullmx"), sender, ["b@nullmx.test"])
            client.send_message(message(102, "nx"), sender, ["c@nx.test"])
            client.send_message(message(103, "refused"), sender, ["d@refused.test"])

        # 40 to one.test (mx1 refuses, mx2 takes them in the same attempt: retry is 1h away),
        # 1 to implicit.test, and 2 DSNs to the sender (sender.test's MX is mx2).
        try:
            wait_until(lambda: len(peer.received()) >= 43, 30, 0.1, "deliveries and DSNs")
        except AssertionError:
            print(outpost.output()[-3000:], [r[:2] for r in peer.received()], file=sys.stderr)
            raise
        time.sleep(0.5)
        received = peer.received()
        delivered = sorted(r[1][0] for r in received if r[0] == sender)
        self.assertEqual(len(delivered), 41, delivered)
        self.assertIn("a@implicit.test", delivered)
        dsns = [r for r in received if r[0] == ""]
        self.assertEqual(len(dsns), 2, [r[:2] for r in received if r[0] != sender])
        statuses = {}
        for _, rcpts, raw in dsns:
            self.assertEqual(rcpts, [sender])
            _, groups = dsn_groups(raw)
            for g in groups:
                statuses[g["Final-Recipient"]] = g["Status"]
        self.assertEqual(statuses, {"rfc822; b@nullmx.test": "5.1.10",
                                    "rfc822; c@nx.test": "5.1.2"})

        # The refused zone waits, deferred with 4.4.3.
        wait_until(lambda: "deferred 1" in outpost.admin("summary"), 20, 0.1, "the deferral")
        listed = outpost.admin("list", "--destination", "refused.test")
        message_id = listed.split(".")[0]
        self.assertIn("4.4.3", outpost.admin("show", message_id))

        # 40 messages to one.test: one MX query for the domain (the cache coalesces).
        self.assertEqual(dns.query_count("one.test", "MX"), 1)
        self.assertIn("connect to 127.0.0.2", outpost.output())
        self.assertEqual(outpost.stop(), 0)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
