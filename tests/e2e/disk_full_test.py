"""End-to-end: the spool's filesystem fills up. Clients get 452 (never a 250 for a message
that is not stored), nothing acknowledged is lost, and accepting and delivery resume once
space returns, without a restart. The spool is a tmpfs the test mounts (root only).
Run as: disk_full_test.py --outpost PATH."""
import os
import re
import smtplib
import subprocess
import sys
import time
import unittest

from harness import run_tests, Outpost, Sink, TempDir, free_port, message, wait_until

OUTPOST = None


@unittest.skipUnless(os.geteuid() == 0, "mounting a tmpfs needs root")
class DiskFullTest(unittest.TestCase):
    def test_full_disk_answers_452_and_loses_nothing(self):
        with TempDir() as workdir:
            spool = os.path.join(workdir, "spool")
            os.makedirs(spool)
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", spool], check=True)
            outpost = sink = None
            try:
                port = free_port()  # nothing listens yet: the queue only grows
                outpost = Outpost(OUTPOST, workdir, port)
                outpost.start()
                ballast = os.path.join(spool, "ballast")
                free = os.statvfs(spool).f_bavail * os.statvfs(spool).f_frsize
                with open(ballast, "wb") as f:
                    f.write(b"\0" * max(0, free - 3 * 1024 * 1024))
                acknowledged, refused = set(), []
                with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
                    for i in range(3000):
                        msg = message(i, "full")
                        msg.set_content("z" * 4096 + "\n")
                        try:
                            client.send_message(msg, "sender@example.com", ["rcpt@example.net"])
                            acknowledged.add(f"<full-{i}@outpost.test>")
                        except smtplib.SMTPDataError as error:
                            refused.append(error.smtp_code)
                            if len(refused) >= 5:
                                break
                        except smtplib.SMTPServerDisconnected:
                            self.fail("the daemon dropped the client on a full disk:\n" +
                                      outpost.output())
                    self.assertTrue(refused, "the spool never filled up")
                    self.assertEqual(set(refused), {452}, refused)
                    os.unlink(ballast)
                    # Space is back: the next message is accepted, at the latest when the
                    # client retries its 452 as a real client would.
                    after = message(99999, "full")
                    for attempt in range(50):
                        try:
                            client.send_message(after, "sender@example.com", ["rcpt@example.net"])
                            break
                        except smtplib.SMTPDataError as error:
                            self.assertEqual(error.smtp_code, 452)
                            time.sleep(0.2)
                    acknowledged.add("<full-99999@outpost.test>")
                self.assertIsNone(outpost.proc.poll(), "the daemon died")
                sink = Sink(workdir, port)
                wait_until(lambda: sink.message_ids() >= acknowledged, 120, 0.5,
                           "every acknowledged message delivered")
                print(f"\ndisk full: {len(acknowledged)} acknowledged, {len(refused)} refused "
                      f"with 452, all acknowledged delivered", file=sys.stderr)
                self.assertEqual(outpost.stop(), 0)
            finally:
                if outpost:
                    outpost.stop()
                if sink:
                    sink.stop()
                subprocess.run(["umount", "-l", spool], check=False)

    def test_bounce_intake_on_a_full_disk_answers_452_then_recovers(self):
        with TempDir() as workdir:
            spool = os.path.join(workdir, "spool")
            os.makedirs(spool)
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", spool], check=True)
            outpost = None
            try:
                outpost = Outpost(OUTPOST, workdir, free_port(), {
                    # The disk, not the per-client rates, is what fills up here.
                    "bounce": {"domain": '"bounces.outpost.test"', "listen": '"127.0.0.1:0"',
                               "messages_per_ip_per_minute": "0",
                               "bytes_per_ip_per_minute": "0"}})
                outpost.start()
                port = int(re.search(r"bounce intake \(SMTP\) listening on 127\.0\.0\.1:(\d+)",
                                     outpost.output()).group(1))
                ballast = os.path.join(spool, "ballast")
                free = os.statvfs(spool).f_bavail * os.statvfs(spool).f_frsize
                with open(ballast, "wb") as f:
                    f.write(b"\0" * max(0, free - 3 * 1024 * 1024))
                bounce = (b"From: MAILER-DAEMON@mx.example.net\r\nSubject: Undelivered\r\n\r\n" +
                          b"<ann@example.com>: 550 5.1.1 no such user\r\n" + (b"z" * 900 + b"\r\n") * 9)
                rcpt = "bounce+0000019a2b3c4d5e+ann=example.com@bounces.outpost.test"
                stored, refused, last_error = 0, [], None
                with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                    for _ in range(3000):
                        try:
                            client.sendmail("", [rcpt], bounce)
                            stored += 1
                        except smtplib.SMTPDataError as error:
                            refused.append(error.smtp_code)
                            last_error = error.smtp_error
                            if len(refused) >= 5:
                                break
                    self.assertTrue(refused, "the mailbox never filled up")
                    self.assertEqual(set(refused), {452}, (refused, last_error))
                    os.unlink(ballast)
                    for attempt in range(50):
                        try:
                            client.sendmail("", [rcpt], bounce)
                            stored += 1
                            break
                        except smtplib.SMTPDataError as error:
                            self.assertEqual(error.smtp_code, 452)
                            time.sleep(0.2)
                    else:
                        self.fail("the intake never recovered")
                self.assertIsNone(outpost.proc.poll(), "the daemon died")
                self.assertEqual(outpost.stop(), 0)
                print(f"\nbounce intake, disk full: {stored} stored, {len(refused)} refused with "
                      "452, then accepted again", file=sys.stderr)
            finally:
                if outpost:
                    outpost.stop()
                subprocess.run(["umount", "-l", spool], check=False)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
