"""End-to-end tenants (issue 11, item 4): X-Outpost-Tenant / -Class fields and the HTTP API's
tenant fields, removed before the message is stored; fair sharing and transactional-first
priority on one connection to a scripted peer; a [[tenant]] rate cap observed at the peer, and
kept across a restart (the tags live in the queue); bad values refused; a key bound to a
tenant cannot claim another. Run as: tenants_test.py --outpost PATH."""
import datetime
import json
import os
import re
import smtplib
import subprocess
import sys
import time

from harness import run_tests, Outpost, wait_until, DaemonTest, new_api_key
from scripted_peer import ScriptedPeer

OUTPOST = None

CAP = 10  # tenant "acme" messages per second


def tagged(index, tenant, traffic_class=None, local="a"):
    headers = f"X-Outpost-Tenant: {tenant}\r\n"
    if traffic_class:
        headers += f"x-outpost-class: {traffic_class}\r\n"
    return (f"From: sender@example.com\r\nTo: {local}{index}@example.net\r\n{headers}"
            f"Subject: {tenant} {index}\r\nMessage-ID: <{tenant}-{index}@outpost.test>\r\n"
            f"\r\nbody {index}\r\n")


def new_key():
    return new_api_key(OUTPOST)


class TenantsTest(DaemonTest):
    def start(self, peer, **extra):
        self.restarted_at = None
        self.key, digest = new_key()
        settings = {
            # One shard and one connection: the peer sees the order the dispatcher chose.
            "node": {"hostname": '"outpost.test"', "shards": "1"},
            "log": {"delivery_log": f'"{os.path.join(self.workdir, "delivery.jsonl")}"'},
            "delivery": {"relay": f'"127.0.0.1:{peer.port}"', "connections_max": "1",
                         "idle_timeout": '"5s"'},
            "[tenant]": {"name": '"acme"', "messages_per_second": str(CAP), "class": '"bulk"'},
            "[tenant]#2": {"name": '"shop"'},
            "[http.api_key]": {"name": '"shop-app"', "key_sha256": f'"{digest}"',
                               "tenant": '"shop"'},
        }
        settings.update(extra)
        outpost = Outpost(OUTPOST, self.workdir, 0, settings)
        self.stoppers.append(outpost.stop)
        return outpost

    def send(self, outpost, messages):
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=60) as client:
            for rcpt, text in messages:
                client.sendmail("sender@example.com", [rcpt], text)

    def api(self, outpost, body, key):
        args = ["curl", "-sS", "-X", "POST", "-w", "\n%{http_code}", "--max-time", "60",
                f"http://127.0.0.1:{outpost.http_port}/v1/messages",
                "-H", "Content-Type: application/json", "-H", f"Authorization: Bearer {key}",
                "--data-binary", json.dumps(body)]
        out = subprocess.run(args, capture_output=True, text=True, timeout=90, check=True)
        text, _, status = out.stdout.rpartition("\n")
        return int(status), json.loads(text)

    def delivered(self, outpost):
        """The delivery log's "delivered" lines, each with "at" (seconds since the epoch) and
        "run": 1 before the restart, 2 after (each run appends to the log)."""
        path = os.path.join(self.workdir, "delivery.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            lines = [json.loads(l) for l in f if l.strip()]
        out = []
        for line in lines:
            stamp = datetime.datetime.fromisoformat(line["time"].replace("Z", "+00:00"))
            line["at"] = stamp.timestamp()
            line["run"] = 2 if self.restarted_at and line["at"] >= self.restarted_at else 1
            if line["event"] == "delivered":
                out.append(line)
        return out

    def arrivals(self, peer, prefix):
        return [t for t, rcpt, code in list(peer.rcpt_log) if rcpt.startswith(prefix)]

    def test_fair_sharing_priority_cap_and_restart(self):
        peer = self.started(ScriptedPeer())
        outpost = self.start(peer).start()
        backlog = 100
        # acme's bulk backlog (its [[tenant]] class; one says so itself), capped at CAP/s.
        self.send(outpost, [(f"a{i}@example.net",
                             tagged(i, "acme", "bulk" if i % 2 else None)) for i in range(backlog)])
        wait_until(lambda: len(self.arrivals(peer, "a")) >= 15, 30, 0.05, "acme's first 15")
        # shop's transactional mail, over the API (its key's tenant) and over SMTP.
        status, body = self.api(outpost, {"from": "shop@example.com", "to": ["b0@example.net"],
                                          "subject": "receipt", "text": "thanks"}, self.key)
        self.assertEqual(status, 202, body)
        self.send(outpost, [(f"b{i}@example.net", tagged(i, "shop", local="b"))
                            for i in range(1, 5)])
        sent_at = time.monotonic()
        wait_until(lambda: len(self.arrivals(peer, "b")) == 5, 30, 0.05, "shop's five")
        # shop did not wait for acme's backlog (10 s at the cap): at most a few of acme's went
        # meanwhile, and shop's came within a couple of seconds of being sent.
        acme_before_shop = len(self.arrivals(peer, "a"))
        print(f"acme delivered before shop was done: {acme_before_shop}", file=sys.stderr)
        self.assertLess(acme_before_shop, 15 + 25, acme_before_shop)
        self.assertLess(max(self.arrivals(peer, "b")) - sent_at, 5.0)
        # acme held to its cap: a full bucket (CAP) at once, then CAP a second.
        times = self.arrivals(peer, "a")
        for start in times:
            in_window = [t for t in times if start <= t < start + 1.0]
            self.assertLessEqual(len(in_window), 2 * CAP + 1, in_window)
        # Our fields never leave: none of them reached the peer.
        for mail_from, rcpts, data in peer.received():
            self.assertNotIn(b"x-outpost-", data.lower(), data[:400])

        # A restart in the middle of acme's backlog: what is left keeps its tenant (so its
        # cap) from the queue. Checked in the delivery log, which says when each recipient was
        # delivered and for which tenant.
        self.assertEqual(outpost.stop(), 0)
        left = outpost.queue_count()
        self.assertGreater(left, 20, "acme's backlog should still be queued")
        self.restarted_at = time.time()  # recovered parts may go before start() returns
        outpost.start()

        def logged(prefix):
            return [l for l in self.delivered(outpost) if l["recipient"].startswith(prefix)]
        wait_until(lambda: len(logged("a")) >= backlog - left + 20, 30, 0.05,
                   "acme again after the restart")
        after = [l for l in logged("a") if l["run"] == 2]
        self.assertEqual({l["tenant"] for l in after}, {"acme"})
        # 20 messages at CAP/s after a burst of CAP take at least (20 - CAP) / CAP seconds;
        # uncapped they would all go at once.
        self.assertGreaterEqual(after[19]["at"] - after[0]["at"], 0.8 * (20 - CAP) / CAP,
                                [l["time"] for l in after[:20]])
        self.send(outpost, [("b9@example.net", tagged(9, "shop", local="b"))])
        wait_until(lambda: len(logged("b")) == 6, 30, 0.05, "shop after restart")
        self.assertLess(len(logged("a")), backlog, "shop waited for acme")
        wait_until(lambda: len(logged("a")) == backlog, 60, 0.1, "acme's backlog")
        self.assertEqual(outpost.stop(), 0)

    def test_bad_values_and_claims_are_refused(self):
        peer = self.started(ScriptedPeer())
        outpost = self.start(peer).start()
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            for bad in ("X-Outpost-Tenant: two words\r\n", "X-Outpost-Class: marketing\r\n",
                        "X-Outpost-Campaign: " + "c" * 65 + "\r\n"):
                with self.assertRaises(smtplib.SMTPDataError) as refused:
                    client.sendmail("s@example.com", ["x@example.net"],
                                    bad + "Subject: bad\r\n\r\nbody\r\n")
                self.assertEqual(refused.exception.smtp_code, 554)
                self.assertIn(b"X-Outpost-", refused.exception.smtp_error)
        status, body = self.api(outpost, {"from": "s@example.com", "to": ["x@example.net"],
                                          "subject": "s", "text": "t", "tenant": "a b"}, self.key)
        self.assertEqual(status, 400, body)
        self.assertEqual(body["error"]["field"], "tenant")
        status, body = self.api(outpost, {"from": "s@example.com", "to": ["x@example.net"],
                                          "subject": "s", "text": "t", "class": "promo"},
                                self.key)
        self.assertEqual(status, 400, body)
        self.assertEqual(body["error"]["field"], "class")
        # The key is shop's: it may not send as acme, by field or by header.
        status, body = self.api(outpost, {"from": "s@example.com", "to": ["x@example.net"],
                                          "subject": "s", "text": "t", "tenant": "acme"},
                                self.key)
        self.assertEqual(status, 400, body)
        self.assertIn("acme", body["error"]["message"])
        status, body = self.api(outpost, {"raw": tagged(1, "acme"), "envelope": {
            "mail_from": "s@example.com", "rcpt_to": ["x@example.net"]}}, self.key)
        self.assertEqual(status, 400, body)
        time.sleep(0.5)
        self.assertEqual(outpost.stop(), 0)
        self.assertEqual(outpost.queue_count(), 0)
        self.assertEqual(peer.received(), [])

    def test_source_pools(self):
        peer = self.started(ScriptedPeer())
        log_path = os.path.join(self.workdir, "delivery.jsonl")
        outpost = self.start(peer, **{
            "log": {"delivery_log": f'"{log_path}"'},
            "delivery": {"relay": f'"127.0.0.1:{peer.port}"', "connections_max": "2",
                         "messages_per_connection_max": "3", "idle_timeout": '"1s"'},
            "[delivery.source]": {"address": '"127.0.0.2"', "ehlo": '"mta2.outpost.test"'},
            "[delivery.source]#2": {"address": '"127.0.0.3"', "ehlo": '"mta3.outpost.test"',
                                   "pool": '"mkt"'},
            "[tenant]#3": {"name": '"news"', "source_pool": '"mkt"'},
        }).start()
        messages = []
        for i in range(10):
            messages.append((f"n{i}@example.net", tagged(i, "news", local="n")))
            messages.append((f"d{i}@example.net", "X-Outpost-Pool: default\r\n" +
                             tagged(i, "shop", local="d")))
            messages.append((f"u{i}@example.net",
                             f"Subject: u{i}\r\nMessage-ID: <u{i}@outpost.test>\r\n\r\nu\r\n"))
        self.send(outpost, messages)
        # An unknown pool is refused at the end of DATA.
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            with self.assertRaises(smtplib.SMTPDataError) as refused:
                client.sendmail("s@example.com", ["x@example.net"],
                                "X-Outpost-Pool: nowhere\r\nSubject: x\r\n\r\nx\r\n")
            self.assertEqual(refused.exception.smtp_code, 554)

        def delivered():
            if not os.path.exists(log_path):
                return []
            with open(log_path) as f:
                return [json.loads(l) for l in f if l.strip() and '"delivered"' in l]
        wait_until(lambda: len(delivered()) == 30, 60, 0.1, "30 delivered lines")
        source_of = {l["recipient"][0]: set() for l in delivered()}
        for line in delivered():
            source_of[line["recipient"][0]].add(line["source"])
        self.assertEqual(source_of["n"], {"127.0.0.3"}, "news goes from its pool mkt")
        self.assertEqual(source_of["d"], {"127.0.0.2"}, "X-Outpost-Pool: default")
        self.assertTrue(source_of["u"] <= {"127.0.0.2", "127.0.0.3"}, source_of["u"])
        tenants = {l["recipient"][0]: l["tenant"] for l in delivered()}
        self.assertEqual(tenants, {"n": "news", "d": "shop", "u": None})
        # Deliveries by tenant in /metrics, untagged mail as "(none)" (no tenant's name: those
        # have no parentheses).
        body = outpost.metrics_text()
        for tenant in ("news", "shop", "(none)"):
            self.assertIn(f'outpost_tenant_deliveries_total{{result="delivered",tenant="{tenant}"}}'
                          ' 10', body)
        self.assertEqual(outpost.stop(), 0)

    def test_a_capped_backlog_holds_no_connection_open(self):
        peer = self.started(ScriptedPeer())
        # A cap of one message an hour: after the first, nothing may go for an hour, so once
        # its connection has idled out no other opens (it would only idle out again).
        outpost = self.start(peer, **{
            "[tenant]": {"name": '"acme"', "messages_per_hour": "1"},
            "delivery": {"relay": f'"127.0.0.1:{peer.port}"', "connections_max": "2",
                         "idle_timeout": '"300ms"'}}).start()
        self.send(outpost, [(f"a{i}@example.net", tagged(i, "acme")) for i in range(5)])
        wait_until(lambda: len(peer.messages) == 1, 30, 0.1, "the first message")
        time.sleep(3)  # ten idle timeouts
        self.assertEqual(len(peer.messages), 1)
        self.assertLessEqual(peer.connections, 2, "connections opened for a capped backlog")
        self.assertEqual(peer.open_now, 0)
        self.assertEqual(outpost.stop(), 0)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
