"""End-to-end test of DKIM signing in the daemon: keys from [[dkim]] (made by `outpost dkim
keygen`), messages submitted with smtplib, received by a real SMTP peer, every signature
checked by dkimpy (python3-dkim) and by `outpost dkim verify`. Signing happens once, at
acceptance: a message deferred and retried carries the same signatures, not new ones.
Run as: signing_test.py --outpost PATH."""
import os
import re
import smtplib
import socket
import subprocess
import sys
import time

from dkim_test import DKIMPY_SCRIPT, SYSTEM_PYTHON
from harness import run_tests, Outpost, message, wait_until, DaemonTest
from scripted_peer import ScriptedPeer

OUTPOST = None


def signatures(raw):
    head = raw.split(b"\r\n\r\n", 1)[0]
    return re.findall(rb"(?ims)^DKIM-Signature:.*?(?=\r\n[^ \t]|\Z)", head)


class SigningTest(DaemonTest):
    def setUp(self):
        super().setUp()
        self.records = {}
        keys = [("example.com", "rsa1", "rsa-sha256", "author"),
                ("example.com", "ed1", "ed25519-sha256", "author"),
                ("esp.test", "plat", "ed25519-sha256", "platform")]
        self.dkim_tables = []
        for domain, selector, algorithm, role in keys:
            path = os.path.join(self.workdir, f"{selector}.pem")
            out = subprocess.run([OUTPOST, "dkim", "keygen", "--algorithm", algorithm,
                                  "--out", path], capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.records[f"{selector}._domainkey.{domain}"] = out.stdout.strip()
            self.dkim_tables.append(f'domain = "{domain}"\nselector = "{selector}"\n'
                                    f'key = "{path}"\nalgorithm = "{algorithm}"\n'
                                    f'role = "{role}"\n')

    def outpost(self, relay_port, extra_config=None):
        o = Outpost(OUTPOST, self.workdir, relay_port)
        with open(o.config, "a") as f:
            for table in (self.dkim_tables if extra_config is None else extra_config):
                f.write("[[dkim]]\n" + table)
        self.stoppers.append(o.stop)
        return o

    def dkimpy(self, raws):
        keys = os.path.join(self.workdir, "keys.txt")
        with open(keys, "w") as f:
            f.writelines(f"{name} {record}\n" for name, record in self.records.items())
        script = os.path.join(self.workdir, "dkimpy_verify.py")
        with open(script, "w") as f:
            f.write(DKIMPY_SCRIPT)
        paths = []
        for i, raw in enumerate(raws):
            paths.append(os.path.join(self.workdir, f"received-{i}.eml"))
            with open(paths[-1], "wb") as f:
                f.write(raw)
        out = subprocess.run([SYSTEM_PYTHON, script, keys, *paths], capture_output=True,
                             text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        return [line.split()[1:] for line in out.stdout.splitlines()]

    def ours(self, raw):
        args = [OUTPOST, "dkim", "verify"]
        for name, record in self.records.items():
            args += ["--key-record-for", f"{name}={record}"]
        return subprocess.run(args, input=raw, capture_output=True, timeout=60)

    def test_signed_once_at_acceptance_and_verified_by_dkimpy(self):
        peer = ScriptedPeer(defer_seconds=3)  # defer* recipients: 451 at first, then 250
        self.stoppers.append(peer.stop)
        outpost = self.outpost(peer.port).start()
        self.assertIn("dkim: signing with 3 keys", outpost.output())
        authored = message(1, "signed")  # From: sender@example.com
        other = message(2, "platform-only")
        other.replace_header("From", "someone@unkeyed.example")
        accepted_at = time.time()
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            client.send_message(authored, "bounces@esp.test", ["defer1@example.net"])
            client.send_message(other, "bounces@esp.test", ["now@example.net"])
        wait_until(lambda: len(peer.received()) == 2, 30, 0.1, "both messages")
        received = {r[1][0]: r[2].replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")
                    for r in peer.received()}
        deferred = [entry for entry in peer.rcpt_log if entry[1] == "defer1@example.net"]
        self.assertGreaterEqual(len(deferred), 2, "the first attempt was deferred")

        first = received["defer1@example.net"]
        sigs = signatures(first)
        # Author domain (RSA and Ed25519) plus the platform's: three, not three per attempt.
        self.assertEqual(len(sigs), 3, sigs)
        self.assertEqual(sorted(re.search(rb"\bs=(\w+)", s).group(1) for s in sigs),
                         [b"ed1", b"plat", b"rsa1"])
        # Signed when accepted, not when (re)tried: t= is the acceptance time, seconds before
        # the attempt that delivered it.
        stamps = {int(re.search(rb"\bt=(\d+)", s).group(1)) for s in sigs}
        self.assertEqual(len(stamps), 1)
        self.assertLessEqual(abs(stamps.pop() - accepted_at), 1.5)
        self.assertGreaterEqual(deferred[-1][0] - deferred[0][0], 2.5)
        second = received["now@example.net"]
        self.assertEqual([re.search(rb"\bd=([\w.]+)", s).group(1) for s in signatures(second)],
                         [b"esp.test"])

        verdicts = self.dkimpy([first, second])
        self.assertEqual(verdicts, [["pass", "pass", "pass"], ["pass"]])
        for raw in (first, second):
            out = self.ours(raw)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        tampered = first.replace(b"body of message 1", b"body of message 7")
        self.assertEqual(self.dkimpy([tampered]), [["fail", "fail", "fail"]])
        self.assertEqual(outpost.stop(), 0)

    def test_unsignable_header_is_refused_and_bad_keys_stop_the_start(self):
        peer = ScriptedPeer()
        self.stoppers.append(peer.stop)
        outpost = self.outpost(peer.port).start()
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            client.ehlo()
            self.assertEqual(client.docmd("MAIL FROM:<a@example.com>")[0], 250)
            self.assertEqual(client.docmd("RCPT TO:<b@example.net>")[0], 250)
            self.assertEqual(client.docmd("DATA")[0], 354)
            client.send(b"From: a@example.com\r\nnot a header line\r\n\r\nbody\r\n.\r\n")
            code, reply = client.getreply()
            self.assertEqual(code, 554, reply)
            self.assertIn(b"5.6.0", reply)
            # The session goes on: a good message right after is accepted and signed.
            client.send_message(message(3, "after"), "a@example.com", ["b@example.net"])
        wait_until(lambda: len(peer.received()) == 1, 30, 0.1, "the good message")
        self.assertEqual(len(signatures(peer.received()[0][2].replace(b"\n", b"\r\n"))), 3)
        self.assertEqual(outpost.stop(), 0)

        broken = self.outpost(peer.port, [
            'domain = "example.com"\nselector = "x"\nkey = "/nonexistent/key.pem"\n'])
        broken.proc = subprocess.Popen([OUTPOST, "run", "--config", broken.config],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output, _ = broken.proc.communicate(timeout=30)
        self.assertEqual(broken.proc.returncode, 2)  # a refused configuration
        self.assertIn(b"dkim[0].key", output)
        self.assertIn(b"/nonexistent/key.pem", output)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
