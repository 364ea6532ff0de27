"""The bounce mailbox end to end: bounces arrive over SMTP at [bounce] listen (smtplib), or are
made by delivery itself for a VERP return path (a scripted peer answering 550); each is stored
classified, hard failures are suppressed, and later mail to them is not attempted. Bounce
processors read the mailbox with Python's poplib (over STLS and implicit TLS) and curl
pop3://; the suppression list is edited with `outpost suppression` and curl on the admin API.
"""
import glob
import json
import os
import poplib
import re
import smtplib
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import DaemonTest, Outpost, insecure_tls_context, run_tests, wait_until  # noqa: E402
from scripted_peer import ScriptedPeer  # noqa: E402

OUTPOST = None
BOUNCE_DOMAIN = "bounces.outpost.example"  # the corpus samples' bounce domain
CORPUS = os.path.join(os.path.dirname(__file__), "..", "..", "mailbox", "testdata", "bounces")


def mailbox_settings(hashed, extra=None):
    settings = {
        "bounce": {"domain": f'"{BOUNCE_DOMAIN}"', "listen": '"127.0.0.1:0"'},
        "mailbox": {"auth_failure_delay": '"200ms"'},
        "[mailbox.user]": {"name": '"processor"', "password_hash": f"'{hashed}'",
                           "apop_secret": '"apop-s3cret"'},
        "pop3": {"listen": '"127.0.0.1:0"', "tls_listen": '"127.0.0.1:0"'},
        "submission": {"message_bytes_max": "1048576"},
    }
    for section, keys in (extra or {}).items():
        settings.setdefault(section, {}).update(keys)
    return settings


def listening_port(outpost, what):
    match = re.search(re.escape(what) + r" listening on 127\.0\.0\.1:(\d+)", outpost.output())
    assert match, f"no '{what}' listener in the log:\n" + outpost.output()
    return int(match.group(1))


