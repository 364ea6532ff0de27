"""End-to-end: Python's smtplib (and swaks) submit to the real outpost binary, which relays
to Postfix's smtp-sink. Run as: relay_test.py --outpost PATH [unittest args]."""
import concurrent.futures
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import threading
import time
import unittest

from harness import run_tests, Outpost, Sink, free_port, message, wait_until, DaemonTest

OUTPOST = None


class RelayTest(DaemonTest):
    def sink(self, port=None):
        s = Sink(self.workdir, port)
        self.stoppers.append(s.stop)
        return s

    def outpost(self, relay_port, settings=None):
        o = Outpost(OUTPOST, self.workdir, relay_port, settings)
        self.stoppers.append(o.stop)
        return o

    def send(self, port, messages):
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            for msg in messages:
                refused = client.send_message(msg, "sender@example.com", ["rcpt@example.net"])
                self.assertEqual(refused, {})

    def test_thousand_messages_over_twenty_connections(self):
        sink = self.sink()
        outpost = self.outpost(sink.port).start()
        batches = [[message(c * 50 + i) for i in range(50)] for c in range(20)]
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            list(pool.map(lambda batch: self.send(outpost.port, batch), batches))
        wanted = {f"<e2e-{i}@outpost.test>" for i in range(1000)}
        wait_until(lambda: sink.message_ids() >= wanted, 120, 0.2, "1000 messages at the sink")
        self.assertEqual(sink.message_ids(), wanted)
        self.assertEqual(outpost.stop(), 0)
        self.assertEqual(outpost.queue_count(), 0)

    def test_sink_down_then_up_while_running(self):
        port = free_port()
        outpost = self.outpost(port).start()
        self.send(outpost.port, [message(i, "down") for i in range(20)])
        time.sleep(0.5)  # a few reconnect attempts fail
        sink = self.sink(port)
        wanted = {f"<down-{i}@outpost.test>" for i in range(20)}
        wait_until(lambda: sink.message_ids() >= wanted, 30, 0.1, "queued messages delivered")
        self.assertEqual(outpost.stop(), 0)
        self.assertEqual(outpost.queue_count(), 0)

    def test_relay_list_fails_over_to_the_next_address_within_one_attempt(self):
        # First a port nobody listens on (refused), then a server that greets with 421 (busy),
        # then the sink: every message goes to the sink on its first attempt.
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(16)
        self.addCleanup(busy.close)

        def greet_busy():
            while True:
                try:
                    conn, _ = busy.accept()
                except OSError:
                    return
                conn.sendall(b"421 4.3.2 busy, try another host\r\n")
                conn.close()
        threading.Thread(target=greet_busy, daemon=True).start()
        sink = self.sink()
        dead = free_port()
        relay = f"127.0.0.1:{dead}, 127.0.0.1:{busy.getsockname()[1]}, 127.0.0.1:{sink.port}"
        outpost = self.outpost(0, {"delivery": {"relay": f'"{relay}"'},
                                   "queue": {"retry_initial": '"1h"',
                                             "retry_max_delay": '"1h"'}}).start()
        self.send(outpost.port, [message(i, "failover") for i in range(20)])
        wanted = {f"<failover-{i}@outpost.test>" for i in range(20)}
        wait_until(lambda: sink.message_ids() >= wanted, 30, 0.1, "delivery via the third host")
        log = outpost.output()
        self.assertIn(f"connect to 127.0.0.1:{dead} failed", log)
        self.assertIn("421", log)
        self.assertEqual(outpost.stop(), 0)
        self.assertEqual(outpost.queue_count(), 0)

    def test_queued_messages_survive_restart(self):
        port = free_port()
        outpost = self.outpost(port).start()
        self.send(outpost.port, [message(i, "restart") for i in range(30)])
        self.assertEqual(outpost.stop(), 0)
        self.assertEqual(outpost.queue_count(), 30)
        # Each failed connect defers what was due (an attempt, retried later); messages that
        # arrived after the last failure are still pending.
        listing = outpost.queue("list").splitlines()
        self.assertEqual(len(listing), 30)
        for line in listing:
            self.assertRegex(line, r"relay <sender@example\.com> <rcpt@example\.net>:"
                                   r"(pending/0|deferred/[1-9])$")
        summary = outpost.queue("summary").splitlines()
        self.assertIn("parts 30", summary)
        self.assertIn("destination relay 30", summary)
        counts = dict(line.rsplit(" ", 1) for line in summary)
        self.assertEqual(int(counts["recipients pending"]) + int(counts["recipients deferred"]), 30)
        sink = self.sink(port)
        outpost.start()
        wanted = {f"<restart-{i}@outpost.test>" for i in range(30)}
        wait_until(lambda: sink.message_ids() >= wanted, 30, 0.1, "messages after restart")
        self.assertIn("recovered 30 queued parts", outpost.output())
        self.assertEqual(outpost.stop(), 0)
        self.assertEqual(outpost.queue_count(), 0)

    def test_disconnect_in_data_leaves_nothing(self):
        sink = self.sink()
        outpost = self.outpost(sink.port).start()
        with socket.create_connection(("127.0.0.1", outpost.port), timeout=10) as raw:
            f = raw.makefile("rwb")
            self.assertTrue(f.readline().startswith(b"220"))
            f.write(b"EHLO client.test\r\n")
            f.flush()
            while not f.readline().startswith(b"250 "):
                pass
            f.write(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n")
            f.flush()
            for want in (b"250", b"250", b"354"):
                self.assertTrue(f.readline().startswith(want))
            f.write(b"Subject: half\r\nMessage-ID: <half@outpost.test>\r\n\r\npart of a bo")
            f.flush()
        self.send(outpost.port, [message(0, "after")])
        wait_until(lambda: "<after-0@outpost.test>" in sink.message_ids(), 30, 0.1, "delivery")
        self.assertEqual(outpost.stop(), 0)
        self.assertEqual(outpost.queue_count(), 0)
        self.assertNotIn("<half@outpost.test>", sink.message_ids())

    def test_bad_commands_get_replies_and_session_goes_on(self):
        sink = self.sink()
        outpost = self.outpost(sink.port).start()
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=10) as client:
            self.assertEqual(client.docmd("FROB")[0], 500)
            self.assertEqual(client.docmd("MAIL", "FROM:<a@example.com>")[0], 503)
            client.ehlo("client.test")
            self.assertEqual(client.docmd("MAIL", "FROM:nonsense<<")[0], 501)
            self.assertEqual(client.docmd("RCPT", "TO:<b@example.net>")[0], 503)
            self.assertEqual(client.docmd("X" * 600)[0], 500)
            self.assertEqual(client.docmd("VRFY", "someone")[0], 252)
            self.assertEqual(client.docmd("NOOP")[0], 250)
            self.send(outpost.port, [message(1, "bad")])
        wait_until(lambda: "<bad-1@outpost.test>" in sink.message_ids(), 30, 0.1, "delivery")
        self.assertEqual(outpost.stop(), 0)

    def test_oversized_message_is_refused_before_storing(self):
        sink = self.sink()
        outpost = self.outpost(sink.port, {"submission": {"message_bytes_max": "4096"}})
        outpost.start()
        big = message(0, "big")
        big.set_content("y" * 10000 + "\n")
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=10) as client:
            # Declared size over the limit: refused at MAIL FROM (RFC 1870).
            with self.assertRaises(smtplib.SMTPSenderRefused) as refused:
                client.sendmail("sender@example.com", ["rcpt@example.net"], big.as_bytes())
            self.assertEqual(refused.exception.smtp_code, 552)
            client.rset()
            # Undeclared: the limit holds while reading DATA, and the session goes on.
            client.ehlo()
            client.esmtp_features.pop("size")
            with self.assertRaises(smtplib.SMTPDataError) as refused:
                client.sendmail("sender@example.com", ["rcpt@example.net"], big.as_bytes())
            self.assertEqual(refused.exception.smtp_code, 552)
            self.assertIn(b"5.3.4", refused.exception.smtp_error)
            self.assertEqual(client.noop()[0], 250)
        self.assertEqual(outpost.stop(), 0)
        self.assertEqual(outpost.queue_count(), 0)

    @unittest.skipUnless(shutil.which("swaks"), "swaks is installed by scripts/install-deps")
    def test_swaks_client(self):
        sink = self.sink()
        outpost = self.outpost(sink.port).start()
        out = subprocess.run(["swaks", "--server", f"127.0.0.1:{outpost.port}", "--from",
                              "sender@example.com", "--to", "rcpt@example.net", "--header",
                              "Message-ID: <swaks-1@outpost.test>", "--pipeline"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("250 2.0.0 Ok: queued as", out.stdout)
        wait_until(lambda: "<swaks-1@outpost.test>" in sink.message_ids(), 30, 0.1, "delivery")
        self.assertEqual(outpost.stop(), 0)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
