"""End-to-end AUTH on submission: with loopback not trusted, a client must authenticate
before it may relay (554 5.7.1 at RCPT otherwise), AUTH is offered only after STARTTLS (538
before), a wrong password gets 535, and Python's smtplib login(), swaks -a PLAIN/LOGIN and
`outpost bench blast --auth` get through to smtp-sink. The user's hash comes from `outpost passwd`.
Run as: auth_test.py --outpost PATH."""
import json
import smtplib
import subprocess
import sys

from harness import run_tests, Outpost, Sink, message, wait_until, DaemonTest, insecure_tls_context

OUTPOST = None


class AuthTest(DaemonTest):
    def setUp(self):
        super().setUp()
        self.sink = self.started(Sink(self.workdir))
        hashed = subprocess.run([OUTPOST, "passwd"], input="s3cret\n", capture_output=True,
                                text=True, check=True).stdout.strip()
        self.assertTrue(hashed.startswith("$y$"), hashed)
        self.outpost = self.started(Outpost(OUTPOST, self.workdir, self.sink.port, {
            "submission": {"listen": '["127.0.0.1:0"]', "trusted_networks": "[]"},
            "[submission.user]": {"name": '"app"', "password_hash": f"'{hashed}'"},
        }))
        self.outpost.start()

    def test_relay_needs_auth_and_auth_needs_tls(self):
        port = self.outpost.port
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.ehlo()
            self.assertFalse(client.has_extn("auth"))  # not before TLS
            code, reply = client.docmd("AUTH", "PLAIN AGFwcABzM2NyZXQ=")
            self.assertEqual(code, 538, reply)
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as refused:
                client.sendmail("a@example.com", ["b@example.net"], "Subject: x\r\n\r\nx\r\n")
            code, reply = refused.exception.recipients["b@example.net"]
            self.assertEqual(code, 554)
            self.assertIn(b"5.7.1", reply)
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.starttls(context=insecure_tls_context())
            client.ehlo()
            self.assertEqual(client.esmtp_features.get("auth", "").split(), ["PLAIN", "LOGIN"])
            with self.assertRaises(smtplib.SMTPAuthenticationError) as wrong:
                client.login("app", "wrong")
            self.assertEqual(wrong.exception.smtp_code, 535)
            client.login("app", "s3cret")
            client.send_message(message(1, "auth"), "a@example.com", ["b@example.net"])
        for mechanism in ("PLAIN", "LOGIN"):
            swaks = subprocess.run(
                ["swaks", "--server", f"127.0.0.1:{port}", "-tls", "-a", mechanism, "-au", "app",
                 "-ap", "s3cret", "--from", "a@example.com", "--to", "b@example.net",
                 "--header", f"Message-Id: <swaks-{mechanism}@outpost.test>"],
                capture_output=True, text=True, timeout=60)
            self.assertEqual(swaks.returncode, 0, swaks.stdout + swaks.stderr)
            self.assertIn("235 2.7.0", swaks.stdout)
        wanted = {"<auth-1@outpost.test>", "<swaks-PLAIN@outpost.test>",
                  "<swaks-LOGIN@outpost.test>"}
        wait_until(lambda: self.sink.message_ids() >= wanted, 30, 0.1, "authenticated mail")
        self.assertEqual(len(self.sink.message_ids()), 3)  # the refused one never got in
        self.assertEqual(self.outpost.stop(), 0)

    def test_load_generator_authenticates(self):
        def blast(*extra):
            out = subprocess.run([OUTPOST, "bench", "blast", "--to", f"127.0.0.1:{self.outpost.port}",
                                  "--count", "200", "--connections", "4", "--starttls", "--json",
                                  "--no-progress", *extra],
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            return json.loads(out.stdout)
        report = blast("--auth", "app:s3cret")
        self.assertEqual(report["messages_acknowledged"], 200, report)
        self.assertEqual(report["tls_sessions"], 4, report)
        wait_until(lambda: len(self.sink.message_ids()) == 200, 60, 0.2, "200 messages")
        refused = blast()  # no AUTH: every recipient refused, nothing stored
        self.assertEqual(refused["messages_acknowledged"], 0, refused)
        self.assertEqual(len(self.sink.message_ids()), 200)
        self.assertEqual(self.outpost.stop(), 0)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
