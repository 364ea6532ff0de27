"""The bounce mailbox against clients that want more than their share (issue 21): IMAP literals
before login are refused before the server reads them (raw sockets: no "+" for a 50 MB APPEND,
a non-synchronizing one ends the connection, RSS stays flat with 20 such clients streaming
their data anyway) while imaplib is served; after login APPEND is capped; POP3 lines before
login are capped; the bounce listener refuses MAIL with 450 4.7.1 past a client's messages or
octets a minute (smtplib from several 127.x addresses); and past the mailbox quota or its
retention the oldest bounces are expired, seen over IMAP (EXPUNGE to a selected session, the
newest still there) and POP3 (-ERR for the expired one, the rest as before).
"""
import imaplib
import os
import poplib
import re
import smtplib
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import DaemonTest, Outpost, run_tests, wait_until  # noqa: E402
from scripted_peer import ScriptedPeer  # noqa: E402

OUTPOST = None
BOUNCE_DOMAIN = "bounces.outpost.test"
USER, PASSWORD = "processor", "imap-pass"
BIG = 52428800  # the 50 MB literal of the issue


def listening_port(outpost, what):
    match = re.search(re.escape(what) + r" listening on 127\.0\.0\.1:(\d+)", outpost.output())
    assert match, f"no '{what}' listener in the log:\n" + outpost.output()
    return int(match.group(1))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        match = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
    return int(match.group(1)) if match else 0  # 0: the process has exited


