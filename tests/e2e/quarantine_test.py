"""End-to-end test of the crash-loop breaker: a message whose delivery is under way each time
the daemon dies (SIGKILL while the receiver holds the end of DATA unanswered) is quarantined at
the third crash: shown by `outpost queue` and the admin API, counted in /metrics, logged once,
not attempted after the next restart, and delivered once an operator releases it; a receiver
that crashes the daemon with every message gets its destination held once two of its parts
are quarantined.
Run as: quarantine_test.py --outpost PATH."""
import http.client
import json
import os
import signal
import smtplib
import socket
import threading
import time

from harness import run_tests, Outpost, message, wait_until, DaemonTest

OUTPOST = None


class HoldingPeer:
    """An SMTP receiver that reads a whole message and, while `hold` is set, never answers the
    final dot (the transaction stays in flight until the client goes); otherwise 250."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.hold = True
        self.greet = True   # False: never a greeting (the session stays in its first phase)
        self.lock = threading.Lock()
        self.sessions = 0   # connections accepted
        self.held = 0       # messages whose final dot was never answered
        self.accepted = []  # message bytes answered 250
        self.stopping = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.sessions += 1
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        conn.settimeout(120)
        reader = conn.makefile("rb")
        try:
            if not self.greet:
                reader.read()  # until the daemon dies and the socket closes
                return
            conn.sendall(b"220 holding.test ESMTP\r\n")
            while True:
                line = reader.readline()
                if not line:
                    return
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250-holding.test\r\n250 PIPELINING\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 go ahead\r\n")
                    data = b""
                    while not data.endswith(b"\r\n.\r\n"):
                        chunk = reader.readline()
                        if not chunk:
                            return
                        data += chunk
                    with self.lock:
                        if self.hold:
                            self.held += 1
                            holding = True
                        else:
                            self.accepted.append(data)
                            holding = False
                    if holding:
                        reader.read()  # until the daemon dies and the socket closes
                        return
                    conn.sendall(b"250 2.0.0 queued\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 ok\r\n")
        except OSError:
            return
        finally:
            conn.close()

    def count(self, what):
        with self.lock:
            return getattr(self, what) if what != "accepted" else len(self.accepted)

    def stop(self):
        self.stopping = True
        self.sock.close()


class QuarantineTest(DaemonTest):
    def kill(self, daemon):
        os.kill(daemon.proc.pid, signal.SIGKILL)
        daemon.proc.wait()

    def admin_get(self, daemon, path):
        connection = http.client.HTTPConnection("127.0.0.1", daemon.http_port, timeout=30)
        connection.request("GET", path, headers=daemon.admin_headers())
        response = connection.getresponse()
        body = response.read().decode()
        connection.close()
        self.assertEqual(response.status, 200, body)
        return body

    def held_part(self, index):
        """A daemon (one shard) whose one message, to a receiver that holds every DATA, was in
        flight at three SIGKILLs: quarantined. Returns (peer, daemon)."""
        peer = self.started(HoldingPeer())
        daemon = Outpost(OUTPOST, self.workdir, peer.port, {"node": {"shards": "1"}})
        self.stoppers.append(daemon.stop)
        daemon.start()
        with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30) as client:
            client.send_message(message(index, "poison"), "sender@example.com",
                                ["rcpt@example.net"])
        for crash in range(1, 4):
            wait_until(lambda: peer.count("held") >= crash, 30,
                       what=f"attempt {crash} to be in flight")
            self.kill(daemon)
            daemon.start()
        self.assertIn(" quarantined", daemon.admin("list"))
        return peer, daemon

    def test_part_in_flight_at_three_crashes_is_held_until_released(self):
        peer = self.started(HoldingPeer())
        daemon = Outpost(OUTPOST, self.workdir, peer.port, {"node": {"shards": "1"}})
        self.stoppers.append(daemon.stop)
        daemon.start()
        with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30) as client:
            client.send_message(message(1, "poison"), "sender@example.com", ["rcpt@example.net"])

        # Three runs die while the receiver holds the part's DATA: each restart counts a crash
        # against it; the first two retry it at once.
        for crash in range(1, 4):
            wait_until(lambda: peer.count("held") >= crash, 30,
                       what=f"attempt {crash} to be in flight")
            self.kill(daemon)
            daemon.start()
            log = daemon.output()
            self.assertIn("the last run ended during 1 delivery attempts", log)
            self.assertEqual(log.count("quarantined: in flight at 3 crashes"),
                             1 if crash == 3 else 0, log)

        # Held: listed as quarantined by the command line and the admin API, counted in
        # /metrics, and never tried (the retry policy would have fired within a second).
        time.sleep(3)
        self.assertEqual(peer.count("held"), 3)
        self.assertEqual(peer.count("sessions"), 3)
        listed = daemon.admin("list")
        self.assertIn(" quarantined", listed)
        message_id = listed.split()[0].split(".")[0]
        shown = daemon.admin("show", message_id)
        self.assertIn("quarantined (in flight at 3 crashes", shown)
        self.assertIn("quarantined 1", daemon.admin("summary"))
        parts = json.loads(self.admin_get(daemon, "/api/v1/queue/messages"))["parts"]
        self.assertEqual([p["quarantined"] for p in parts], [True])
        summary = json.loads(self.admin_get(daemon, "/api/v1/queue/summary"))
        self.assertEqual(summary["quarantined"], 1)
        wait_until(lambda: "outpost_queue_parts_quarantined 1" in
                   daemon.metrics_text(), 10, what="the quarantine gauge")

        # Not attempted after the next restart either (a clean one this time).
        self.assertEqual(daemon.stop(), 0)
        daemon.start()
        time.sleep(3)
        self.assertEqual(peer.count("sessions"), 3)
        self.assertIn(" quarantined", daemon.admin("list"))
        self.assertNotIn("the last run ended during", daemon.output())

        # The operator releases it: delivered at once, the queue empties, the gauge drops.
        peer.hold = False
        self.assertIn("applied 1", daemon.admin("retry", "--id", message_id))
        wait_until(lambda: peer.count("accepted") == 1, 30, what="the released part delivered")
        self.assertIn(b"Subject: test 1", peer.accepted[0])
        wait_until(lambda: json.loads(self.admin_get(daemon, "/api/v1/queue/summary"))["parts"]
                   == 0, 30, what="the queue to empty")
        wait_until(lambda: "outpost_queue_parts_quarantined 0" in daemon.metrics_text(), 10,
                   what="the quarantine gauge back to 0")
        self.assertIn("released from quarantine by an operator", daemon.output())

    def test_a_receiver_that_crashes_whatever_it_is_sent_is_held(self):
        # Two parts in flight on two connections at each crash: both are quarantined at the
        # third, and with them their destination, so mail queued for it later waits too.
        peer = self.started(HoldingPeer())
        daemon = Outpost(OUTPOST, self.workdir, peer.port, {"node": {"shards": "1"}})
        self.stoppers.append(daemon.stop)
        daemon.start()
        with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30) as client:
            for i in range(2):
                client.send_message(message(i, "peer"), "sender@example.com",
                                    ["rcpt@example.net"])
        for crash in range(1, 4):
            wait_until(lambda: peer.count("held") >= 2 * crash, 30,
                       what=f"both attempts of round {crash} in flight")
            self.kill(daemon)
            daemon.start()
        log = daemon.output()
        self.assertEqual(log.count("quarantined: in flight at 3 crashes"), 2, log)
        self.assertIn("destination relay held: 2 of its parts are quarantined", log)
        with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30) as client:
            client.send_message(message(9, "later"), "sender@example.com", ["rcpt@example.net"])
        time.sleep(3)
        self.assertEqual(peer.count("sessions"), 6)  # nothing tried since the third crash
        self.assertEqual(daemon.admin("list").count(" quarantined"), 2)

        # The operator resumes the destination (the new message goes) and releases the parts.
        peer.hold = False
        daemon.admin("resume", "relay")
        wait_until(lambda: peer.count("accepted") == 1, 30, what="the later message")
        self.assertIn("applied 2", daemon.admin("retry"))
        wait_until(lambda: peer.count("accepted") == 3, 30, what="the released parts")

    def test_a_crash_before_the_transaction_counts_against_the_part_waiting(self):
        # The daemon dies while the connection waits for the greeting: the part it was opened
        # for counts the crash, so a receiver that kills the daemon in the greeting, EHLO or
        # TLS cannot crash-loop it either.
        peer = self.started(HoldingPeer())
        peer.greet = False
        daemon = Outpost(OUTPOST, self.workdir, peer.port,
                         {"node": {"shards": "1"},
                          "delivery": {"relay": f'"127.0.0.1:{peer.port}"',
                                       "connect_timeout": '"60s"', "connections_max": "1"}})
        self.stoppers.append(daemon.stop)
        daemon.start()
        with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30) as client:
            client.send_message(message(3, "greeting"), "sender@example.com",
                                ["rcpt@example.net"])
        for crash in range(1, 4):
            wait_until(lambda: peer.count("sessions") >= crash, 30,
                       what=f"connection {crash} waiting for the greeting")
            time.sleep(0.2)
            self.kill(daemon)
            daemon.start()
        self.assertIn("quarantined: in flight at 3 crashes", daemon.output())
        time.sleep(3)
        self.assertEqual(peer.count("sessions"), 3)
        self.assertIn(" quarantined", daemon.admin("list"))

    def test_bounce_of_a_held_part(self):
        peer, daemon = self.held_part(4)
        peer.hold = False  # the DSN goes through the same relay
        self.assertIn("applied 1", daemon.admin("bounce", "--all"))
        wait_until(lambda: peer.count("accepted") == 1, 30, what="the DSN")
        dsn = peer.accepted[0]
        self.assertIn(b"multipart/report", dsn)
        self.assertIn(b"Status: 5.0.0", dsn)
        wait_until(lambda: json.loads(self.admin_get(daemon, "/api/v1/queue/summary"))["parts"]
                   == 0, 30, what="the bounced part gone")
        self.assertEqual(peer.count("sessions"), 4)  # three held attempts, then the DSN

    def test_delete_of_a_held_part(self):
        peer, daemon = self.held_part(2)
        self.assertIn("applied 1", daemon.admin("delete", "--all"))
        wait_until(lambda: json.loads(self.admin_get(daemon, "/api/v1/queue/summary"))["parts"]
                   == 0, 10, what="the held part deleted")
        self.assertEqual(peer.count("sessions"), 3)


if __name__ == "__main__":
    run_tests(__import__(__name__))