def corpus(name):
    with open(os.path.join(CORPUS, name), "rb") as f:
        return f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class BounceMailboxTest(DaemonTest):
    def setUp(self):
        super().setUp()
        self.peer = self.started(ScriptedPeer())
        hashed = subprocess.run([OUTPOST, "passwd"], input="pop-pass\n", capture_output=True,
                                text=True, check=True).stdout.strip()
        self.outpost = self.started(Outpost(OUTPOST, self.workdir, self.peer.port,
                                            mailbox_settings(hashed)))
        self.outpost.start()
        self.bounce_port = listening_port(self.outpost, "bounce intake (SMTP)")
        self.pop3_port = listening_port(self.outpost, "pop3")
        self.pop3s_port = listening_port(self.outpost, "pop3 (TLS)")

    def pop3(self):
        client = poplib.POP3("127.0.0.1", self.pop3_port, timeout=30)
        client.stls(context=insecure_tls_context())
        client.user("processor")
        client.pass_("pop-pass")
        return client

    def metrics(self):
        return self.outpost.metrics_text()

    def mailbox_count(self):
        client = self.pop3()
        count = client.stat()[0]
        client.quit()
        return count

    def mailbox_count_when_free(self):
        try:
            return self.mailbox_count()
        except poplib.error_proto as locked:
            if b"IN-USE" not in locked.args[0]:
                raise
            return None

    def suppression(self, *args, check=True):
        out = subprocess.run([OUTPOST, "suppression", *args, "--config", self.outpost.config,
                              "--admin", f"127.0.0.1:{self.outpost.http_port}"],
                             capture_output=True, text=True, timeout=60)
        if check:
            self.assertEqual(out.returncode, 0, out.stderr)
        return out

    def send_bounce(self, raw, rcpt):
        with smtplib.SMTP("127.0.0.1", self.bounce_port, timeout=30) as client:
            client.sendmail("", [rcpt], raw)

    def sent_return_path(self, rcpt):
        """Mails `rcpt` through Outpost (the peer accepts it) and returns the VERP return path
        it went out with: only a bounce to that path, tag and all, may suppress (issue 21)."""
        with smtplib.SMTP("127.0.0.1", self.outpost.port, timeout=30) as client:
            client.sendmail("news@news.shop.example", [rcpt], b"Subject: offers\r\n\r\nhi\r\n")
        found = wait_until(lambda: [m for m, rcpts, _ in self.peer.received() if rcpt in rcpts],
                           30, what=f"the copy for {rcpt}")
        self.assertRegex(found[0], r"^bounce\+[0-9a-f]{16}\+[0-9a-f]{18}\+")
        return found[0]

    def test_remote_bounce_is_stored_classified_and_suppresses(self):
        verp = self.sent_return_path("ann@example.com")
        queue_id = verp.split("+")[1]
        sample = corpus("postfix_dsn_user_unknown.eml").replace(
            f"bounce+0000019a2b3c4d5e+ann=example.com@{BOUNCE_DOMAIN}".encode(), verp.encode())
        self.send_bounce(sample, verp)
        # Mail for anything but the bounce domain is refused at RCPT.
        with smtplib.SMTP("127.0.0.1", self.bounce_port, timeout=30) as client:
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as refused:
                client.sendmail("a@example.org", ["someone@example.net"], b"Subject: x\r\n\r\nx\r\n")
            code, reply = refused.exception.recipients["someone@example.net"]
            self.assertEqual(code, 550)
            self.assertIn(b"5.7.1", reply)

        client = self.pop3()
        count, _ = client.stat()
        self.assertEqual(count, 1)
        lines = client.top(1, 0)[1]
        headers = b"\r\n".join(lines).decode()
        self.assertIn("X-Outpost-Bounce-Kind: dsn", headers)
        self.assertIn("X-Outpost-Bounce-Category: invalid_recipient", headers)
        self.assertIn("X-Outpost-Bounce-Type: hard", headers)
        self.assertIn("X-Outpost-Bounce-Recipient: ann@example.com", headers)
        self.assertIn(f"X-Outpost-Original-Message-Id: {queue_id}", headers)
        self.assertIn("X-Outpost-Bounce-Trusted: yes", headers)
        client.quit()

        shown = self.suppression("show", "ann@example.com").stdout
        self.assertIn("ann@example.com invalid_recipient", shown)
        self.assertIn("5.1.1", shown)
        wanted = [r'outpost_bounces_received_total\{kind="dsn"\} 1\b',
                  r'outpost_bounces_total\{category="invalid_recipient"\} 1\b',
                  r'outpost_suppressions_added_total 1\b', r'outpost_suppressed_addresses 1\b',
                  r'outpost_mailbox_logins_total\{protocol="pop3",result="success"\} 1\b']
        wait_until(lambda: all(re.search(w, self.metrics()) for w in wanted), 10,
                   what="the mailbox metrics")

    def test_complaint_suppresses_and_oversized_bounces_are_refused(self):
        # The report quotes the return path the complained-about message went out with.
        verp = self.sent_return_path("xena@yahoo.com")
        queue_id = verp.split("+")[1]
        self.send_bounce(corpus("arf_yahoo.eml").replace(
            f"bounce+0000019a2b3c4d74+xena=yahoo.com@{BOUNCE_DOMAIN}".encode(), verp.encode()),
            f"fbl@{BOUNCE_DOMAIN}")
        client = self.pop3()
        headers = b"\r\n".join(client.top(1, 0)[1]).decode()
        client.quit()
        self.assertIn("X-Outpost-Bounce-Kind: complaint", headers)
        self.assertIn("X-Outpost-Bounce-Category: complaint", headers)
        self.assertIn("X-Outpost-Bounce-Recipient: xena@yahoo.com", headers)
        self.assertIn(f"X-Outpost-Original-Message-Id: {queue_id}", headers)
        self.assertIn("xena@yahoo.com complaint", self.suppression("show", "xena@yahoo.com").stdout)
        # The intake has submission's limits: too big is refused while it is read.
        with smtplib.SMTP("127.0.0.1", self.bounce_port, timeout=30) as smtp:
            smtp.ehlo()
            limit = int(smtp.esmtp_features["size"])
            with self.assertRaises(smtplib.SMTPException):
                smtp.sendmail("", [f"fbl@{BOUNCE_DOMAIN}"], b"Subject: big\r\n\r\n" +
                              b"x" * 998 + b"\r\n" + (b"y" * 998 + b"\r\n") * (limit // 1000 + 2))
        self.assertEqual(self.mailbox_count(), 1)

    def test_pop3_reads_and_deletes_with_every_login(self):
        for name in ("exim_user_unknown.eml", "qmail_no_mailbox.eml", "gmail_dsn.eml"):
            self.send_bounce(corpus(name),
                             f"bounce+0000019a2b3c4d5e+x=example.com@{BOUNCE_DOMAIN}")
        client = self.pop3()
        count, size = client.stat()
        self.assertEqual(count, 3)
        listed = [line.split() for line in client.list()[1]]
        self.assertEqual(sum(int(octets) for _, octets in listed), size)
        uids = [line.split()[1] for line in client.uidl()[1]]
        self.assertEqual(len(set(uids)), 3)
        whole = client.retr(2)[1]
        # TOP n 99999999 (fetchmail's way of reading everything) is the whole message.
        self.assertEqual(client.top(2, 99999999)[1], whole)
        self.assertEqual(sum(len(line) + 2 for line in whole), int(listed[1][1]))
        # A second POP3 session meanwhile is refused: the maildrop is locked.
        second = poplib.POP3("127.0.0.1", self.pop3_port, timeout=30)
        second.stls(context=insecure_tls_context())
        second.user("processor")
        with self.assertRaises(poplib.error_proto) as in_use:
            second.pass_("pop-pass")
        self.assertIn(b"IN-USE", in_use.exception.args[0])
        second.quit()
        client.dele(1)
        client.quit()  # UPDATE: the DELE is committed

        # Implicit TLS and APOP this time; the first message is gone, the ids stay the same.
        client = poplib.POP3_SSL("127.0.0.1", self.pop3s_port, context=insecure_tls_context(),
                                 timeout=30)
        client.apop("processor", "apop-s3cret")
        self.assertEqual(client.stat()[0], 2)
        self.assertEqual([line.split()[1] for line in client.uidl()[1]], uids[1:])
        client.dele(1)
        client.rset()
        client.quit()

        # A dropped connection deletes nothing.
        client = self.pop3()
        client.dele(1)
        client.close()  # no QUIT
        self.assertEqual(wait_until(self.mailbox_count_when_free, 10, what="the lock freed"), 2)

    def test_pop3_refuses_bad_logins_and_bad_input(self):
        plain = poplib.POP3("127.0.0.1", self.pop3_port, timeout=30)
        self.assertIn("STLS", plain.capa())
        with self.assertRaises(poplib.error_proto):
            plain.user("processor")  # no passwords before TLS
        plain.stls(context=insecure_tls_context())
        plain.user("processor")
        with self.assertRaises(poplib.error_proto) as wrong:
            plain.pass_("wrong")
        self.assertIn(b"[AUTH]", wrong.exception.args[0])
        plain.quit()

        with socket.create_connection(("127.0.0.1", self.pop3_port), timeout=30) as raw:
            raw.recv(512)
            raw.sendall(b"X" * (10 * 1024 * 1024) + b"\r\nNOOP\r\n")
            reply = b""
            deadline = time.monotonic() + 20
            while b"\r\n" not in reply and time.monotonic() < deadline:
                chunk = raw.recv(4096)
                if not chunk:
                    break
                reply += chunk
            self.assertTrue(reply.startswith(b"-ERR"), reply[:200])

    def test_curl_reads_pop3(self):
        self.send_bounce(corpus("yahoo_no_account.eml"),
                         f"bounce+0000019a2b3c4d5e+y=example.com@{BOUNCE_DOMAIN}")
        out = subprocess.run(
            ["curl", "-sS", "--ssl-reqd", "-k", "--max-time", "30",
             f"pop3://127.0.0.1:{self.pop3_port}/1", "-u", "processor:pop-pass"],
            capture_output=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(b"X-Outpost-Bounce-Kind:", out.stdout)
        listing = subprocess.run(
            ["curl", "-sS", "--ssl-reqd", "-k", "--max-time", "30",
             f"pop3://127.0.0.1:{self.pop3_port}/", "-u", "processor:pop-pass"],
            capture_output=True, timeout=60)
        self.assertEqual(listing.returncode, 0, listing.stderr)
        self.assertRegex(listing.stdout.decode(), r"^1 \d+")

    def test_own_dsn_lands_in_the_mailbox_and_the_recipient_is_suppressed(self):
        with smtplib.SMTP("127.0.0.1", self.outpost.port, timeout=30) as client:
            client.sendmail("news@example.com", ["reject-ann@example.net", "bob@example.net"],
                            "Subject: first\r\nMessage-ID: <first@example.com>\r\n\r\nhi\r\n")
        wait_until(lambda: len(self.peer.messages) >= 1, 30, what="bob's copy")
        wait_until(lambda: self.mailbox_count() >= 1, 30, interval=0.3,
                   what="the DSN in the mailbox")
        client = self.pop3()
        headers = b"\r\n".join(client.top(1, 0)[1]).decode()
        client.quit()
        self.assertIn("X-Outpost-Bounce-Recipient: reject-ann@example.net", headers)
        self.assertIn("X-Outpost-Bounce-Type: hard", headers)
        # It was stored, not sent: the peer saw only bob's copy, never a DSN.
        self.assertEqual(len(self.peer.messages), 1)
        self.assertIn("reject-ann@example.net", self.suppression("list").stdout)

        # The next message to her is not attempted, and the API says why.
        rcpts_before = [r for _, r, _ in self.peer.rcpt_log].count("reject-ann@example.net")
        with smtplib.SMTP("127.0.0.1", self.outpost.port, timeout=30) as client:
            client.ehlo()
            client.mail("news@example.com")
            client.rcpt("reject-ann@example.net")
            client.rcpt("carl@example.net")
            code, reply = client.data(
                b"Subject: second\r\nMessage-ID: <second@example.com>\r\n\r\nhi\r\n")
            self.assertEqual(code, 250, reply)
        message_id = reply.decode().rsplit(" ", 1)[-1]
        wait_until(lambda: len(self.peer.messages) >= 2, 30, what="carl's copy")
        wait_until(lambda: self.outpost.admin("count").strip() == "0", 30, what="an empty queue")
        rcpts_after = [r for _, r, _ in self.peer.rcpt_log].count("reject-ann@example.net")
        self.assertEqual(rcpts_after, rcpts_before)
        # The status API says what happened to each recipient.
        with urllib.request.urlopen(f"http://127.0.0.1:{self.outpost.http_port}/v1/messages/"
                                    f"{message_id}", timeout=30) as response:
            status = {r["address"]: r for r in json.load(response)["recipients"]}
        self.assertEqual(status["reject-ann@example.net"]["status"], "suppressed")
        self.assertIn("suppressed", status["reject-ann@example.net"]["last_reply"])
        self.assertEqual(status["carl@example.net"]["status"], "delivered")
        wait_until(lambda: re.search(r'outpost_deliveries_total\{result="suppressed",destination="[^"]+"\} [1-9]',
                                     self.metrics()), 10, what="the suppressed count")

    def test_suppression_list_through_cli_and_api(self):
        added = self.suppression("add", "Dave@Example.net", "--reason", "asked by phone")
        self.assertIn("suppressed", added.stdout)
        base = f"http://127.0.0.1:{self.outpost.http_port}/api/v1/suppressions"
        auth = f"Authorization: Bearer {self.outpost.admin_key()}"
        request = urllib.request.Request(base, headers=self.outpost.admin_headers())
        with urllib.request.urlopen(request, timeout=30) as response:
            listed = json.load(response)
        self.assertEqual(listed["total"], 1)
        self.assertEqual(listed["suppressions"][0]["address"], "dave@example.net")
        self.assertEqual(listed["suppressions"][0]["category"], "manual")
        self.assertEqual(listed["suppressions"][0]["reason"], "asked by phone")
        put = subprocess.run(["curl", "-sS", "-X", "PUT", "-o", "/dev/null", "-w", "%{http_code}",
                              "-H", auth, base + "/erin@example.net?category=complaint"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(put.stdout, "200", put.stderr)
        self.assertIn("erin@example.net complaint", self.suppression("show", "erin@example.net").stdout)
        self.assertEqual(self.suppression("remove", "dave@example.net").returncode, 0)
        missing = self.suppression("show", "dave@example.net", check=False)
        self.assertEqual(missing.returncode, 1)
        gone = subprocess.run(["curl", "-sS", "-X", "DELETE", "-o", "/dev/null", "-w",
                               "%{http_code}", "-H", auth, base + "/dave@example.net"],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(gone.stdout, "404")
        # With the daemon stopped, the command line edits the database itself.
        self.assertEqual(self.outpost.stop(), 0)
        offline = subprocess.run([OUTPOST, "suppression", "list", "--config", self.outpost.config,
                                  "--admin", f"127.0.0.1:{self.outpost.http_port}"],
                                 capture_output=True, text=True, timeout=60)
        self.assertEqual(offline.returncode, 0, offline.stderr)
        self.assertIn("erin@example.net", offline.stdout)
        self.assertNotIn("dave@example.net", offline.stdout)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
