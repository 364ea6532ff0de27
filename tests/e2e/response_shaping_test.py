"""End-to-end response-driven shaping (issue 11, item 2): a receiver's 451 "try again later"
matches a throttle rule (one connection, 2 messages/s, relaxing every 2 s) and its 550 a
suspension rule; the scripted peer sees the pace drop and recover, the log says which rule
acted, and outpost_shaping_actions_total counts it. Run as: response_shaping_test.py --outpost
PATH."""
import os
import re
import smtplib
import sys
import time

from harness import run_tests, Outpost, message, wait_until, DaemonTest
from scripted_peer import ScriptedPeer

OUTPOST = None


class ResponseShapingTest(DaemonTest):
    def start(self, peer, rules):
        path = os.path.join(self.workdir, "response_rules.conf")
        with open(path, "w") as f:
            f.write(rules)
        outpost = Outpost(OUTPOST, self.workdir, peer.port, {
            "node": {"shards": "1", "hostname": '"outpost.test"'},
            "delivery": {"response_rules": f'"{path}"', "connections_max": "4"},
            "queue": {"retry_initial": '"1s"', "retry_max_delay": '"1s"'},
        })
        self.stoppers.append(outpost.stop)
        return outpost.start()

    def metric(self, outpost, action):
        body = outpost.metrics_text()
        found = re.search(r'^outpost_shaping_actions_total\{action="%s"\} (\S+)$' % action,
                          body, re.M)
        return float(found.group(1)) if found else 0

    def test_a_rate_limit_reply_throttles_then_recovers(self):
        peer = self.started(ScriptedPeer(defer_seconds=0.5))
        outpost = self.start(peer, 'test-throttle 451 "try again later" connections=1 rate=2 '
                                   'recover=2s\n')
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            client.send_message(message(0, "first"), "sender@example.com", ["defer-1@example.net"])
            wait_until(lambda: any(code == 451 for _, _, code in peer.rcpt_log), 10, 0.02,
                       "the 451")
            throttled_at = time.monotonic()
            for i in range(40):
                client.send_message(message(i, "ok"), "sender@example.com", ["ok@example.net"])
        wait_until(lambda: len(peer.messages) == 41, 60, 0.1, "every message, deferred one too")
        times = sorted(t for t, rcpt, code in peer.rcpt_log if rcpt == "ok@example.net")
        # Throttled: once the few already under way are through, 2 a second until the first
        # step (unthrottled, all 40 would be done in a fraction of a second).
        steady = [t for t in times if throttled_at + 0.5 <= t < throttled_at + 1.9]
        self.assertLessEqual(len(steady), 4, steady)
        self.assertGreaterEqual(times[-1] - throttled_at, 2)
        # And it recovers: the rate doubles every 2 s, so the 40 do not take 20 s.
        self.assertLess(times[-1] - throttled_at, 14)
        log = outpost.output()
        self.assertIn('matched shaping rule test-throttle: throttled to 1 connections', log)
        wait_until(lambda: "shaping throttle over" in outpost.output(), 30, 0.2, "the recovery")
        wait_until(lambda: self.metric(outpost, "recover") == 1, 5, 0.2, "the recovery count")
        self.assertGreaterEqual(self.metric(outpost, "throttle"), 1)
        self.assertGreaterEqual(self.metric(outpost, "relax"), 1)
        self.assertEqual(outpost.stop(), 0)

    def test_a_block_list_reply_suspends_the_destination(self):
        peer = self.started(ScriptedPeer())
        outpost = self.start(peer, 'test-suspend 5xx "user unknown" suspend=3s\n')
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            client.send_message(message(0, "rejected"), "sender@example.com",
                                ["reject-1@example.net"])
            wait_until(lambda: "matched shaping rule test-suspend" in outpost.output(), 10, 0.02,
                       "the suspension")
            rejected_at = time.monotonic()
            client.send_message(message(1, "later"), "sender@example.com", ["ok@example.net"])
        # The DSN goes to the sender through the same suspended relay, so both wait.
        wait_until(lambda: any(r == "ok@example.net" for _, r, _ in peer.rcpt_log), 15, 0.05,
                   "the next message")
        first_ok = min(t for t, r, _ in peer.rcpt_log if r == "ok@example.net")
        self.assertGreaterEqual(first_ok - rejected_at, 2.5)
        self.assertIn("matched shaping rule test-suspend: suspended until", outpost.output())
        self.assertEqual(self.metric(outpost, "suspend"), 1)
        self.assertEqual(outpost.stop(), 0)

    def test_a_bad_rules_file_stops_the_start(self):
        peer = self.started(ScriptedPeer())
        with self.assertRaises(AssertionError) as failed:
            self.start(peer, 'broken 4xx "x" pause=1m\n')
        self.assertIn("line 1: unknown action", str(failed.exception))


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
