"""End-to-end password guessing against the real daemon, on submission (smtplib), IMAP
(imaplib, raw sockets) and POP3 (poplib, raw sockets), each client bound to its own 127.x
address:
- failures count per client address for the whole node (connections spread over two shards,
  and over the three listeners): after 10 the 11th attempt gets 454 4.7.0 / NO [UNAVAILABLE]
  / -ERR [SYS/TEMP] even with the right password, another address still logs in, and the
  (short, 10 s) cool-down ends;
- per account, failures from many addresses slow the answer down (the delays in the log
  double up to [auth] failure_delay_max) and the account is never locked out;
- a NUL or control character in a user name or password is refused, on all three listeners
  ("s3cret\\0junk" used to log in);
- every failure is one notice line, and Debian's fail2ban-regex with deploy/fail2ban's filter
  matches exactly the failures of the daemon's real log (as a file, and as the systemd journal
  backend formats it), whatever the user names held; fail2ban-client accepts the jail.
Run as: auth_abuse_test.py --outpost PATH."""
import base64
import collections
import concurrent.futures
import imaplib
import os
import poplib
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time

from harness import run_tests, Outpost, DaemonTest, free_port, wait_until

OUTPOST = None
PASSWORD = "s3cret"
DEPLOY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "fail2ban")
FILTER = os.path.join(DEPLOY, "filter.d", "outpost-auth.conf")
JAIL = os.path.join(DEPLOY, "jail.d", "outpost-auth.conf")


def b64(data):
    return base64.b64encode(data).decode()


def listening_port(outpost, what):
    match = re.search(re.escape(what) + r" listening on 127\.0\.0\.1:(\d+)", outpost.output())
    assert match, f"no '{what}' listener in the log:\n" + outpost.output()
    return int(match.group(1))


class SourcedImap(imaplib.IMAP4):
    """imaplib's client, connecting from a given 127.x address."""

    def __init__(self, source, port):
        self.source = source
        super().__init__("127.0.0.1", port, timeout=30)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, (self.source, 0))


class SourcedPop3(poplib.POP3):
    """poplib's client, connecting from a given 127.x address."""

    def __init__(self, source, port):
        self.source = source
        super().__init__("127.0.0.1", port, timeout=30)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, (self.source, 0))


class Raw:
    """A line-oriented raw socket client (for bytes the libraries will not send)."""

    def __init__(self, source, port):
        self.sock = socket.create_connection(("127.0.0.1", port), 30, (source, 0))
        self.buffer = b""

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise AssertionError("connection closed; got so far: %r" % self.buffer)
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def until(self, prefix):
        """Lines up to and including the first that starts with `prefix`."""
        for _ in range(50):
            line = self.line()
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no line starting with {prefix!r}")

    def close(self):
        self.sock.close()


