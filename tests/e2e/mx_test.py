"""End-to-end MX delivery: the daemon with no relay resolves each recipient domain through a
real DNS server on loopback (unbound, the test's own zone) and delivers to a real SMTP peer:
MX preference with failover to the next host, the implicit MX, null MX (5.1.10) and NXDOMAIN
(5.1.2) bounced at once with DSNs, a refused zone deferred with 4.4.3, and one MX query for
many messages; domains whose MX records name the same hosts share one connection pool, and
what that pool defers goes back to its domain and is retried. Run as:
mx_test.py --outpost PATH."""
import smtplib
import sys
import time

from dns_server import DnsServer
from harness import run_tests, Outpost, message, wait_until, DaemonTest
from queue_test import dsn_groups
from scripted_peer import ScriptedPeer

OUTPOST = None


class MxTest(DaemonTest):
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

    def test_domains_with_the_same_mx_hosts_share_one_pool(self):
        peer = ScriptedPeer(defer_seconds=2, slow_seconds=3)
        self.stoppers.append(peer.stop)
        dns = DnsServer(self.workdir, [
            # a, b and c name the same host (at different preferences): one pool.
            "a.test. 300 IN MX 10 shared.mx.test.",
            "b.test. 300 IN MX 5 SHARED.mx.test.",
            "c.test. 300 IN MX 20 shared.mx.test.",
            # d names another host at the same address: a pool of its own.
            "d.test. 300 IN MX 10 other.mx.test.",
            "shared.mx.test. 300 IN A 127.0.0.1",
            "other.mx.test. 300 IN A 127.0.0.1",
            "sender.test. 300 IN MX 10 other.mx.test.",
        ])
        self.stoppers.append(dns.stop)
        outpost = Outpost(OUTPOST, self.workdir, 0, {
            "delivery": {"relay": '""', "remote_port": str(peer.port), "connections_max": "1",
                         "idle_timeout": '"30s"'},
            "dns": {"servers": f'["127.0.0.1:{dns.port}"]', "timeout": '"500ms"'},
            "queue": {"retry_initial": '"1s"', "retry_max_delay": '"1s"'},
        })
        self.stoppers.append(outpost.stop)
        outpost.start()
        sender = "news@sender.test"
        expected = set()
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            for i in range(3):
                for domain in ("a", "b", "c", "d"):
                    rcpt = f"user{i}@{domain}.test"
                    client.send_message(message(i, domain), sender, [rcpt])
                    expected.add(rcpt)
            # Deferred by the peer for 2 s: the pool gives it back to b.test, which retries.
            client.send_message(message(9, "defer"), sender, ["defer1@b.test"])
            expected.add("defer1@b.test")
        try:
            wait_until(lambda: len(peer.received()) >= len(expected), 30, 0.1, "deliveries")
        except AssertionError:
            print(outpost.output()[-3000:], [r[:2] for r in peer.received()], file=sys.stderr)
            raise
        with peer.lock:
            received = list(zip(peer.messages, peer.message_connection))
        self.assertEqual({r[1][0] for r, _ in received}, expected)
        by_connection = {}
        for (_, rcpts, _), number in received:
            by_connection.setdefault(number, set()).add(rcpts[0].split("@")[1])
        # connections_max = 1 per pool: a, b and c arrived over one connection, d over another.
        shared = [n for n, domains in by_connection.items() if domains & {"a.test", "b.test"}]
        self.assertEqual(len(shared), 1, by_connection)
        self.assertEqual(by_connection[shared[0]], {"a.test", "b.test", "c.test"})
        self.assertEqual(peer.connections, 2, by_connection)
        wait_until(lambda: outpost.admin("summary").startswith("parts 0\n"), 10, 0.1, "an empty queue")

        # An operator deletes a part while its pool is delivering it: the domain's dispatcher
        # does not hold it, the pool does (found by the second, all-shards pass).
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            client.send_message(message(10, "slow"), sender, ["slow1@c.test"])
        wait_until(lambda: "slow1@c.test" in peer.slow_started, 10, 0.05, "the slow RCPT")
        self.assertIn("in flight 1", outpost.admin("delete", "--recipient", "slow1@c.test"))
        wait_until(lambda: outpost.admin("summary").startswith("parts 0\n"), 10, 0.1, "the delete")
        self.assertEqual(outpost.admin("count").strip(), "0")
        # The attempt in flight finishes (the peer has it once); nothing is queued to retry.
        self.assertEqual([r[1][0] for r in peer.received()].count("slow1@c.test"), 1)
        self.assertEqual(outpost.stop(), 0)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
