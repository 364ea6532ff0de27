"""End-to-end TLS on submission: Python's smtplib with starttls() and SMTP_SSL, swaks -tls,
STARTTLS command injection, the self-signed certificate made at first start, and a
certificate reloaded on SIGHUP. Messages go on to Postfix's smtp-sink through the relay.
Run as: tls_test.py --outpost PATH."""
import os
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import sys

from harness import run_tests, Outpost, Sink, message, wait_until, DaemonTest, insecure_tls_context

OUTPOST = None


def make_certificate(workdir, name, common_name):
    """A self-signed certificate and key made by the openssl command, for [tls]."""
    cert = os.path.join(workdir, name + ".pem")
    key = os.path.join(workdir, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                    f"/CN={common_name}", "-addext", f"subjectAltName=DNS:{common_name}",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def peer_common_name(port, implicit):
    """The CN of the certificate the server presents (STARTTLS or implicit TLS)."""
    context = insecure_tls_context()
    if implicit:
        client = smtplib.SMTP_SSL("127.0.0.1", port, timeout=10, context=context)
    else:
        client = smtplib.SMTP("127.0.0.1", port, timeout=10)
        client.starttls(context=context)
    der = client.sock.getpeercert(binary_form=True)
    client.quit()
    text = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject"],
                          input=der, capture_output=True, check=True).stdout.decode()
    return re.search(r"CN\s*=\s*([^,\n]+)", text).group(1).strip()


class TlsTest(DaemonTest):
    def setUp(self):
        super().setUp()
        self.sink = self.started(Sink(self.workdir))

    def outpost(self, settings=None):
        merged = {"submission": {"listen": '["127.0.0.1:0"]', "tls_listen": '["127.0.0.1:0"]'}}
        for section, keys in (settings or {}).items():
            merged.setdefault(section, {}).update(keys)
        o = self.started(Outpost(OUTPOST, self.workdir, self.sink.port, merged))
        o.start()
        o.tls_port = int(re.search(r"submission \(TLS\) listening on 127\.0\.0\.1:(\d+)",
                                   o.output()).group(1))
        return o

    def test_starttls_and_implicit_tls_with_the_self_signed_certificate(self):
        outpost = self.outpost()
        cert = os.path.join(self.workdir, "spool", "tls", "cert.pem")
        key = os.path.join(self.workdir, "spool", "tls", "key.pem")
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        # Verified against the certificate made at first start (the chain here; the name, which
        # smtplib would compare with 127.0.0.1, by hand: it is node.hostname).
        context = ssl.create_default_context(cafile=cert)
        context.check_hostname = False
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            client.ehlo()
            self.assertTrue(client.has_extn("starttls"))
            client.starttls(context=context)
            self.assertEqual(client.sock.getpeercert()["subjectAltName"],
                             (("DNS", "outpost.test"),))
            client.ehlo()
            self.assertFalse(client.has_extn("starttls"))  # RFC 3207: not offered again
            self.assertEqual(client.sock.version()[:4], "TLSv")
            client.send_message(message(1, "starttls"), "a@example.com", ["b@example.net"])
        with smtplib.SMTP_SSL("127.0.0.1", outpost.tls_port, timeout=30,
                              context=context) as client:
            client.ehlo()
            self.assertFalse(client.has_extn("starttls"))
            client.send_message(message(2, "implicit"), "a@example.com", ["b@example.net"])
        swaks = subprocess.run(["swaks", "--server", f"127.0.0.1:{outpost.port}", "-tls",
                                "--from", "a@example.com", "--to", "b@example.net",
                                "--header", "Message-Id: <swaks-tls@outpost.test>"],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(swaks.returncode, 0, swaks.stdout + swaks.stderr)
        self.assertIn("TLS started", swaks.stdout)
        wanted = {"<starttls-1@outpost.test>", "<implicit-2@outpost.test>",
                  "<swaks-tls@outpost.test>"}
        wait_until(lambda: self.sink.message_ids() >= wanted, 30, 0.1, "three messages")
        # Each got our Received field, naming the protocol (RFC 3848) and the TLS session.
        received = {}
        for path in self.sink.files():
            with open(path, errors="replace") as f:
                text = f.read()
            found = re.search(r"^Message-I[dD]:\s*(\S+)", text, re.M | re.I)
            trace = re.search(r"^Received: from .*?\tby outpost\.test \(Outpost\) with (\w+) id "
                              r"[0-9a-f]{16}\r?\n\t\((TLSv1\.[23]) ", text, re.M | re.S)
            if found and trace:
                received[found.group(1)] = trace.group(1)
        self.assertEqual(received, {m: "ESMTPS" for m in wanted})
        # The certificate survives a restart: made once, reused.
        before = open(cert).read()
        self.assertEqual(outpost.stop(), 0)
        outpost.start()
        self.assertEqual(open(cert).read(), before)
        self.assertEqual(outpost.stop(), 0)

    def test_commands_pipelined_before_tls_are_discarded(self):
        outpost = self.outpost()
        raw = socket.create_connection(("127.0.0.1", outpost.port), timeout=10)
        reader = raw.makefile("rb")
        self.assertTrue(reader.readline().startswith(b"220"))
        # One packet: EHLO, STARTTLS, and a MAIL smuggled in plaintext behind it.
        raw.sendall(b"EHLO x\r\nSTARTTLS\r\nMAIL FROM:<evil@example.com>\r\n")
        while not reader.readline().startswith(b"250 "):
            pass
        self.assertTrue(reader.readline().startswith(b"220 2.0.0"))
        tls = insecure_tls_context().wrap_socket(raw, server_hostname="outpost.test")
        tls_reader = tls.makefile("rb")
        # Had the MAIL counted, RCPT would be accepted; it must be refused: no EHLO, no MAIL.
        tls.sendall(b"RCPT TO:<b@example.net>\r\n")
        self.assertTrue(tls_reader.readline().startswith(b"503"))
        tls.sendall(b"EHLO x\r\nRCPT TO:<b@example.net>\r\n")
        while not tls_reader.readline().startswith(b"250 "):
            pass
        self.assertTrue(tls_reader.readline().startswith(b"503"))  # need MAIL first
        tls.sendall(b"QUIT\r\n")
        self.assertTrue(tls_reader.readline().startswith(b"221"))
        tls.close()

    def test_configured_certificate_is_reloaded_on_sighup(self):
        cert, key = make_certificate(self.workdir, "first", "first.outpost.test")
        outpost = self.outpost({"tls": {"certificate": f'"{cert}"', "key": f'"{key}"'}})
        self.assertEqual(peer_common_name(outpost.port, False), "first.outpost.test")
        self.assertEqual(peer_common_name(outpost.tls_port, True), "first.outpost.test")
        # A broken file is refused on reload and the certificate in use stays.
        with open(cert, "w") as f:
            f.write("not a certificate\n")
        os.kill(outpost.proc.pid, signal.SIGHUP)
        wait_until(lambda: "keeping the certificate in use" in outpost.output(), 10, 0.05,
                   "the refused reload")
        self.assertEqual(peer_common_name(outpost.port, False), "first.outpost.test")
        new_cert, new_key = make_certificate(self.workdir, "second", "second.outpost.test")
        os.replace(new_cert, cert)
        os.replace(new_key, key)
        os.kill(outpost.proc.pid, signal.SIGHUP)
        wait_until(lambda: peer_common_name(outpost.port, False) == "second.outpost.test", 10,
                   0.1, "the new certificate")
        self.assertEqual(peer_common_name(outpost.tls_port, True), "second.outpost.test")
        self.assertEqual(outpost.stop(), 0)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