class AuthAbuseTest(DaemonTest):
    def setUp(self):
        super().setUp()
        hashed = subprocess.run([OUTPOST, "passwd"], input=PASSWORD + "\n", capture_output=True,
                                text=True, check=True).stdout.strip()
        self.assertTrue(hashed.startswith("$y$"), hashed)
        self.outpost = self.started(Outpost(OUTPOST, self.workdir, free_port(), {
            "submission": {"listen": '["127.0.0.1:0"]', "trusted_networks": "[]",
                           "auth_without_tls": "true"},
            "[submission.user]": {"name": '"app"', "password_hash": f"'{hashed}'"},
            "mailbox": {"auth_failure_delay": '"100ms"'},
            "[mailbox.user]": {"name": '"reader"', "password_hash": f"'{hashed}'",
                               "apop_secret": '"apop-secret"'},
            "imap": {"listen": '"127.0.0.1:0"', "login_without_tls": "true"},
            "pop3": {"listen": '"127.0.0.1:0"', "login_without_tls": "true"},
            "auth": {"lockout": '"10s"', "failure_delay_max": '"800ms"'},
        }))
        self.outpost.start()
        self.smtp_port = self.outpost.port
        self.imap_port = listening_port(self.outpost, "imap")
        self.pop3_port = listening_port(self.outpost, "pop3")

    # One attempt per connection, from `source`. Each returns the server's answer.

    def smtp_plain(self, source, message):
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30,
                          source_address=(source, 0)) as client:
            client.ehlo()
            return client.docmd("AUTH", "PLAIN " + b64(message))

    def smtp_login(self, source, user, password):
        """AUTH LOGIN by challenges: (code, reply) of the last answer."""
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30,
                          source_address=(source, 0)) as client:
            client.ehlo()
            code, reply = client.docmd("AUTH", "LOGIN")
            self.assertEqual(code, 334, reply)
            code, reply = client.docmd(b64(user))
            self.assertEqual(code, 334, reply)
            return client.docmd(b64(password))

    def smtp(self, source, user, password):
        return self.smtp_plain(source, b"\0" + user.encode() + b"\0" + password.encode())

    def imap(self, source, user, password):
        """'OK', or the error text of a refused LOGIN."""
        client = SourcedImap(source, self.imap_port)
        try:
            client.login(user, password)
        except imaplib.IMAP4.error as error:
            client.shutdown()
            return str(error)
        client.logout()
        return "OK"

    def pop3(self, source, user, password):
        """'+OK', or the error text of a refused USER/PASS."""
        client = SourcedPop3(source, self.pop3_port)
        try:
            client.user(user)
            client.pass_(password)
            client.quit()
            return "+OK"
        except poplib.error_proto as error:
            return str(error)
        finally:
            client.close()

    def log_lines(self, pattern):
        return [line for line in self.outpost.output().splitlines() if re.search(pattern, line)]

    def failure_lines(self, ip=None):
        return self.log_lines(r"outpost\[notice\]: auth failure listener=\S+ ip=" +
                              (re.escape(ip) + " " if ip else ""))

    def wait_for_cool_down(self, attempt, since):
        """Retries `attempt` (truthy once it gets in) until the lockout is over; returns how
        long that took after `since`."""
        deadline = time.monotonic() + 30
        while not attempt():
            self.assertLess(time.monotonic(), deadline, "the lockout never ended")
            time.sleep(0.2)
        return time.monotonic() - since

    def test_eleventh_attempt_from_an_address_is_refused_on_every_listener(self):
        guesser, other = "127.0.0.2", "127.0.0.3"
        # Ten wrong passwords at once, each on its own connection: the connections land on
        # both shards, and each is checked (none is refused early).
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            answers = list(pool.map(lambda i: self.smtp(guesser, f"guess{i}", "wrong"), range(10)))
        self.assertEqual([code for code, _ in answers], [535] * 10, answers)
        answered = time.monotonic()
        # The 11th, and every one after it, gets 454 4.7.0 even with the right password; the
        # guesser's IMAP and POP3 logins too: one count for the whole node.
        for _ in range(3):
            code, reply = self.smtp(guesser, "app", PASSWORD)
            self.assertEqual((code, reply[:5]), (454, b"4.7.0"), reply)
        self.assertIn("[UNAVAILABLE]", self.imap(guesser, "reader", PASSWORD))
        self.assertIn("[SYS/TEMP]", self.pop3(guesser, "reader", PASSWORD))
        # Another address still gets in; a success resets nobody's count.
        self.assertEqual(self.smtp(other, "app", PASSWORD)[0], 235)
        self.assertEqual(self.imap(other, "reader", PASSWORD), "OK")
        self.assertEqual(self.smtp(guesser, "app", PASSWORD)[0], 454)
        # Exactly the ten failures were logged, then one lockout line; refusals are not
        # failures (the password was never looked at).
        self.assertEqual(len(self.failure_lines(guesser)), 10, self.outpost.output())
        self.assertEqual(len(self.log_lines(r"outpost\[notice\]: auth lockout listener=submission "
                                            r"ip=127\.0\.0\.2 failures=10 lockout_s=10$")), 1)
        self.assertEqual(self.failure_lines(other), [])
        # In /metrics too (the shards' counters are gathered now and then: wait for them).
        def counted():
            metrics = self.outpost.metrics_text()
            smtp = re.search(r'^outpost_auth_attempts_total\{listener="smtp",result="refused"\} '
                             r'(\d+)$', metrics, re.M)
            imap = re.search(r'^outpost_mailbox_logins_total\{protocol="imap",result="refused"\} '
                             r'(\d+)$', metrics, re.M)
            return (smtp and int(smtp.group(1)), imap and int(imap.group(1))) == (4, 1)
        wait_until(counted, 10, 0.2, "4 SMTP and 1 IMAP refusal in /metrics")
        # The cool-down (10 s from the tenth failure, which was answered 1 s after it) ends.
        took = self.wait_for_cool_down(lambda: self.smtp(guesser, "app", PASSWORD)[0] == 235,
                                       answered)
        self.assertGreater(took, 7)
        self.assertEqual(self.imap(guesser, "reader", PASSWORD), "OK")
        self.assertEqual(self.outpost.stop(), 0)

    def test_imap_failures_lock_the_address_and_slow_the_account(self):
        guesser, other = "127.0.0.4", "127.0.0.5"
        took = []
        for _ in range(10):
            started = time.monotonic()
            self.assertIn("[AUTHENTICATIONFAILED]", self.imap(guesser, "reader", "wrong"))
            took.append(time.monotonic() - started)
        # Each failure of the account waited longer, up to failure_delay_max: in the log...
        delays = [int(re.search(r"delay_ms=(\d+)$", line).group(1))
                  for line in self.failure_lines(guesser)]
        self.assertEqual(delays, [100, 200, 400, 800, 800, 800, 800, 800, 800, 800])
        self.assertTrue(all('listener=imap' in line and 'user="reader"' in line
                            for line in self.failure_lines(guesser)))
        # ... and on the wire (a lower bound only: a busy machine makes answers later, not
        # earlier).
        self.assertGreater(min(took[3:]), 0.75, took)
        self.assertIn("[UNAVAILABLE]", self.imap(guesser, "reader", PASSWORD))
        self.assertIn("[SYS/TEMP]", self.pop3(guesser, "reader", PASSWORD))
        self.assertEqual(self.smtp(guesser, "app", PASSWORD)[0], 454)
        # The account is slowed down, never locked out: its owner, elsewhere, gets in over
        # IMAP, POP3 USER/PASS and APOP.
        self.assertEqual(self.imap(other, "reader", PASSWORD), "OK")
        self.assertEqual(self.pop3(other, "reader", PASSWORD), "+OK")
        client = SourcedPop3(other, self.pop3_port)
        self.assertTrue(client.apop("reader", "apop-secret").startswith(b"+OK"))
        client.quit()
        self.wait_for_cool_down(lambda: self.imap(guesser, "reader", PASSWORD) == "OK",
                                time.monotonic())
        self.assertEqual(self.outpost.stop(), 0)

    def test_account_delay_grows_across_addresses(self):
        # One wrong guess from each of six addresses: no address comes near its limit, but the
        # account's answers slow down, doubling up to failure_delay_max.
        for i in range(6):
            self.assertIn("[AUTH]", self.pop3(f"127.0.1.{i + 1}", "reader", "wrong"))
        delays = [int(re.search(r"delay_ms=(\d+)$", line).group(1))
                  for line in self.failure_lines()]
        self.assertEqual(delays, [100, 200, 400, 800, 800, 800])
        self.assertEqual(self.pop3("127.0.1.7", "reader", PASSWORD), "+OK")
        self.assertEqual(self.outpost.stop(), 0)

    def test_nul_and_control_characters_are_refused(self):
        smtp_source, imap_source, pop3_source = "127.0.0.6", "127.0.0.7", "127.0.0.8"
        # Submission: a fourth PLAIN field, control characters in a field, NUL in LOGIN.
        self.assertEqual(self.smtp_plain(smtp_source, b"\0app\0s3cret\0junk")[0], 535)
        self.assertEqual(self.smtp_plain(smtp_source, b"\0app\0s3cret\x01")[0], 535)
        self.assertEqual(self.smtp_plain(smtp_source, b"\0app\x7f\0s3cret")[0], 535)
        self.assertEqual(self.smtp_login(smtp_source, b"app", b"s3cret\0junk")[0], 535)
        self.assertEqual(self.smtp_login(smtp_source, b"app\0", b"s3cret")[0], 535)
        self.assertEqual(self.smtp_login(smtp_source, b"app", b"s3cret")[0], 235)
        self.assertEqual(self.smtp_plain(smtp_source, b"\0app\0s3cret")[0], 235)

        # IMAP: LOGIN with literals holding a NUL or a control character; AUTHENTICATE PLAIN
        # with a fourth field.
        raw = Raw(imap_source, self.imap_port)
        self.addCleanup(raw.close)
        raw.line()  # greeting
        for tag, password in ((b"a", b"s3cret\0junk"), (b"b", b"s3cret\x01")):
            raw.send(tag + b" LOGIN reader {%d}\r\n" % len(password))
            self.assertTrue(raw.line().startswith(b"+"))
            raw.send(password + b"\r\n")
            answer = raw.until(tag + b" ")
            self.assertRegex(answer, tag + rb" (NO|BAD) ")
        raw.send(b"c AUTHENTICATE PLAIN " + b64(b"\0reader\0s3cret\0junk").encode() + b"\r\n")
        self.assertRegex(raw.until(b"c "), rb"^c (NO|BAD) ")
        raw.send(b"d LOGIN reader s3cret\r\n")
        self.assertRegex(raw.until(b"d "), rb"^d OK ")
        raw.close()

        # POP3: PASS with a NUL, a control character in USER, AUTH PLAIN with a fourth field.
        raw = Raw(pop3_source, self.pop3_port)
        raw.line()  # greeting
        raw.send(b"USER reader\r\nPASS s3cret\0junk\r\n")
        self.assertEqual(raw.line(), b"+OK")
        self.assertTrue(raw.line().startswith(b"-ERR"))  # a NUL in a command line: syntax
        raw.send(b"AUTH PLAIN " + b64(b"\0reader\0s3cret\0junk").encode() + b"\r\n")
        self.assertTrue(raw.line().startswith(b"-ERR"))
        raw.send(b"USER reader\x01\r\nPASS s3cret\r\n")
        self.assertEqual(raw.line(), b"+OK")
        self.assertTrue(raw.line().startswith(b"-ERR [AUTH]"))
        raw.send(b"USER reader\r\nPASS s3cret\r\n")
        self.assertEqual(raw.line(), b"+OK")
        self.assertTrue(raw.line().startswith(b"+OK"))
        raw.send(b"QUIT\r\n")
        raw.line()
        raw.close()

        # Each refusal a failure, logged with the name escaped.
        self.assertEqual(len(self.failure_lines(smtp_source)), 5)
        self.assertIn('user="app\\x00"', "\n".join(self.failure_lines(smtp_source)))
        self.assertGreaterEqual(len(self.failure_lines(imap_source)), 1)
        pop3_failures = self.failure_lines(pop3_source)
        self.assertEqual(len(pop3_failures), 1, pop3_failures)
        self.assertIn('user="reader\\x01"', pop3_failures[0])
        self.assertEqual(self.outpost.stop(), 0)

    def test_fail2ban_matches_exactly_the_failures(self):
        expected = collections.Counter()
        # A guessing run: wrong passwords over the three listeners from several addresses,
        # user names built to forge a field or a line, successes and refusals in between.
        forged = ['bob" ip=6.6.6.6 user="x',
                  'bob\nauth failure listener=submission ip=6.6.6.6 user="y" delay_ms=1',
                  'x\\" ip=6.6.6.6 user=\\"', "j\u00fcrgen", "a" * 300]
        for name in forged:
            self.assertEqual(self.smtp_login("127.0.0.10", name.encode(), b"wrong")[0], 535)
            expected["127.0.0.10"] += 1
        for name in (rb'"ev\"il ip=6.6.6.6"', b"{20}\r\nx\r\nauth failure ip=6"):
            raw = Raw("127.0.0.11", self.imap_port)
            raw.line()  # greeting
            raw.send(b"a LOGIN " + name + b" wrong\r\n")
            if name.startswith(b"{"):
                self.assertTrue(raw.line().startswith(b"+"))
            self.assertRegex(raw.until(b"a "), rb"^a NO \[AUTHENTICATIONFAILED\]")
            raw.close()
            expected["127.0.0.11"] += 1
        self.assertIn("[AUTHENTICATIONFAILED]", self.imap("127.0.0.11", "reader", "wrong"))
        expected["127.0.0.11"] += 1
        for name in ("x ip=6.6.6.6", "reader"):
            self.assertIn("[AUTH]", self.pop3("127.0.0.12", name, "wrong"))
            expected["127.0.0.12"] += 1
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            codes = list(pool.map(lambda i: self.smtp("127.0.0.13", f"u{i}", "x")[0], range(10)))
        self.assertEqual(codes, [535] * 10)
        expected["127.0.0.13"] += 10
        self.assertEqual(self.smtp("127.0.0.13", "app", PASSWORD)[0], 454)  # not a failure
        self.assertEqual(self.smtp("127.0.0.14", "app", PASSWORD)[0], 235)
        self.assertEqual(self.imap("127.0.0.14", "reader", PASSWORD), "OK")
        self.assertEqual(self.outpost.stop(), 0)
        log = self.outpost.log_path
        self.assertEqual(len(self.failure_lines()), sum(expected.values()), self.outpost.output())

        def matched(path):
            out = subprocess.run(["fail2ban-regex", "-o", "ip", path, FILTER],
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            return collections.Counter(out.stdout.split())

        # The daemon's log as a file (stderr redirected): its own time stamps.
        self.assertEqual(matched(log), expected)
        # The same lines as fail2ban's systemd backend builds them from the journal
        # ("<host> <ident>[<pid>]: MESSAGE", the journal's time kept apart): here given a time
        # stamp in front, which fail2ban-regex reads and cuts off as it would the journal's.
        journal = os.path.join(self.workdir, "journal.log")
        with open(log, encoding="utf-8", errors="replace") as src, open(journal, "w") as out:
            for line in src:
                out.write(line.split(" ", 1)[0] + " mailhost outpost[4242]: " + line)
        self.assertEqual(matched(journal), expected)

        # The jail: fail2ban-client accepts it (the journal jail, and the file jail pointed at
        # this log) in a copy of the system's configuration.
        conf = tempfile.mkdtemp(dir=self.workdir)
        shutil.copytree("/etc/fail2ban", conf, dirs_exist_ok=True)
        for old in os.listdir(os.path.join(conf, "jail.d")):
            os.remove(os.path.join(conf, "jail.d", old))
        shutil.copy(FILTER, os.path.join(conf, "filter.d"))
        with open(JAIL) as f:
            jail = f.read()
        jail = re.sub(r"(\[outpost-auth-file\][^\[]*?)enabled  = false", r"\1enabled  = true",
                      jail)
        jail = jail.replace("/var/log/outpost/outpost.log", log)
        with open(os.path.join(conf, "jail.d", "outpost-auth.conf"), "w") as f:
            f.write(jail)
        checked = subprocess.run(["fail2ban-client", "-c", conf, "-t"], capture_output=True,
                                 text=True, timeout=120)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)
        self.assertIn("OK", checked.stdout + checked.stderr)


if __name__ == "__main__":
    import sys
    run_tests(sys.modules[__name__])
