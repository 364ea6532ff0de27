"""End-to-end traffic shaping (issue 11, item 1): [[shaping]] rules by MX host suffix and by
domain, enforced on MX delivery through a real DNS server (unbound) to a scripted peer that
counts what it sees: the most sessions open at once, messages per session, and the rate of
messages over a window. Run as: shaping_test.py --outpost PATH."""
import collections
import smtplib
import sys
import time

from dns_server import DnsServer
from harness import run_tests, Outpost, message, wait_until, DaemonTest
from scripted_peer import ScriptedPeer

OUTPOST = None


class ShapingTest(DaemonTest):
    def start(self, peer, rules, domains, **extra):
        records = []
        for domain in domains:
            records.append(f"{domain}. 300 IN MX 10 mx.provider.test.")
        records.append("mx.provider.test. 300 IN A 127.0.0.1")
        dns = self.started(DnsServer(self.workdir, records))
        settings = {"delivery": {"relay": '""', "remote_port": str(peer.port),
                                 "connections_max": "8", "idle_timeout": '"1s"'},
                    "dns": {"servers": f'["127.0.0.1:{dns.port}"]', "timeout": '"500ms"'},
                    "queue": {"retry_initial": '"1h"', "retry_max_delay": '"1h"'}}
        for n, rule in enumerate(rules):
            settings[f"[shaping]#{n}"] = rule
        for section, keys in extra.items():
            settings.setdefault(section, {}).update(keys)
        outpost = Outpost(OUTPOST, self.workdir, 0, settings)
        self.stoppers.append(outpost.stop)
        return outpost.start()

    def send(self, outpost, recipients, tag):
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            for i, rcpt in enumerate(recipients):
                client.send_message(message(i, tag), "news@sender.test", [rcpt])

    def test_connections_and_messages_per_connection_by_mx_suffix(self):
        peer = self.started(ScriptedPeer(slow_seconds=0.05))
        # Two domains hosted by one provider: one rule on the MX suffix covers both, and they
        # share the pool of that MX host, so the limit holds for the two together.
        outpost = self.start(peer, [{"mx_suffix": '".provider.test"', "connections_max": "2",
                                     "messages_per_connection_max": "3"}],
                             ["a.test", "b.test"])
        self.send(outpost, [f"slow{i}@{'a' if i % 2 else 'b'}.test" for i in range(24)], "conn")
        wait_until(lambda: len(peer.messages) == 24, 60, 0.1, "24 messages at the peer")
        self.assertLessEqual(peer.open_max, 2)
        self.assertEqual(peer.open_max, 2)  # and it did use both
        per_session = collections.Counter(peer.message_connection)
        self.assertLessEqual(max(per_session.values()), 3, per_session)
        self.assertGreaterEqual(len(per_session), 8)  # 24 messages, at most 3 each
        self.assertEqual(outpost.stop(), 0)

    def test_a_domain_rule_holds_a_message_rate(self):
        peer = self.started(ScriptedPeer())
        outpost = self.start(peer, [{"domain": '"slow.test"', "messages_per_second": "4"}],
                             ["slow.test", "fast.test"])
        began = time.monotonic()
        self.send(outpost, [f"u{i}@slow.test" for i in range(16)] +
                  [f"u{i}@fast.test" for i in range(16)], "rate")
        wait_until(lambda: len(peer.messages) == 32, 60, 0.1, "32 messages at the peer")
        times = sorted(t for t, rcpt, code in peer.rcpt_log if rcpt.endswith("@slow.test"))
        # A bucket of 4 per second: 4 at once, then one every 250 ms. 16 take at least 3 s.
        self.assertGreaterEqual(times[-1] - times[0], 2.7, times)
        for start in times:
            in_window = [t for t in times if start <= t < start + 1.0]
            self.assertLessEqual(len(in_window), 8, in_window)  # burst 4 + 4 per second
        # The two domains share the MX host's pool, and its limit is the tighter rule's: the
        # fast domain goes at the same pace (a rule for a domain binds its MX host set).
        fast = sorted(t for t, rcpt, code in peer.rcpt_log if rcpt.endswith("@fast.test"))
        self.assertEqual(len(fast), 16)
        self.assertLess(time.monotonic() - began, 30)
        self.assertEqual(outpost.stop(), 0)

    def test_recipients_per_message(self):
        peer = self.started(ScriptedPeer(defer_seconds=3600))
        outpost = self.start(peer, [{"domain": '"split.test"', "recipients_per_message_max": "3"}],
                             ["split.test"])
        split = ["defer0@split.test"] + [f"u{i}@split.test" for i in range(1, 7)]
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            client.send_message(message(0, "split"), "news@sender.test", split)
        wait_until(lambda: sum(len(m[1]) for m in peer.messages) == 6, 30, 0.1,
                   "6 recipients accepted")
        time.sleep(0.5)  # nothing more comes: the deferred one waits for its retry (1 h)
        # Three transactions of at most 3 RCPTs each (the 451 one took a place in the first),
        # one after another on the connection, and the deferred recipient was not tried again
        # in the same attempt.
        self.assertEqual([sorted(m[1]) for m in peer.messages],
                         [["u1@split.test", "u2@split.test"],
                          ["u3@split.test", "u4@split.test", "u5@split.test"],
                          ["u6@split.test"]])
        self.assertEqual(len(set(peer.message_connection)), 1)
        tried = [rcpt for t, rcpt, code in peer.rcpt_log if rcpt.startswith("defer0")]
        self.assertEqual(len(tried), 1)
        self.assertEqual(outpost.stop(), 0)
        self.assertEqual(outpost.queue_count(), 1)  # the deferred part stays queued

if __name__ == "__main__":
    run_tests(sys.modules[__name__])
