"""`outpost dns mx` against a real unbound on loopback (dns_server.DnsServer) serving this
test's zone: MX order and the random order among equal preferences, addresses in dialling
order (IPv4 first, or IPv6 with --prefer-ipv6), implicit MX, null MX (5.1.10), NXDOMAIN (5.1.2,
negative TTL from the SOA), NODATA (5.4.4), CNAME chains, an MX host without addresses, a
refused zone and a server that never answers (4.4.3), text and JSON output, usage errors."""
import json
import socket
import subprocess
import sys
import tempfile
import unittest

from dns_server import DnsServer
from harness import run_tests

OUTPOST = None  # set by run_tests from --outpost

RECORDS = [
    "order.test. 300 IN MX 20 backup.order.test.",
    "order.test. 300 IN MX 10 a.order.test.",
    "order.test. 300 IN MX 10 b.order.test.",
    "a.order.test. 600 IN A 127.0.0.11",
    "b.order.test. 600 IN A 127.0.0.12",
    "backup.order.test. 120 IN A 127.0.0.13",
    "backup.order.test. 120 IN AAAA 2001:db8::13",
    "implicit.test. 240 IN A 127.0.0.20",
    "nullmx.test. 3600 IN MX 0 .",
    'nodata.test. 300 IN TXT "no mail"',
    "skip.test. 300 IN MX 10 dead.skip.test.",
    "skip.test. 300 IN MX 20 live.skip.test.",
    "live.skip.test. 300 IN A 127.0.0.30",
    "cname.test. 300 IN CNAME target.test.",
    "target.test. 300 IN MX 10 mx.target.test.",
    "mx.target.test. 300 IN CNAME host.target.test.",
    "host.target.test. 90 IN A 127.0.0.40",
]


class DnsCommandTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.server = DnsServer(cls.tmp.name, RECORDS, refuse=["refused.test"], negative_ttl=60)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.tmp.cleanup()

    def outpost(self, *args, server=None):
        command = [OUTPOST, "dns", *args]
        if server is not False:
            command += ["--server", server or self.server.address]
        return subprocess.run(command, capture_output=True, text=True, timeout=30)

    def mx(self, domain, *args, server=None):
        result = self.outpost("mx", domain, "--json", *args, server=server)
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def test_decisions(self):
        cases = [
            # domain, decision, status, hosts (equal preferences sorted), ttl
            ("order.test", "deliver", "", ["a.order.test", "b.order.test", "backup.order.test"],
             120),
            ("implicit.test", "deliver", "", ["implicit.test"], 60),
            ("nullmx.test", "bounce", "5.1.10", [], 3600),
            ("missing.test", "bounce", "5.1.2", [], 60),
            ("nodata.test", "bounce", "5.4.4", [], 60),
            ("skip.test", "deliver", "", ["live.skip.test"], 60),
            ("cname.test", "deliver", "", ["mx.target.test"], 90),
            ("refused.test", "defer", "4.4.3", [], 30),
        ]
        for domain, decision, status, hosts, ttl in cases:
            with self.subTest(domain=domain):
                got = self.mx(domain)
                self.assertEqual(got["domain"], domain)
                self.assertEqual(got["decision"], decision, got["reason"])
                self.assertEqual(got["status"], status)
                names = [h["name"] for h in got["hosts"]]
                if len(names) >= 2:
                    names[:2] = sorted(names[:2])
                self.assertEqual(names, hosts)
                self.assertEqual(got["ttl"], ttl)
                if decision != "deliver":
                    self.assertTrue(got["reason"])

    def test_addresses_in_dialling_order(self):
        got = self.mx("order.test")
        backup = got["hosts"][2]
        self.assertEqual(backup["preference"], 20)
        self.assertEqual(backup["addresses"], ["127.0.0.13", "2001:db8::13"])
        got = self.mx("order.test", "--prefer-ipv6")
        self.assertEqual(got["hosts"][2]["addresses"], ["2001:db8::13", "127.0.0.13"])
        self.assertEqual(self.mx("cname.test")["hosts"][0]["addresses"], ["127.0.0.40"])

    def test_equal_preferences_are_shuffled(self):
        firsts = {self.mx("order.test")["hosts"][0]["name"] for _ in range(20)}
        self.assertEqual(firsts, {"a.order.test", "b.order.test"})

    def test_text_output(self):
        result = self.outpost("mx", "order.test")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(lines[0], "order.test: deliver (ttl 120s) pool "
                                   "mx:a.order.test,b.order.test,backup.order.test")
        self.assertEqual(lines[3].split(), ["20", "backup.order.test", "127.0.0.13",
                                            "2001:db8::13"])
        result = self.outpost("mx", "NullMX.Test.")
        self.assertRegex(result.stdout, r"^nullmx.test: bounce 5.1.10 \(ttl 3600s\): .*null MX")

    def test_one_query_per_lookup(self):
        before = self.server.query_count("implicit.test", "MX")
        self.mx("implicit.test")
        self.assertEqual(self.server.query_count("implicit.test", "MX"), before + 1)

    def test_server_that_never_answers_defers(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
            silent.bind(("127.0.0.1", 0))
            address = "127.0.0.1:%d" % silent.getsockname()[1]
            # 60s-style like every other duration; a bare number is milliseconds, as it was.
            for timeout in ("200ms", "200"):
                got = self.mx("order.test", "--timeout", timeout, server=address)
                self.assertEqual(got["decision"], "defer")
                self.assertEqual(got["status"], "4.4.3")
                self.assertIn("timeout", got["reason"])

    def test_usage_errors(self):
        for args in (["lookup", "x.test"], ["mx"], ["mx", "x.test", "--bogus"],
                     ["mx", "x.test", "--timeout", "soon"], ["mx", "x.test", "--timeout", "2x"],
                     ["mx", "x.test", "--timeout", "0s"], ["mx", "x.test", "--timeout", "61s"]):
            with self.subTest(args=args):
                result = self.outpost(*args, server=False)
                self.assertEqual(result.returncode, 2)
                self.assertIn("Usage: outpost dns", result.stderr)
        result = self.outpost("mx", "x.test", server="not-an-ip")
        self.assertEqual(result.returncode, 2)
        self.assertIn("bad DNS server address", result.stderr)
        self.assertEqual(self.mx("implicit.test", "--timeout", "2s")["decision"], "deliver")
        self.assertEqual(self.outpost("--help", server=False).returncode, 0)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
