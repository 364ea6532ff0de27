"""End-to-end outbound STARTTLS: the daemon delivers by MX (a real unbound on loopback) to
private Postfix smtpd instances, each on its own loopback address, which relay to smtp-sink
and say in their Received header whether TLS was used. Every policy is tried for a pass and a
fail: none, opportunistic (including a receiver whose handshake breaks: retried in
plaintext), required (a server without STARTTLS defers with 4.7.10), verify (a wrong CA and a
name mismatch defer with 4.7.5); and a pool of connections resumes its TLS sessions.
Run as: delivery_tls_test.py --outpost PATH."""
import json
import os
import re
import smtplib
import subprocess
import sys

from dns_server import DnsServer
from harness import run_tests, Outpost, Sink, free_port, message, wait_until, DaemonTest
from postfix_server import PostfixServer
from scripted_peer import ScriptedPeer

OUTPOST = None


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(workdir):
    cert, key = os.path.join(workdir, "ca.pem"), os.path.join(workdir, "ca.key")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-days", "2", "-subj", "/CN=Outpost Test CA", "-addext",
            "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", key, "-out", cert)
    return cert, key


def make_leaf(workdir, name, ca=None):
    """A server certificate for `name`: signed by `ca`, or self-signed."""
    cert, key = os.path.join(workdir, name + ".pem"), os.path.join(workdir, name + ".key")
    if ca is None:
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-days", "2", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
                "-keyout", key, "-out", cert)
        return cert, key
    csr, ext = cert + ".csr", cert + ".ext"
    with open(ext, "w") as f:
        f.write(f"subjectAltName=DNS:{name}\nextendedKeyUsage=serverAuth\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", f"/CN={name}", "-keyout", key, "-out", csr)
    openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
            "-days", "2", "-extfile", ext, "-out", cert)
    return cert, key


