"""Suppression integrity (issue 21, item 4) against the real daemon and its real bounce listener.

Forged bounces: a DSN naming anyone (built from a real Postfix DSN), an ARF complaint naming
anyone (a real Yahoo report), and DSNs to VERP addresses with a made-up message id or a bad tag
are stored and classified, marked X-Outpost-Bounce-Trusted: no (read over IMAP with imaplib),
and suppress nobody: later mail to those addresses is still attempted. Genuine ones: a bounce
to a VERP return path Outpost really used, and a DSN and a complaint returning the header of
a message Outpost really sent (its X-Outpost-Ref), suppress exactly that recipient. Addresses
with white space or control characters are refused by the HTTP API and SMTP with the field
named, and a suppression matches every case spelling of its domain. The key file is mode
0600; after `outpost bounce-keys rotate` and a restart new mail has the new key and a bounce
to a path made before still verifies; a client's own X-Outpost-Ref is replaced. Run as:
suppression_integrity_test.py --outpost PATH.
"""
import imaplib
import json
import os
import re
import smtplib
import subprocess
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import DaemonTest, Outpost, run_tests, wait_until  # noqa: E402
from scripted_peer import ScriptedPeer  # noqa: E402

OUTPOST = None
BOUNCE_DOMAIN = "bounces.outpost.example"
# Real bounces from outside the project: ../shared/ beside the checkout.
REAL_BOUNCES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared",
                            "testdata", "bounces")
USER, PASSWORD = "processor", "imap-pass"


def real_bounce(name):
    """A real bounce from the shared corpus, with CRLF line ends."""
    with open(os.path.join(REAL_BOUNCES, name), "rb") as f:
        return f.read().replace(b"\r\n", b"\n").decode("latin-1")


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("latin-1")


def forged_dsn(final_recipients, returned_header=None):
    """Postfix's DSN (lhost-postfix-01) with one per-recipient group per address, each failed
    with 5.1.1, and, when given, `returned_header` as the returned message."""
    text = real_bounce("lhost-postfix-01.eml")
    group = re.search(r"Final-Recipient:.*?(?=\n\n)", text, re.S).group(0)
    groups = "\n\n".join(
        f"Final-Recipient: rfc822; {address}\nAction: failed\nStatus: 5.1.1\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{address}>: Recipient address rejected: "
        "User unknown" for address in final_recipients)
    text = text.replace(group, groups)
    if returned_header is not None:
        cut = text.index("Content-Type: message/rfc822\n")
        boundary = re.search(r'boundary="([^"]+)"', text).group(1)
        text = (text[:cut] + "Content-Type: text/rfc822-headers\n\n" + returned_header.strip() +
                f"\n\n--{boundary}--\n")
    return crlf(text)


def forged_complaint(recipient, returned_message=None):
    """Yahoo's ARF report (arf-02) about `recipient`, returning `returned_message` when given."""
    text = real_bounce("arf-02.eml").replace("this-local-part-does-not-exist-on-yahoo@yahoo.com",
                                             recipient)
    if returned_message is not None:
        cut = text.index("Content-Type: message/rfc822\n")
        text = (text[:cut] + "Content-Type: message/rfc822\n\n" + returned_message.strip() +
                "\n\n--_----------=F000000000000000000000--\n")
    return crlf(text)


def header_of(data):
    """The header section of a message the peer received, LF line ends."""
    text = data.decode("latin-1").replace("\r\n", "\n")
    return text.split("\n\n", 1)[0]