def bounce(index, size=2000):
    """A plain message of about `size` octets for the bounce domain, numbered in its Subject."""
    body = (b"x" * 76 + b"\r\n") * (size // 78)
    return (f"From: MAILER-DAEMON@remote.test\r\nTo: bounce@{BOUNCE_DOMAIN}\r\n"
            f"Subject: bounce {index}\r\n\r\n").encode() + body


class Raw:
    """A plaintext socket that reads CRLF lines."""

    def __init__(self, port, source="127.0.0.1", timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                             source_address=(source, 0))
        self.buffer = b""

    def line(self):
        while b"\r\n" not in self.buffer:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class MailboxLimitsTest(DaemonTest):
    def setUp(self):
        super().setUp()
        self.peer = self.started(ScriptedPeer())
        self.hashed = subprocess.run([OUTPOST, "passwd"], input=PASSWORD + "\n",
                                     capture_output=True, text=True, check=True).stdout.strip()

    def start_daemon(self, bounce=None, mailbox=None, submission=None):
        settings = {
            "bounce": {"domain": f'"{BOUNCE_DOMAIN}"', "listen": '"127.0.0.1:0"',
                       **(bounce or {})},
            "mailbox": {"auth_failure_delay": '"100ms"', **(mailbox or {})},
            "[mailbox.user]": {"name": f'"{USER}"', "password_hash": f"'{self.hashed}'"},
            # The floods here come from one address: the cap of connections per address (20)
            # is limits_test.py's subject, not this test's.
            "imap": {"listen": '"127.0.0.1:0"', "login_without_tls": "true",
                     "connections_per_ip": "100"},
            "pop3": {"listen": '"127.0.0.1:0"', "login_without_tls": "true"},
        }
        if submission:
            settings["submission"] = submission
        self.outpost = self.started(Outpost(OUTPOST, self.workdir, self.peer.port, settings))
        self.outpost.start()
        self.bounce_port = listening_port(self.outpost, "bounce intake (SMTP)")
        self.imap_port = listening_port(self.outpost, "imap")
        self.pop3_port = listening_port(self.outpost, "pop3")

    def raw(self, port, source="127.0.0.1"):
        connection = Raw(port, source)
        self.addCleanup(connection.close)
        return connection

    def imap(self):
        client = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=30)

        def close():
            try:
                client.shutdown()
            except OSError:
                pass
        self.addCleanup(close)
        client.login(USER, PASSWORD)
        return client

    def metric(self, name):
        text = self.outpost.metrics_text()
        match = re.search("^" + re.escape(name) + r" (\S+)$", text, re.M)
        return float(match.group(1)) if match else None

    def subjects(self, client):
        typ, data = client.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(typ, "OK", data)
        return [int(re.search(rb"bounce (\d+)", item[1]).group(1))
                for item in data if isinstance(item, tuple)]

    # -----------------------------------------------------------------------------------------
    # IMAP and POP3 before login.

    def test_preauth_literals_are_refused_unread(self):
        self.start_daemon()  # APPENDLIMIT is the default 50 MiB: the literal would fit
        pid = self.outpost.proc.pid
        baseline = rss_kib(pid)
        # One client: no "+" for a 50 MB APPEND (nor any literal but LOGIN's), and the
        # session goes on; LOGIN's credentials may still come as literals.
        one = self.raw(self.imap_port)
        self.assertTrue(one.line().startswith(b"* OK"))
        one.sock.sendall(b"a APPEND INBOX {%d}\r\n" % BIG)
        self.assertEqual(one.line(), b"a BAD Literal refused before authentication")
        one.sock.sendall(b"b LOGIN {%d}\r\n" % len(USER))
        self.assertEqual(one.line(), b"+ Ready for literal data")
        one.sock.sendall(USER.encode() + b" {%d+}\r\n" % len(PASSWORD) + PASSWORD.encode()
                         + b"\r\n")
        self.assertTrue(one.line().startswith(b"b OK"))
        one.sock.sendall(b"c APPEND INBOX {12}\r\n")  # logged in: now it is taken
        self.assertEqual(one.line(), b"+ Ready for literal data")
        one.sock.sendall(b"Subject: x\r\n\r\n")
        self.assertTrue(one.line().startswith(b"c OK [APPENDUID"))

        # 20 clients that announce 50 MB and send it anyway (the synchronizing ones after their
        # BAD, the non-synchronizing ones at once), 20 more that announce {n+}: RSS stays flat,
        # and a bounce processor is served meanwhile.
        peak = [baseline]
        done = threading.Event()

        def watch():
            while not done.is_set():
                peak[0] = max(peak[0], rss_kib(pid))
                time.sleep(0.05)

        watcher = threading.Thread(target=watch)
        watcher.start()
        self.addCleanup(done.set)
        replies = {}

        def flood(index, non_sync):
            client = Raw(self.imap_port)
            try:
                client.line()
                client.sock.sendall(b"t%d APPEND INBOX {%d%s}\r\n"
                                    % (index, BIG, b"+" if non_sync else b""))
                replies[index] = [client.line()]
                if non_sync:
                    replies[index].append(client.line())
                    replies[index].append(client.line())  # then the end of the stream
                chunk = b"m" * (1024 * 1024)
                for _ in range(BIG // len(chunk)):
                    client.sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server hung up on a non-synchronizing literal: as it should
            finally:
                client.close()

        threads = [threading.Thread(target=flood, args=(i, i % 2 == 1)) for i in range(40)]
        for thread in threads:
            thread.start()
        legit = self.imap()
        typ, data = legit.select("INBOX")
        self.assertEqual((typ, data), ("OK", [b"1"]))
        for thread in threads:
            thread.join(300)
            self.assertFalse(thread.is_alive())
        done.set()
        watcher.join()
        for index in range(0, 40, 2):
            self.assertEqual(replies[index], [b"t%d BAD Literal refused before authentication"
                                              % index])
        for index in range(1, 40, 2):
            self.assertEqual(replies[index],
                             [b"t%d BAD Literal refused before authentication" % index,
                              b"* BYE Literal too large before authentication", None])
        grown_mib = (peak[0] - baseline) / 1024
        print(f"\nRSS {baseline // 1024} MiB before, peak {peak[0] // 1024} MiB with 40 clients "
              f"announcing 50 MB literals before login (20 streaming them)", file=sys.stderr)
        self.assertLess(grown_mib, 40, "RSS grew while clients streamed literals before login")
        self.assertIsNone(self.outpost.proc.poll())
        self.assertEqual(legit.noop()[0], "OK")

    def test_append_after_login_is_capped(self):
        self.start_daemon(submission={"message_bytes_max": "1048576"})
        client = self.raw(self.imap_port)
        client.line()
        client.sock.sendall(f"a LOGIN {USER} {PASSWORD}\r\n".encode())
        self.assertTrue(client.line().startswith(b"a OK"))
        # submission.message_bytes_max (1 MiB here) is the APPENDLIMIT.
        client.sock.sendall(b"b APPEND INBOX {1048577}\r\n")
        self.assertEqual(client.line(), b"b NO [TOOBIG] Message too large")
        client.sock.sendall(b"c NOOP\r\n")
        self.assertEqual(client.line(), b"c OK NOOP completed")

    def test_pop3_lines_before_login_are_capped(self):
        self.start_daemon()
        pid = self.outpost.proc.pid
        baseline = rss_kib(pid)
        client = self.raw(self.pop3_port)
        self.assertTrue(client.line().startswith(b"+OK"))
        client.sock.sendall(b"USER " + b"u" * (20 * 1024 * 1024) + b"\r\n")
        self.assertEqual(client.line(), b"-ERR Line too long")
        self.assertLess((rss_kib(pid) - baseline) / 1024, 20)
        client.sock.sendall(b"QUIT\r\n")
        self.assertTrue(client.line().startswith(b"+OK"))

    # -----------------------------------------------------------------------------------------
    # The bounce listener: messages and octets per client a minute.

    def test_bounce_listener_limits_each_client(self):
        self.start_daemon(bounce={"messages_per_ip_per_minute": "3",
                                  "bytes_per_ip_per_minute": "20000"})
        rcpt = [f"bounce@{BOUNCE_DOMAIN}"]
        with smtplib.SMTP("127.0.0.1", self.bounce_port, timeout=30,
                          source_address=("127.0.0.2", 0)) as client:
            for index in range(3):
                client.sendmail("", rcpt, bounce(index))
            with self.assertRaises(smtplib.SMTPSenderRefused) as refused:
                client.sendmail("", rcpt, bounce(3))
            self.assertEqual(refused.exception.smtp_code, 450)
            self.assertEqual(refused.exception.smtp_error,
                             b"4.7.1 Too many messages from 127.0.0.2, try again later")
        with smtplib.SMTP("127.0.0.1", self.bounce_port, timeout=30,
                          source_address=("127.0.0.3", 0)) as client:
            client.sendmail("", rcpt, bounce(10, size=30000))  # more than a minute's: taken once
            with self.assertRaises(smtplib.SMTPSenderRefused) as refused:
                client.sendmail("", rcpt, bounce(11))
            self.assertEqual(refused.exception.smtp_code, 450)
            self.assertEqual(refused.exception.smtp_error,
                             b"4.7.1 Too much mail from 127.0.0.3, try again later")
        # Another client is not held back by them.
        with smtplib.SMTP("127.0.0.1", self.bounce_port, timeout=30,
                          source_address=("127.0.0.4", 0)) as client:
            client.sendmail("", rcpt, bounce(20))
        self.assertEqual(self.imap().select("INBOX"), ("OK", [b"5"]))
        wait_until(lambda: self.metric(
            'outpost_bounce_intake_refused_total{limit="messages"}') == 1, 10, what="metric")
        self.assertEqual(self.metric('outpost_bounce_intake_refused_total{limit="bytes"}'), 1)

    # -----------------------------------------------------------------------------------------
    # Quota and retention.

    def test_quota_expires_the_oldest_bounces(self):
        self.start_daemon(bounce={"messages_per_ip_per_minute": "0"},
                          mailbox={"quota_bytes": "30000"})
        rcpt = [f"bounce@{BOUNCE_DOMAIN}"]
        with smtplib.SMTP("127.0.0.1", self.bounce_port, timeout=30) as client:
            for index in range(4):
                client.sendmail("", rcpt, bounce(index, size=5000))
        watching = self.imap()
        self.assertEqual(watching.select("INBOX"), ("OK", [b"4"]))
        pop = poplib.POP3("127.0.0.1", self.pop3_port, timeout=30)
        self.addCleanup(pop.close)
        pop.user(USER)
        pop.pass_(PASSWORD)
        self.assertEqual(pop.stat()[0], 4)
        # Eight more of about 5 KB each: only the newest five or so fit in 30,000 octets.
        with smtplib.SMTP("127.0.0.1", self.bounce_port, timeout=30) as client:
            for index in range(4, 12):
                client.sendmail("", rcpt, bounce(index, size=5000))
        fresh = self.imap()
        fresh.select("INBOX", readonly=True)
        kept = self.subjects(fresh)
        print(f"\nkept after quota: {kept}", file=sys.stderr)
        self.assertEqual(kept, list(range(12 - len(kept), 12)), "the oldest go first")
        self.assertIn(len(kept), (5, 6))
        # The session that had INBOX selected hears the expunges.
        typ, _ = watching.noop()
        self.assertEqual(typ, "OK")
        expunges = watching.untagged_responses.get("EXPUNGE", [])
        self.assertGreaterEqual(len(expunges), 4)
        self.assertEqual(self.subjects(watching), kept)
        # POP3 keeps its listing: an expired message is -ERR, the others are there, QUIT works.
        with self.assertRaises(poplib.error_proto):
            pop.retr(1)
        self.assertEqual(pop.stat()[0], 4)
        pop.dele(2)
        self.assertTrue(pop.quit().startswith(b"+OK"))
        wait_until(lambda: (self.metric('outpost_mailbox_expired_total{reason="quota"}') or 0)
                   >= 12 - len(kept), 10, what="expiry metric")
        self.assertLessEqual(self.metric("outpost_mailbox_bytes"), 30000)
        self.assertEqual(self.metric("outpost_mailbox_messages"), len(kept))
        # A message larger than the whole mailbox is refused for good.
        with smtplib.SMTP("127.0.0.1", self.bounce_port, timeout=30) as client:
            with self.assertRaises(smtplib.SMTPDataError) as refused:
                client.sendmail("", rcpt, bounce(99, size=40000))
            self.assertEqual(refused.exception.smtp_code, 554)

    def test_retention_expires_old_bounces(self):
        self.start_daemon(mailbox={"retention": '"2s"'})
        rcpt = [f"bounce@{BOUNCE_DOMAIN}"]
        with smtplib.SMTP("127.0.0.1", self.bounce_port, timeout=30) as client:
            client.sendmail("", rcpt, bounce(0))
            client.sendmail("", rcpt, bounce(1))
        time.sleep(3.5)
        with smtplib.SMTP("127.0.0.1", self.bounce_port, timeout=30) as client:
            client.sendmail("", rcpt, bounce(2))
        client = self.imap()
        client.select("INBOX", readonly=True)
        self.assertEqual(self.subjects(client), [2])
        wait_until(lambda: self.metric('outpost_mailbox_expired_total{reason="retention"}') == 2,
                   10, what="retention metric")


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
