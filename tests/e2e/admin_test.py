"""End-to-end tests of the admin API and `outpost queue` against the running daemon: summary,
list, show, retry, delete and bounce with their filters, over the real HTTP listener (curl and
Python's http.client as clients) and the command line; the admin key; HTTP error handling.
Run as: admin_test.py --outpost PATH."""
import http.client
import json
import os
import smtplib
import socket
import subprocess
import sys
import time

from harness import run_tests, Outpost, free_port, message, wait_until, DaemonTest
from queue_test import dsn_groups
from scripted_peer import ScriptedPeer

OUTPOST = None

# Parts stay where the test put them: no retry fires during a test.
PATIENT = {"queue": {"retry_initial": '"1h"', "retry_max_delay": '"1h"'}}


def auth(outpost):
    """curl's arguments for the admin key (the one the daemon made in its spool)."""
    return ("-H", f"Authorization: Bearer {outpost.admin_key()}")


def curl(*args):
    out = subprocess.run(["curl", "-s", "-S", "-w", "\n%{http_code}", *args],
                         capture_output=True, text=True, timeout=30)
    body, _, code = out.stdout.rpartition("\n")
    return int(code), body + out.stderr


class AdminTest(DaemonTest):
    def outpost(self, relay_port, settings):
        o = Outpost(OUTPOST, self.workdir, relay_port, settings)
        self.stoppers.append(o.stop)
        return o.start()

    def peer(self, defer_seconds):
        p = ScriptedPeer(defer_seconds)
        self.stoppers.append(p.stop)
        return p

    def url(self, outpost, route):
        return f"http://127.0.0.1:{outpost.http_port}/api/v1/queue/{route}"

    def send(self, outpost, sender, recipients, index):
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            client.sendmail(sender, recipients, message(index, "admin").as_bytes())

    def test_filters_select_parts_by_destination_sender_and_id(self):
        # No relay: each recipient domain is its own destination (owned by one of two shards),
        # and with no DNS answer every part waits deferred with 4.4.3.
        outpost = self.outpost(0, {"delivery": {"relay": '""'}, **PATIENT})
        self.send(outpost, "news@a.example", ["1@one.example", "2@two.example"], 1)
        self.send(outpost, "news@a.example", ["3@one.example"], 2)
        self.send(outpost, "alerts@b.example", ["4@two.example", "5@three.example"], 3)
        wait_until(lambda: "deferred 5" in outpost.admin("summary"), 20, 0.1, "all deferred")

        code, body = curl(*auth(outpost), self.url(outpost, "summary"))
        self.assertEqual(code, 200, body)
        summary = json.loads(body)
        self.assertEqual(summary["parts"], 5)
        self.assertEqual(summary["recipients"]["deferred"], 5)
        self.assertEqual({d["destination"]: d["parts"] for d in summary["destinations"]},
                         {"one.example": 2, "two.example": 2, "three.example": 1})

        listed = outpost.admin("list", "--sender", "@A.example").splitlines()
        self.assertEqual(len(listed), 3, listed)
        self.assertTrue(all("<news@a.example>" in line for line in listed), listed)
        self.assertEqual(outpost.admin("count", "--destination", "two.example").strip(), "2")
        self.assertEqual(outpost.admin("count", "--recipient", "5@three.example").strip(), "1")

        code, body = curl(*auth(outpost), self.url(outpost, "messages?sender=alerts@b.example"))
        parts = json.loads(body)["parts"]
        self.assertEqual(sorted(p["destination"] for p in parts), ["three.example", "two.example"])
        message_id = parts[0]["id"]
        self.assertEqual({p["id"] for p in parts}, {message_id})  # one message, two parts
        shown = outpost.admin("show", message_id)
        self.assertIn("<4@two.example> deferred after 1 attempts: 4.4.3 two.example", shown)
        self.assertIn("<5@three.example> deferred", shown)
        code, _ = curl(*auth(outpost), self.url(outpost, "messages/00000000000000ff"))
        self.assertEqual(code, 404)

        # retry: the parts of one destination are tried again now (attempt 2), others not.
        self.assertIn("retry: matched 2, applied 2",
                      outpost.admin("retry", "--destination", "one.example"))
        wait_until(lambda: outpost.admin("list", "--destination", "one.example").count("/2") == 2,
                   20, 0.1, "second attempts")
        self.assertNotIn("/2", outpost.admin("list", "--destination", "two.example"))

        # delete: one message's parts, wherever they are.
        self.assertIn("delete: matched 2, applied 2",
                      outpost.admin("delete", "--id", message_id))
        self.assertEqual(outpost.admin("count").strip(), "3")
        self.assertNotIn(message_id, outpost.admin("list"))
        self.assertEqual(outpost.stop(), 0)
        self.assertEqual(outpost.queue_count(), 3)  # the spool agrees once the daemon is down

    def test_delete_and_bounce_need_a_filter_and_unknown_filters_are_refused(self):
        outpost = self.outpost(0, {"delivery": {"relay": '""'}, **PATIENT})
        self.send(outpost, "s@a.example", ["1@one.example"], 1)
        wait_until(lambda: outpost.admin("count").strip() == "1", 20, 0.1, "queued")
        for action in ("delete", "bounce"):
            code, _, err = outpost.admin(action, check=False)
            self.assertEqual(code, 1)
            self.assertIn("400", err)
            self.assertIn("all=1", err)
        code, body = curl(*auth(outpost), "-X", "POST",
                          self.url(outpost, "delete?destnation=one.example"))
        self.assertEqual(code, 400)
        self.assertIn("unknown parameter", json.loads(body)["error"])
        code, _ = curl(*auth(outpost), self.url(outpost, "delete"))  # GET on an action
        self.assertEqual(code, 405)
        code, _ = curl(*auth(outpost), "-X", "POST", self.url(outpost, "summary"))
        self.assertEqual(code, 405)
        code, _ = curl(*auth(outpost), self.url(outpost, "summary?id=xyz"))
        self.assertEqual(code, 400)
        self.assertEqual(outpost.admin("count").strip(), "1")  # nothing was touched
        self.assertIn("delete: matched 1, applied 1", outpost.admin("delete", "--all"))
        self.assertEqual(outpost.admin("count").strip(), "0")

    def test_retry_delivers_deferred_mail_now_and_delete_drops_it(self):
        peer = self.peer(defer_seconds=2)
        outpost = self.outpost(peer.port, PATIENT)
        for i in range(3):
            self.send(outpost, "sender@example.com", [f"defer{i}@example.net"], i)
        self.send(outpost, "sender@example.com", ["defer-drop@example.net"], 9)
        wait_until(lambda: "deferred 4" in outpost.admin("summary"), 20, 0.1, "4xx deferrals")
        time.sleep(2.1)  # the peer now accepts; the queue would wait an hour
        self.assertIn("delete: matched 1, applied 1",
                      outpost.admin("delete", "--recipient", "defer-drop@example.net"))
        self.assertIn("retry: matched 3, applied 3", outpost.admin("retry"))
        wait_until(lambda: len(peer.received()) == 3, 20, 0.1, "the retried messages")
        wait_until(lambda: outpost.admin("count").strip() == "0", 20, 0.1, "an empty queue")
        self.assertEqual(sorted(r[1][0] for r in peer.received()),
                         ["defer0@example.net", "defer1@example.net", "defer2@example.net"])

    def test_bounce_returns_the_message_with_a_dsn(self):
        peer = self.peer(defer_seconds=3600)
        outpost = self.outpost(peer.port, PATIENT)
        self.send(outpost, "sender@example.com", ["defer-a@example.net", "defer-b@example.net"], 1)
        wait_until(lambda: "deferred 2" in outpost.admin("summary"), 20, 0.1, "deferred")
        self.assertIn("bounce: matched 1, applied 1",
                      outpost.admin("bounce", "--sender", "sender@example.com"))
        wait_until(lambda: len(peer.received()) == 1, 20, 0.1, "the DSN")
        dsn_from, dsn_to, raw = peer.received()[0]
        self.assertEqual((dsn_from, dsn_to), ("", ["sender@example.com"]))
        _, groups = dsn_groups(raw)
        self.assertEqual(sorted(g["Final-Recipient"] for g in groups),
                         ["rfc822; defer-a@example.net", "rfc822; defer-b@example.net"])
        for g in groups:
            self.assertEqual(g["Status"], "5.0.0")
            self.assertIn("queue operator", g["Diagnostic-Code"])
            self.assertIn("451 4.3.2", g["Diagnostic-Code"])  # the last reply is kept
        wait_until(lambda: outpost.admin("count").strip() == "0", 20, 0.1, "an empty queue")

    def test_admin_key_is_required_when_set(self):
        outpost = self.outpost(0, {"delivery": {"relay": '""'},
                                   "http": {"listen": '["127.0.0.1:0"]', "admin_key": '"s3cret"'},
                                   **PATIENT})
        code, body = curl(self.url(outpost, "summary"))
        self.assertEqual(code, 401, body)
        code, _ = curl("-H", "Authorization: Bearer wrong", self.url(outpost, "summary"))
        self.assertEqual(code, 401)
        code, body = curl("-H", "Authorization: Bearer s3cret", self.url(outpost, "summary"))
        self.assertEqual(code, 200)
        self.assertEqual(json.loads(body)["parts"], 0)
        # The command line takes the key from the configuration.
        self.assertEqual(outpost.admin("count").strip(), "0")
        code, _, err = outpost.admin("count", "--key", "wrong", check=False)
        self.assertEqual((code, "401" in err), (1, True))

    def test_http_keeps_alive_pipelines_and_refuses_malformed_requests(self):
        outpost = self.outpost(0, {"delivery": {"relay": '""'}, **PATIENT})
        conn = http.client.HTTPConnection("127.0.0.1", outpost.http_port, timeout=10)
        for _ in range(3):  # one connection, three requests
            conn.request("GET", "/api/v1/queue/summary", headers=outpost.admin_headers())
            response = conn.getresponse()
            self.assertEqual(response.status, 200)
            self.assertEqual(json.loads(response.read())["parts"], 0)
        conn.request("GET", "/nowhere")
        self.assertEqual(conn.getresponse().status, 404)
        conn.close()

        with socket.create_connection(("127.0.0.1", outpost.http_port), timeout=10) as s:
            key = f"Authorization: Bearer {outpost.admin_key()}\r\n".encode()
            two = (b"GET /api/v1/queue/summary?format=text HTTP/1.1\r\nHost: x\r\n" + key +
                   b"\r\nGET /api/v1/queue/summary?format=text HTTP/1.1\r\nHost: x\r\n" + key +
                   b"Connection: close\r\n\r\n")
            s.sendall(two)
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
            self.assertEqual(answer.count(b"HTTP/1.1 200 OK"), 2, answer)
            self.assertEqual(answer.count(b"parts 0"), 2, answer)

        for bad, status in ((b"GARBAGE\r\n\r\n", b"400"),
                            (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", b"505"),
                            (b"GET / HTTP/1.1\r\n\r\n", b"400"),  # no Host
                            (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", b"414")):
            with socket.create_connection(("127.0.0.1", outpost.http_port), timeout=10) as s:
                s.sendall(bad)
                answer = b""
                while chunk := s.recv(65536):
                    answer += chunk
                self.assertTrue(answer.startswith(b"HTTP/1.1 " + status), (bad[:30], answer))
        # A client that goes away in the middle of a request costs nothing.
        with socket.create_connection(("127.0.0.1", outpost.http_port), timeout=10) as s:
            s.sendall(b"GET /api/v1/queue/summ")
        self.assertEqual(outpost.admin("count").strip(), "0")
        self.assertEqual(outpost.stop(), 0)

    def test_queue_command_reads_the_spool_when_no_daemon_runs(self):
        port = free_port()  # a fixed admin port nobody listens on
        outpost = Outpost(OUTPOST, self.workdir, 0,
                          {"delivery": {"relay": '""'}, **PATIENT,
                           "http": {"listen": f'["127.0.0.1:{port}"]'}})
        self.stoppers.append(outpost.stop)
        outpost.start()
        self.send(outpost, "s@a.example", ["1@one.example"], 1)
        wait_until(lambda: outpost.queue("count").strip() == "1", 20, 0.1, "queued")
        self.assertEqual(outpost.stop(), 0)
        out = subprocess.run([OUTPOST, "queue", "summary", "--config", outpost.config],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("destination one.example 1", out.stdout)
        self.assertIn("reading the spool", out.stderr)
        out = subprocess.run([OUTPOST, "queue", "retry", "--config", outpost.config],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 1)
        self.assertIn("Connection refused", out.stderr)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