class SuppressionIntegrityTest(DaemonTest):
    def setUp(self):
        super().setUp()
        self.peer = self.started(ScriptedPeer())
        hashed = subprocess.run([OUTPOST, "passwd"], input=PASSWORD + "\n", capture_output=True,
                                text=True, check=True).stdout.strip()
        self.outpost = self.started(Outpost(OUTPOST, self.workdir, self.peer.port, {
            "bounce": {"domain": f'"{BOUNCE_DOMAIN}"', "listen": '"127.0.0.1:0"'},
            "[mailbox.user]": {"name": f'"{USER}"', "password_hash": f"'{hashed}'"},
            "imap": {"listen": '"127.0.0.1:0"', "login_without_tls": "true"},
            "metrics": {"listen": '["127.0.0.1:0"]'},
        }))
        self.outpost.start()
        self.bounce_port = self.listening_port("bounce intake (SMTP)")
        self.imap_port = self.listening_port("imap")
        self.metrics_port = self.listening_port("metrics")

    def metrics(self):
        return urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                      timeout=30).read().decode()

    def listening_port(self, what):
        match = re.search(re.escape(what) + r" listening on 127\.0\.0\.1:(\d+)",
                          self.outpost.output())
        self.assertTrue(match, f"no '{what}' listener in the log")
        return int(match.group(1))

    # ---- helpers ---------------------------------------------------------------------------

    def send_bounce(self, raw, rcpt):
        with smtplib.SMTP("127.0.0.1", self.bounce_port, timeout=30) as client:
            client.sendmail("", [rcpt], raw)

    def stored_headers(self):
        """The header section of every message in the bounce mailbox, read over IMAP."""
        client = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=30)
        try:
            client.login(USER, PASSWORD)
            client.select("INBOX", readonly=True)
            _, numbers = client.search(None, "ALL")
            headers = []
            for number in numbers[0].split():
                _, data = client.fetch(number, "(BODY.PEEK[HEADER])")
                headers.append(data[0][1].decode("latin-1"))
            return headers
        finally:
            client.logout()

    def suppressions(self):
        out = subprocess.run([OUTPOST, "suppression", "list", "--config", self.outpost.config,
                              "--admin", f"127.0.0.1:{self.outpost.http_port}"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def suppressed(self, address):
        return re.search(r"^" + re.escape(address.lower()) + r"\s", self.suppressions(),
                         re.M) is not None

    def api(self, body):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.outpost.http_port}/v1/messages",
            data=json.dumps(body).encode(), headers={"Content-Type": "application/json"},
            method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def submit(self, recipients, subject="hello"):
        """One message through SMTP submission; returns the queue id."""
        with smtplib.SMTP("127.0.0.1", self.outpost.port, timeout=30) as client:
            client.ehlo()
            client.mail("news@shop.example")
            for rcpt in recipients:
                client.rcpt(rcpt)
            code, reply = client.data(
                f"From: news@shop.example\r\nTo: list@shop.example\r\nSubject: {subject}\r\n"
                f"\r\nhi\r\n".encode())
            self.assertEqual(code, 250, reply)
        return reply.decode().rsplit(" ", 1)[-1]

    def delivered(self, rcpt):
        """The (mail_from, data) the peer received for `rcpt`, waiting for it."""
        def find():
            for mail_from, rcpts, data in self.peer.received():
                if rcpt in rcpts:
                    return mail_from, data
            return None
        return wait_until(find, 30, what=f"delivery to {rcpt}")

    def attempts(self, rcpt):
        return [r for _, r, _ in self.peer.rcpt_log].count(rcpt)

    def wait_for_empty_queue(self):
        wait_until(lambda: self.outpost.admin("count").strip() == "0", 30, interval=0.2,
                   what="an empty queue")

    # ---- forged bounces ----------------------------------------------------------------------

    def test_forged_dsn_complaint_and_verp_suppress_nobody(self):
        victims = [f"user{i}@victim.example" for i in range(15)]
        # 1. A DSN naming fifteen victims, to a plain address of the bounce domain.
        self.send_bounce(forged_dsn(victims), f"postmaster@{BOUNCE_DOMAIN}")
        # 2. The same DSN to a VERP address with a made-up message id (no tag, as before).
        self.send_bounce(forged_dsn(["anyone@victim.example"]),
                         f"bounce+0000019a2b3c4d5e+anyone=victim.example@{BOUNCE_DOMAIN}")
        # 3. And with a tag that is not ours.
        self.send_bounce(
            forged_dsn(["anyone@victim.example"]),
            f"bounce+0000019a2b3c4d5e+01a1b2c3d4e5f60718+anyone=victim.example@{BOUNCE_DOMAIN}")
        # 4. A complaint about a victim, to the feedback address.
        self.send_bounce(forged_complaint("complainer@victim.example"), f"fbl@{BOUNCE_DOMAIN}")
        # 5. A complaint at a made-up VERP address.
        self.send_bounce(forged_complaint("other@victim.example"),
                         f"bounce+0000019a2b3c4d74+other=victim.example@{BOUNCE_DOMAIN}")

        headers = self.stored_headers()
        self.assertEqual(len(headers), 5)
        for stored in headers:
            self.assertIn("X-Outpost-Bounce-Trusted: no\r\n", stored)
            self.assertIn("X-Outpost-Bounce-Trust: none\r\n", stored)
        # Still classified as before.
        for stored in headers[:3]:
            self.assertIn("X-Outpost-Bounce-Kind: dsn\r\n", stored)
            self.assertIn("X-Outpost-Bounce-Category: invalid_recipient\r\n", stored)
            self.assertIn("X-Outpost-Bounce-Type: hard\r\n", stored)
        for stored in headers[3:]:
            self.assertIn("X-Outpost-Bounce-Kind: complaint\r\n", stored)
        self.assertNotRegex(self.suppressions(), r"@victim\.example")
        wait_until(lambda: re.search(r"(?m)^outpost_bounces_untrusted_total 5$", self.metrics()),
                   10, what="outpost_bounces_untrusted_total 5")
        self.assertRegex(self.metrics(), r"(?m)^outpost_suppressions_added_total 0$")

        # Later mail to them is attempted.
        named = victims[:3] + ["anyone@victim.example", "complainer@victim.example",
                               "other@victim.example"]
        self.submit(named)
        self.wait_for_empty_queue()
        for rcpt in named:
            self.assertEqual(self.attempts(rcpt), 1, rcpt)

    # ---- genuine bounces ---------------------------------------------------------------------

    def test_bounce_to_a_verp_path_outpost_used_suppresses_exactly_that_recipient(self):
        self.submit(["ann@example.net", "bob@example.net"])
        verp, _ = self.delivered("ann@example.net")
        self.assertRegex(verp, r"^bounce\+[0-9a-f]{16}\+[0-9a-f]{18}\+ann=example\.net@" +
                         re.escape(BOUNCE_DOMAIN) + "$")
        # The remote MTA's DSN names ann; it goes to ann's return path.
        self.send_bounce(forged_dsn(["ann@example.net"]), verp)
        headers = self.stored_headers()
        self.assertEqual(len(headers), 1)
        self.assertIn("X-Outpost-Bounce-Trusted: yes\r\n", headers[0])
        self.assertIn("X-Outpost-Bounce-Trust: verp\r\n", headers[0])
        self.assertTrue(self.suppressed("ann@example.net"))
        self.assertFalse(self.suppressed("bob@example.net"))
        # Ann's return path, tag and all, with another recipient: still only ann.
        self.send_bounce(forged_dsn(["bob@example.net"]), verp)
        self.assertFalse(self.suppressed("bob@example.net"))

        # A relay that changes the case of the return path still matches; another message id
        # with ann's tag does not (the tag covers the id).
        self.send_bounce(forged_dsn(["ann@example.net"]), verp.upper())
        self.assertIn("X-Outpost-Bounce-Trusted: yes\r\n", self.stored_headers()[-1])
        other = re.sub(r"\+[0-9a-f]{16}\+", "+0000019a2b3c4d5e+", verp, count=1)
        self.send_bounce(forged_dsn(["ann@example.net"]), other)
        self.assertIn("X-Outpost-Bounce-Trusted: no\r\n", self.stored_headers()[-1])

        self.submit(["ann@example.net", "bob@example.net"], subject="second")
        self.wait_for_empty_queue()
        self.assertEqual(self.attempts("ann@example.net"), 1)
        self.assertEqual(self.attempts("bob@example.net"), 2)

    def test_dsn_and_complaint_returning_our_header_suppress_only_that_messages_recipients(self):
        self.submit(["carl@example.net"])
        self.submit(["dora@example.net"])
        _, carl_copy = self.delivered("carl@example.net")
        _, dora_copy = self.delivered("dora@example.net")
        carl_header = header_of(carl_copy)
        self.assertRegex(carl_header, r"(?m)^X-Outpost-Ref: [0-9a-f]{16}\.[0-9a-f]{18}$")

        # Returned to a plain bounce address (no VERP to go by): the reference decides.
        # Carl's header with someone else named: nobody.
        self.send_bounce(forged_dsn(["victim@victim.example"], carl_header),
                         f"postmaster@{BOUNCE_DOMAIN}")
        # A reference with one digit changed: nobody.
        tampered = re.sub(r"(X-Outpost-Ref: [0-9a-f]{16}\.[0-9a-f]{17})([0-9a-f])",
                          lambda m: m.group(1) + ("0" if m.group(2) != "0" else "1"), carl_header)
        self.send_bounce(forged_dsn(["carl@example.net"], tampered),
                         f"postmaster@{BOUNCE_DOMAIN}")
        # Dora's header naming carl: nobody.
        self.send_bounce(forged_dsn(["carl@example.net"], header_of(dora_copy)),
                         f"postmaster@{BOUNCE_DOMAIN}")
        self.assertNotIn("@", self.suppressions())
        # Carl's header naming carl: carl.
        self.send_bounce(forged_dsn(["Carl@Example.NET"], carl_header),
                         f"postmaster@{BOUNCE_DOMAIN}")
        headers = self.stored_headers()
        self.assertEqual([h.count("X-Outpost-Bounce-Trusted: yes") for h in headers],
                         [0, 0, 0, 1])
        self.assertIn("X-Outpost-Bounce-Trust: reference\r\n", headers[3])
        self.assertTrue(self.suppressed("carl@example.net"))
        self.assertFalse(self.suppressed("dora@example.net"))

        # A complaint returning dora's whole message suppresses dora.
        self.send_bounce(forged_complaint("dora@example.net",
                                          dora_copy.decode("latin-1").replace("\r\n", "\n")),
                         f"fbl@{BOUNCE_DOMAIN}")
        self.assertIn("X-Outpost-Bounce-Trust: reference\r\n", self.stored_headers()[-1])
        self.assertTrue(self.suppressed("dora@example.net"))

        self.submit(["carl@example.net", "dora@example.net", "eve@example.net"], subject="next")
        self.wait_for_empty_queue()
        self.assertEqual(self.attempts("carl@example.net"), 1)
        self.assertEqual(self.attempts("dora@example.net"), 1)
        self.assertEqual(self.attempts("eve@example.net"), 1)

    def test_keys_are_private_rotate_at_restart_and_old_paths_still_verify(self):
        key_file = os.path.join(self.workdir, "spool", "bounce-keys")
        self.assertEqual(os.stat(key_file).st_mode & 0o777, 0o600)
        self.submit(["fay@example.net"])
        old_path, _ = self.delivered("fay@example.net")
        old_key = old_path.split("+")[2][:2]

        rotated = subprocess.run([OUTPOST, "bounce-keys", "rotate", "--config",
                                  self.outpost.config], capture_output=True, text=True,
                                 timeout=60)
        self.assertEqual(rotated.returncode, 0, rotated.stderr)
        self.assertEqual(self.outpost.stop(), 0)
        self.outpost.start()
        self.bounce_port = self.listening_port("bounce intake (SMTP)")
        self.imap_port = self.listening_port("imap")

        # New mail is tagged with the new key.
        self.submit(["gus@example.net"])
        new_path, _ = self.delivered("gus@example.net")
        self.assertNotEqual(new_path.split("+")[2][:2], old_key)
        # A bounce to the path used before the rotation still verifies and suppresses.
        self.send_bounce(forged_dsn(["fay@example.net"]), old_path)
        self.assertIn("X-Outpost-Bounce-Trusted: yes\r\n", self.stored_headers()[-1])
        self.assertTrue(self.suppressed("fay@example.net"))
        self.assertEqual(os.stat(key_file).st_mode & 0o777, 0o600)
        with open(key_file) as f:
            keys = [line.split() for line in f if line.strip() and not line.startswith("#")]
        self.assertEqual(len(keys), 2)
        self.assertEqual(sorted(k[2] != "0" for k in keys), [False, True])  # one retired

    def test_a_clients_own_reference_is_replaced(self):
        with smtplib.SMTP("127.0.0.1", self.outpost.port, timeout=30) as client:
            client.sendmail("news@shop.example", ["hal@example.net"],
                            b"X-Outpost-Ref: 0000019a2b3c4d5e.01a1b2c3d4e5f60718\r\n"
                            b"Subject: copied\r\n\r\nhi\r\n")
        verp, data = self.delivered("hal@example.net")
        refs = re.findall(r"(?m)^X-Outpost-Ref: (.*)$", header_of(data))
        self.assertEqual(len(refs), 1, refs)
        self.assertTrue(refs[0].startswith(verp.split("+")[1] + "."), (refs, verp))

    # ---- addresses ---------------------------------------------------------------------------

    def test_white_space_and_control_characters_are_refused_with_the_field_named(self):
        raw = "From: a@shop.example\r\nSubject: x\r\n\r\nx\r\n"
        cases = [
            ({"raw": raw, "envelope": {"mail_from": "a@shop.example",
                                       "rcpt_to": [" victim@x.example"]}},
             "envelope.rcpt_to[0]", "leading white space"),
            ({"raw": raw, "envelope": {"mail_from": "a@shop.example",
                                       "rcpt_to": ["ok@x.example", "victim@x.example\t"]}},
             "envelope.rcpt_to[1]", "trailing white space"),
            ({"raw": raw, "envelope": {"mail_from": "a@shop.example\u0001",
                                       "rcpt_to": ["ok@x.example"]}},
             "envelope.mail_from", "control character"),
            ({"raw": raw, "envelope": {"mail_from": "a@shop.example",
                                       "rcpt_to": ["\"victim@x.example"]}},
             "envelope.rcpt_to[0]", "unbalanced quote"),
            ({"from": "a@shop.example", "to": ["ok@x.example", " victim@x.example"],
              "subject": "x", "text": "x"}, "to[1]", "leading white space"),
            ({"from": "a@shop.example", "subject": "x", "text": "x",
              "recipients": [{"to": "a@x.example"}, {"to": "b@x.example"},
                             {"to": "victim@x.example\t"}]},
             "recipients[2].to", "trailing white space"),
        ]
        for body, field, why in cases:
            status, answer = self.api(body)
            self.assertEqual(status, 400, (body, answer))
            self.assertEqual(answer["error"]["field"], field, answer)
            self.assertIn(why, answer["error"]["message"], answer)

        with smtplib.SMTP("127.0.0.1", self.outpost.port, timeout=30) as client:
            client.ehlo()
            self.assertEqual(client.mail("a@shop.example")[0], 250)
            for argument, why in (("TO:< victim@x.example>", b"leading white space"),
                                  ("TO:<victim@x.example\t>", b"trailing white space"),
                                  ('TO:<" victim"@x.example>', b"white space at the edge")):
                code, reply = client.docmd("RCPT", argument)
                self.assertEqual(code, 501, reply)
                self.assertIn(b"5.1.3 Bad recipient address syntax: " + why, reply)
            client.rset()
            code, reply = client.docmd("MAIL", "FROM:< a@shop.example>")
            self.assertEqual(code, 501, reply)
            self.assertIn(b"5.1.7 Bad sender address syntax: leading white space", reply)

        inject = subprocess.run([OUTPOST, "inject", "--url",
                                 f"http://127.0.0.1:{self.outpost.http_port}", "--key", "x",
                                 "--from", "a@shop.example", "--to", " victim@x.example"],
                                input=raw, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(inject.returncode, 0)
        self.assertIn('--to " victim@x.example": not an address: leading white space',
                      inject.stderr)
        self.assertEqual(self.peer.rcpt_log, [])

    def test_a_suppression_matches_every_case_of_its_domain_and_quoted_spellings(self):
        added = subprocess.run([OUTPOST, "suppression", "add", "Victim@X.example", "--config",
                                self.outpost.config, "--admin",
                                f"127.0.0.1:{self.outpost.http_port}"],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(added.returncode, 0, added.stderr)
        spellings = ["victim@x.example", "Victim@X.EXAMPLE", "VICTIM@x.Example",
                     '"victim"@x.example']
        status, answer = self.api({"raw": "From: a@shop.example\r\nSubject: x\r\n\r\nx\r\n",
                                   "envelope": {"mail_from": "a@shop.example",
                                                "rcpt_to": spellings + ["ok@x.example"]}})
        self.assertEqual(status, 202, answer)
        self.delivered("ok@x.example")
        self.wait_for_empty_queue()
        tried = [r.lower() for _, r, _ in self.peer.rcpt_log]
        self.assertEqual(tried, ["ok@x.example"])


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
