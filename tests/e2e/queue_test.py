"""End-to-end tests of the durable queue: retries with backoff, 5xx and expiry bounces as
RFC 3464 DSNs (parsed with Python's email package), the null sender, and a crash test that
SIGKILLs the daemon while clients inject. Run as: queue_test.py --outpost PATH."""
import email
import email.policy
import os
import random
import signal
import smtplib
import sys
import threading
import time

from harness import run_tests, Outpost, Sink, message, wait_until, DaemonTest
from scripted_peer import ScriptedPeer

OUTPOST = None


def dsn_groups(raw):
    """(the parsed DSN, [per-recipient field dicts]) from a DSN's bytes."""
    dsn = email.message_from_bytes(raw, policy=email.policy.default)
    assert dsn.get_content_type() == "multipart/report", dsn.get_content_type()
    assert dsn.get_param("report-type") == "delivery-status"
    status = next(p for p in dsn.walk() if p.get_content_type() == "message/delivery-status")
    blocks = status.get_payload()  # email parses the status groups as messages
    return dsn, [dict(b.items()) for b in blocks[1:]]


class QueueTest(DaemonTest):
    def peer(self, defer_seconds=0.0):
        p = ScriptedPeer(defer_seconds)
        self.stoppers.append(p.stop)
        return p

    def outpost(self, port, settings=None):
        o = Outpost(OUTPOST, self.workdir, port, settings)
        self.stoppers.append(o.stop)
        return o.start()

    def test_5xx_recipients_bounce_with_one_dsn(self):
        peer = self.peer()
        outpost = self.outpost(peer.port)
        msg = message(1, "bounce")
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            client.send_message(msg, "sender@example.com",
                                ["ok@example.net", "reject1@example.net", "reject2@example.net"])
        wait_until(lambda: len(peer.received()) >= 2, 30, 0.1, "message and its DSN")
        time.sleep(0.5)
        received = peer.received()
        self.assertEqual(len(received), 2, [r[:2] for r in received])
        original = next(r for r in received if r[0] == "sender@example.com")
        self.assertEqual(original[1], ["ok@example.net"])
        dsn_from, dsn_to, raw = next(r for r in received if r[0] == "")
        self.assertEqual(dsn_to, ["sender@example.com"])
        dsn, groups = dsn_groups(raw)
        self.assertEqual(sorted(g["Final-Recipient"] for g in groups),
                         ["rfc822; reject1@example.net", "rfc822; reject2@example.net"])
        for g in groups:
            self.assertEqual(g["Action"], "failed")
            self.assertEqual(g["Status"], "5.1.1")
            self.assertIn("550", g["Diagnostic-Code"])
        headers = next(p for p in dsn.walk() if p.get_content_type() == "text/rfc822-headers")
        self.assertIn("<bounce-1@outpost.test>", headers.get_payload(decode=True).decode())
        self.assertEqual(outpost.stop(), 0)
        self.assertEqual(outpost.queue_count(), 0)

    def test_null_sender_never_bounces(self):
        peer = self.peer()
        outpost = self.outpost(peer.port)
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            client.sendmail("", ["reject@example.net", "fine@example.net"],
                            message(2, "null").as_bytes())
        wait_until(lambda: len(peer.received()) >= 1, 30, 0.1, "the accepted copy")
        time.sleep(1.0)
        self.assertEqual([r[1] for r in peer.received()], [["fine@example.net"]])
        self.assertEqual(outpost.stop(), 0)
        self.assertEqual(outpost.queue_count(), 0)

    def test_4xx_is_retried_with_backoff_until_the_server_recovers(self):
        peer = self.peer(defer_seconds=3.0)
        outpost = self.outpost(peer.port)
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            for i in range(10):
                client.send_message(message(i, "retry"), "sender@example.com",
                                    ["defer@example.net", f"ok{i}@example.net"])
        wait_until(lambda: sum("defer@example.net" in r[1] for r in peer.received()) >= 10,
                   60, 0.2, "deferred recipients delivered after recovery")
        log = [entry for entry in peer.rcpt_log if entry[1] == "defer@example.net"]
        self.assertTrue(any(code == 451 for _, _, code in log))
        # Retries of one recipient are at least retry_initial (1 s) apart, not a tight loop.
        self.assertLess(len([e for e in log if e[2] == 451]), 10 * 4)
        self.assertEqual(outpost.stop(), 0)
        self.assertEqual(outpost.queue_count(), 0)

    def test_expiry_bounces_with_4_4_7(self):
        peer = self.peer(defer_seconds=3600)
        outpost = self.outpost(peer.port, {"queue": {"max_age": '"3s"'}})
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            client.send_message(message(3, "expire"), "sender@example.com",
                                ["defer@example.net"])
        wait_until(lambda: any(r[0] == "" for r in peer.received()), 30, 0.2, "expiry DSN")
        _, groups = dsn_groups(next(r[2] for r in peer.received() if r[0] == ""))
        self.assertEqual(len(groups), 1)
        self.assertEqual(groups[0]["Action"], "failed")
        self.assertEqual(groups[0]["Status"], "4.4.7")
        self.assertEqual(outpost.stop(), 0)
        self.assertEqual(outpost.queue_count(), 0)

    def test_sigkill_loses_no_acknowledged_message(self):
        sink = Sink(self.workdir)
        self.stoppers.append(sink.stop)
        outpost = Outpost(OUTPOST, self.workdir, sink.port)
        self.stoppers.append(outpost.stop)
        acknowledged = set()
        lock = threading.Lock()
        counter = iter(range(10**6))

        def inject(port, deadline):
            while time.monotonic() < deadline:
                try:
                    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                        while time.monotonic() < deadline:
                            with lock:
                                n = next(counter)
                            client.send_message(message(n, "crash"), "sender@example.com",
                                                ["rcpt@example.net"])
                            with lock:  # send_message returned: the server said 250
                                acknowledged.add(f"<crash-{n}@outpost.test>")
                except (OSError, smtplib.SMTPException):
                    time.sleep(0.05)  # the daemon died under us: reconnect when it is back

        rng = random.Random(1234)
        for cycle in range(10):
            outpost.start()
            deadline = time.monotonic() + rng.uniform(0.5, 1.5)
            threads = [threading.Thread(target=inject, args=(outpost.port, deadline))
                       for _ in range(4)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.2, 1.2))
            os.kill(outpost.proc.pid, signal.SIGKILL)
            outpost.proc.wait()
            for t in threads:
                t.join()
        outpost.start()
        wait_until(lambda: sink.message_ids() >= acknowledged, 120, 0.5,
                   "every acknowledged message at the sink")
        self.assertGreater(len(acknowledged), 50)
        copies = {}
        for path in sink.files():
            with open(path, "rb") as f:
                for mid in set(email.message_from_bytes(f.read()).get_all("Message-ID", [])):
                    copies[mid] = copies.get(mid, 0) + 1
        duplicates = sum(c - 1 for c in copies.values() if c > 1)
        print(f"\ncrash test: {len(acknowledged)} acknowledged, all delivered, "
              f"{duplicates} duplicate deliveries over 10 SIGKILLs", file=sys.stderr)
        self.assertEqual(outpost.stop(), 0)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
