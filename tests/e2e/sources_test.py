"""End-to-end egress sources (issue 11, item 3, first part): [[delivery.source]] binds outbound
connections to 127.0.0.2 and 127.0.0.3, each with its own EHLO name, by weight; the scripted
peer sees those peer addresses and names, and the delivery log names the source of each
recipient. A source address that is not on this host fails its connections, which defer.
Run as: sources_test.py --outpost PATH."""
import collections
import datetime
import json
import os
import smtplib
import sys

from harness import run_tests, Outpost, message, wait_until, DaemonTest
from scripted_peer import ScriptedPeer

OUTPOST = None


class SourcesTest(DaemonTest):
    def start(self, peer, sources, warmups=(), **extra):
        self.log_path = os.path.join(self.workdir, "delivery.jsonl")
        settings = {"log": {"delivery_log": f'"{self.log_path}"'},
                    # One message per connection, so every message opens a connection and the
                    # source choice is seen many times.
                    "delivery": {"messages_per_connection_max": "1", "connections_max": "2"},
                    "node": {"shards": "1", "hostname": '"outpost.test"'}}
        for n, (address, ehlo, weight, *more) in enumerate(sources):
            settings[f"[delivery.source]#{n}"] = {"address": f'"{address}"', "ehlo": f'"{ehlo}"',
                                                 "weight": str(weight), **(more[0] if more else {})}
        for n, warmup in enumerate(warmups):
            settings[f"[warmup]#{n}"] = warmup
        for section, keys in extra.items():
            settings.setdefault(section, {}).update(keys)
        outpost = Outpost(OUTPOST, self.workdir, peer.port, settings)
        self.stoppers.append(outpost.stop)
        return outpost.start()

    def lines(self):
        with open(self.log_path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def test_connections_go_out_from_each_source_by_weight_with_its_ehlo(self):
        peer = self.started(ScriptedPeer())
        outpost = self.start(peer, [("127.0.0.2", "mta2.outpost.test", 2),
                                    ("127.0.0.3", "mta3.outpost.test", 1)])
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            for i in range(30):
                client.send_message(message(i, "src"), "sender@example.com", ["ok@example.net"])
        wait_until(lambda: len(peer.messages) == 30, 30, 0.1, "30 messages at the peer")
        sessions = list(peer.sessions)
        # Each address with its own name, and no other pairing.
        self.assertEqual(set(sessions), {("127.0.0.2", "mta2.outpost.test"),
                                         ("127.0.0.3", "mta3.outpost.test")}, sessions)
        counts = collections.Counter(address for address, _ in sessions)
        # Weights 2:1 over one shard's round robin: exact to within one connection.
        self.assertLessEqual(abs(counts["127.0.0.2"] - 2 * counts["127.0.0.3"]), 2, counts)
        wait_until(lambda: len([l for l in self.lines() if l["event"] == "delivered"]) == 30,
                   10, 0.1, "30 delivered lines")
        by_source = collections.Counter(l["source"] for l in self.lines()
                                        if l["event"] == "delivered")
        self.assertEqual(set(by_source), {"127.0.0.2", "127.0.0.3"}, by_source)
        self.assertEqual(sum(by_source.values()), 30)
        self.assertEqual(outpost.stop(), 0)

    def test_a_source_that_is_not_here_defers(self):
        peer = self.started(ScriptedPeer())
        # 192.0.2.1 (TEST-NET-1) is on no interface here: bind fails, nothing is sent.
        outpost = self.start(peer, [("192.0.2.1", "nowhere.outpost.test", 1)],
                             queue={"retry_initial": '"1h"', "retry_max_delay": '"1h"'})
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            client.send_message(message(0, "nowhere"), "sender@example.com", ["ok@example.net"])
        wait_until(lambda: any(l["event"] == "deferred" for l in self.lines())
                   if os.path.exists(self.log_path) else False, 20, 0.1, "the deferral")
        deferred = next(l for l in self.lines() if l["event"] == "deferred")
        self.assertEqual(deferred["enhanced_code"], "4.4.1")
        self.assertIn("from 192.0.2.1 failed: cannot assign requested address",
                      deferred["reply"].lower())
        self.assertEqual(peer.messages, [])
        self.assertEqual(outpost.stop(), 0)

    def test_a_source_on_warm_up_sends_its_daily_cap_and_the_rest_goes_from_the_warm_one(self):
        peer = self.started(ScriptedPeer())
        # Day 2 of a schedule of 1 then 3: three messages today from 127.0.0.2.
        began = (datetime.datetime.now(datetime.timezone.utc).date() -
                 datetime.timedelta(days=1)).isoformat()
        outpost = self.start(peer, [("127.0.0.2", "new.outpost.test", 1,
                                     {"warmup": '"tiny"', "warmup_start": began}),
                                    ("127.0.0.3", "warm.outpost.test", 1)],
                             warmups=[{"name": '"tiny"', "daily": "[1, 3]"}])
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            for i in range(12):
                client.send_message(message(i, "warm"), "sender@example.com", ["ok@example.net"])
        wait_until(lambda: len(peer.messages) == 12, 30, 0.1, "12 messages at the peer")
        wait_until(lambda: len([l for l in self.lines() if l["event"] == "delivered"]) == 12,
                   10, 0.1, "12 delivered lines")
        by_source = collections.Counter(l["source"] for l in self.lines()
                                        if l["event"] == "delivered")
        self.assertEqual(by_source, {"127.0.0.2": 3, "127.0.0.3": 9})
        self.assertIn('warm-up "tiny" day 2: 3 messages today', outpost.output())
        self.assertEqual(outpost.stop(), 0)

    def test_connections_per_source(self):
        peer = self.started(ScriptedPeer(slow_seconds=0.3))
        outpost = self.start(peer, [("127.0.0.2", "mta2.outpost.test", 1),
                                    ("127.0.0.3", "mta3.outpost.test", 1)],
                             delivery={"connections_max": "6", "connections_per_source_max": "2",
                                       "messages_per_connection_max": "1"})
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            for i in range(16):
                client.send_message(message(i, "per-source"), "sender@example.com",
                                    ["slow@example.net"])
        wait_until(lambda: len(peer.messages) == 16, 60, 0.1, "16 messages at the peer")
        # Two per address at most, so four in all although six are allowed to the destination.
        self.assertEqual(peer.open_max_by_peer, {"127.0.0.2": 2, "127.0.0.3": 2})
        self.assertLessEqual(peer.open_max, 4)
        self.assertEqual(outpost.stop(), 0)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