class DeliveryTlsTest(DaemonTest):

    def test_policies_against_postfix(self):
        ca = make_ca(self.workdir)
        port = free_port()
        sink = self.started(Sink(self.workdir))
        # A offers STARTTLS with a CA-signed certificate for mx-a.tls.test; B offers no TLS;
        # C insists on TLS with a self-signed certificate; D breaks its handshakes.
        self.started(PostfixServer(self.workdir, "127.0.0.11", port, sink.port, "may",
                                 *make_leaf(self.workdir, "mx-a.tls.test", ca)))
        self.started(PostfixServer(self.workdir, "127.0.0.12", port, sink.port, "none"))
        self.started(PostfixServer(self.workdir, "127.0.0.13", port, sink.port, "encrypt",
                                 *make_leaf(self.workdir, "mx-c.tls.test")))
        broken = self.started(ScriptedPeer(host="127.0.0.14", port=port, broken_starttls=True))
        mx = {"opp-a": "mx-a", "none-a": "mx-a", "req-a": "mx-a", "ver-a": "mx-a",
              "opp-b": "mx-b", "req-b": "mx-b", "ver-alias": "alias", "opp-c": "mx-c",
              "ver-c": "mx-c", "opp-d": "mx-d", "sender": "mx-b"}
        records = [f"{d}.test. 300 IN MX 10 {h}.tls.test." for d, h in mx.items()]
        records += [f"{h}.tls.test. 300 IN A 127.0.0.{n}" for h, n in
                    (("mx-a", 11), ("alias", 11), ("mx-b", 12), ("mx-c", 13), ("mx-d", 14))]
        dns = self.started(DnsServer(self.workdir, records))
        policies = {"none-a": "none", "req-a": "required", "req-b": "required",
                    "ver-a": "verify", "ver-alias": "verify", "ver-c": "verify"}
        outpost = self.started(Outpost(OUTPOST, self.workdir, 0, {
            "log": {"level": '"debug"',
                    "delivery_log": f'"{os.path.join(self.workdir, "delivery.jsonl")}"'},
            "dns": {"servers": f'["127.0.0.1:{dns.port}"]', "timeout": '"500ms"'},
            "delivery": {"relay": '""', "remote_port": str(port), "connections_max": "1",
                         "messages_per_connection_max": "2", "tls_ca_file": f'"{ca[0]}"'},
            "delivery.tls_policy": {f'"{d}.test"': f'"{p}"' for d, p in policies.items()},
            "queue": {"retry_initial": '"1h"', "retry_max_delay": '"1h"'},
        }))
        outpost.start()
        sender = "news@sender.test"
        counts = {"opp-a": 6}
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            for domain in mx:
                if domain == "sender":
                    continue
                for i in range(counts.get(domain, 1)):
                    client.send_message(message(i, domain), sender, [f"u{i}@{domain}.test"])

        delivered = {"opp-a": 6, "none-a": 1, "req-a": 1, "ver-a": 1, "opp-b": 1, "opp-c": 1}
        wanted = {f"<{d}-{i}@outpost.test>" for d, n in delivered.items() for i in range(n)}
        try:
            wait_until(lambda: sink.message_ids() >= wanted, 60, 0.2, "deliveries via Postfix")
            wait_until(lambda: len(broken.received()) == 1, 30, 0.1, "the plaintext retry")
            wait_until(lambda: "deferred 3" in outpost.admin("summary"), 30, 0.2, "deferrals")
        except AssertionError:
            print(outpost.output()[-4000:], file=sys.stderr)
            raise
        # Postfix's Received header says whether the hop used TLS.
        tls_used = {}
        for path in sink.files():
            with open(path, "rb") as f:
                text = f.read().decode(errors="replace")
            found = re.search(r"^Message-ID:\s*<([a-z-]+)-\d+@", text, re.M | re.I)
            received = text.split("\nMessage-ID", 1)[0]
            if found:
                tls_used.setdefault(found.group(1), set()).add("using TLS" in received)
        self.assertEqual(tls_used, {"opp-a": {True}, "none-a": {False}, "req-a": {True},
                                    "ver-a": {True}, "opp-b": {False}, "opp-c": {True}})

        # Failed policies wait with a reason that says why.
        def reason(domain):
            listed = outpost.admin("list", "--destination", f"{domain}.test")
            return outpost.admin("show", listed.split(".")[0])
        self.assertRegex(reason("req-b"), r"4\.7\.10 .*STARTTLS is not offered")
        self.assertRegex(reason("ver-alias"), r"4\.7\.5 .*(name|mismatch)")
        self.assertRegex(reason("ver-c"), r"4\.7\.5 .*(verify|self.signed)")

        # The broken receiver: one STARTTLS, then the same address again in plaintext.
        self.assertEqual(broken.starttls_seen, 1)
        self.assertEqual(broken.connections, 2)

        # What the delivery records say: verified for verify, and 6 messages to opp-a at two per
        # connection make three connections, the later ones resuming the first one's session.
        log = outpost.output()
        self.assertRegex(log, r"<u0@ver-a\.test>: 250 .*\[tls TLSv1\.[23] \S+ verified")
        self.assertRegex(log, r"<u0@opp-c\.test>: 250 .*\[tls TLSv1\.[23] \S+ unverified")
        opp_a = re.findall(r"<u\d@opp-a\.test>: 250 .*\[tls ([^\]]*)\]", log)
        self.assertEqual(len(opp_a), 6, opp_a)
        self.assertGreaterEqual(sum("resumed" in t for t in opp_a), 2, opp_a)
        self.assertEqual(outpost.stop(), 0)

        # The JSON delivery log says the same per recipient: MX host, address, TLS.
        with open(os.path.join(self.workdir, "delivery.jsonl")) as f:
            lines = {(l["recipient"], l["event"]): l for l in map(json.loads, f)}
        ver = lines[("u0@ver-a.test", "delivered")]
        self.assertEqual(ver["mx_host"], "mx-a.tls.test")
        self.assertEqual(ver["address"], f"127.0.0.11:{port}")
        self.assertRegex(ver["tls"]["version"], r"^TLSv1\.[23]$")
        self.assertTrue(ver["tls"]["cipher"])
        self.assertTrue(ver["tls"]["verified"])
        self.assertEqual(ver["code"], 250)
        self.assertFalse(lines[("u0@opp-c.test", "delivered")]["tls"]["verified"])
        self.assertIsNone(lines[("u0@none-a.test", "delivered")]["tls"])
        resumed = [l["tls"]["resumed"] for (r, e), l in lines.items()
                   if r.endswith("@opp-a.test") and e == "delivered"]
        self.assertEqual(len(resumed), 6)
        self.assertGreaterEqual(sum(resumed), 2)
        self.assertEqual(lines[("u0@req-b.test", "deferred")]["enhanced_code"], "4.7.10")


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
