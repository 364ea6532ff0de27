"""`outpost dkim keygen/sign/verify` against three independent verifiers: dkimpy (python3-dkim,
key through its dnsfunc), OpenDKIM (`opendkim -t` with TestPublicKeys; its verdict is read from
the Authentication-Results header it prints in test mode) and Perl Mail::DKIM::Verifier (RSA
only: Debian's has no Ed25519; keys through an overridden Mail::DKIM::DNS::query).

A corpus of awkward messages is generated in a temp dir and each is signed with both
algorithms and three canonicalizations. Bare-LF input is normalized to CRLF by `outpost dkim
sign`, and a missing final CRLF is added (the message goes out over SMTP that way); the
verifiers check that output. (Without the final CRLF, Mail::DKIM's simple body
canonicalization disagrees with RFC 6376 §3.4.3 and dkimpy, and `opendkim -t` says "message
not signed"; dkim_test covers that case in the library.)"""
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

from dns_server import DnsServer
from harness import free_port, run_tests

OUTPOST = None  # set by run_tests from --outpost
SYSTEM_PYTHON = "/usr/bin/python3"  # python3-dkim lives in Debian's python, not a pyenv one
DOMAIN = "example.com"
CANONS = ["relaxed/relaxed", "simple/simple", "relaxed/simple"]
ALGORITHMS = ["rsa-sha256", "ed25519-sha256"]
SELECTOR = {"rsa-sha256": "rsa", "ed25519-sha256": "ed"}

# Verifies every DKIM-Signature of every file named on the command line; prints
# "FILE pass pass" / "FILE pass fail". argv[1] is a file of "NAME RECORD" lines.
DKIMPY_SCRIPT = r"""
import sys, dkim
records = {}
for line in open(sys.argv[1], "rb"):
    name, record = line.rstrip(b"\n").split(b" ", 1)
    records[name.lower() + b"."] = record
def dnsfunc(name, timeout=5):
    return records.get(name.lower())
for path in sys.argv[2:]:
    message = open(path, "rb").read()
    d = dkim.DKIM(message)
    count = len(re.findall(rb"(?im)^DKIM-Signature:", message.split(b"\r\n\r\n", 1)[0]))
    verdicts = []
    for idx in range(count):
        try:
            verdicts.append("pass" if d.verify(idx=idx, dnsfunc=dnsfunc) else "fail")
        except dkim.DKIMException:  # e.g. ValidationError("body hash mismatch")
            verdicts.append("fail")
        except Exception as e:
            verdicts.append("error:" + type(e).__name__)
    print(path, *verdicts, flush=True)
""".replace("import sys, dkim", "import re, sys, dkim")

PERL_SCRIPT = r"""
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;
use Net::DNS;
my %records;
open(my $keys, '<', shift @ARGV) or die;
while (my $line = <$keys>) {
    chomp $line;
    my ($name, $record) = split(/ /, $line, 2);
    $records{lc $name} = $record;
}
{
    no warnings 'redefine';
    *Mail::DKIM::DNS::query = sub {
        my ($name, $type) = @_;
        my $record = $records{lc $name};
        if (!defined $record) { $@ = 'NXDOMAIN'; return; }
        my @chunks = unpack('(a255)*', $record);
        return Net::DNS::RR->new(name => $name, type => 'TXT', txtdata => \@chunks);
    };
}
for my $path (@ARGV) {
    open(my $in, '<:raw', $path) or die;
    my $dkim = Mail::DKIM::Verifier->new();
    local $/ = \65536;
    while (my $chunk = <$in>) { $dkim->PRINT($chunk); }
    $dkim->CLOSE();
    my @verdicts = map { $_->result . (($_->result_detail // '') =~ /\((.*)\)/ ? ":$1" : '') }
                   $dkim->signatures;
    s/ /_/g for @verdicts;
    print join(' ', $path, @verdicts), "\n";
}
"""


def crlf(text):
    return text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def corpus():
    """name -> message bytes (CRLF unless the name says otherwise)."""
    base = [b"From: Sender <sender@example.com>", b"To: reader@example.net",
            b"Date: Mon, 13 Nov 2023 10:00:00 +0000",
            b"Message-ID: <%s@example.com>"]
    def msg(name, extra_headers, body, head=None):
        headers = head if head is not None else base
        lines = [h.replace(b"%s", name.encode()) for h in headers] + extra_headers
        return b"\r\n".join(lines) + b"\r\n\r\n" + body
    long_value = b" ".join(b"word%d" % i for i in range(400))
    messages = {
        "folded_long_headers": msg("folded_long_headers", [
            b"Subject: a subject that is folded\r\n over three\r\n\tlines",
            b"X-Long: " + long_value,
            b"References: <a@example.com>\r\n <b@example.com>\r\n <c@example.com>",
            b"To: second@example.net,\r\n    third@example.net"],
            b"Hello.\r\n"),
        "trailing_whitespace": msg("trailing_whitespace", [b"Subject: trailing   \t "],
                                   b"line with spaces   \r\nline with tab\t\r\n  \r\nend \r\n"),
        "tabs": msg("tabs", [b"Subject:\tTabbed\t\tsubject", b"X-Tab: \t a \t b"],
                    b"\tindented\r\ncol1\tcol2\t\tcol3\r\n"),
        "empty_body": msg("empty_body", [b"Subject: empty body"], b""),
        "blank_lines_body": msg("blank_lines_body", [b"Subject: blank lines"],
                                b"\r\n\r\n\r\n\r\n"),
        "no_final_crlf": msg("no_final_crlf", [b"Subject: no final CRLF"],
                             b"first line\r\nlast line without newline"),
        "bare_lf": msg("bare_lf", [b"Subject: bare LF"], b"one\r\ntwo\r\n\r\nthree\r\n")
                   .replace(b"\r\n", b"\n"),
        "eight_bit_headers": msg("eight_bit_headers", [
            "Subject: Caf\u00e9 \u2615 na\u00efve \u65e5\u672c\u8a9e".encode(),
            b"X-Latin1: caf\xe9",
            "Reply-To: J\u00f6rg <jorg@example.com>".encode()],
            "Gr\u00fc\u00dfe, \u4f60\u597d\r\n".encode()),
        "duplicate_headers": msg("duplicate_headers", [
            b"Subject: first subject", b"Received: from one", b"Received: from two",
            b"Comments: first", b"Comments: second", b"Cc: a@example.net",
            b"Cc: b@example.net"], b"body\r\n"),
        "mime_multipart": msg("mime_multipart", [
            b"Subject: multipart", b"MIME-Version: 1.0",
            b"Content-Type: multipart/alternative; boundary=\"b1\"",
            b"List-Unsubscribe: <https://example.com/u/1>",
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            b"Feedback-ID: c1:news:example"],
            b"--b1\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b1\r\n"
            b"Content-Type: text/html\r\n\r\n<p>html</p>\r\n--b1--\r\n"),
    }
    return messages


def opendkim_cannot_check(path):
    """Simple header canonicalization of a field not written "Name: value" (here
    "Subject:\tTabbed"): `opendkim -t` rebuilds each field milter-style as name + ": " + value,
    so it fails such signatures whoever made them (checked with dkimpy-signed copies; dkimpy,
    Mail::DKIM and ours verify them)."""
    name = os.path.basename(path)
    return name.startswith("tabs.") and ".simple-" in name


class DkimTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="outpost-dkim-")
        cls.keys = {}
        cls.records = {}
        for algorithm in ALGORITHMS:
            path = os.path.join(cls.dir, SELECTOR[algorithm] + ".pem")
            out = cls.run_outpost(["keygen", "--algorithm", algorithm, "--out", path])
            assert out.returncode == 0, out.stderr
            cls.keys[algorithm] = path
            cls.records[algorithm] = out.stdout.decode().strip()
        cls.keys_file = os.path.join(cls.dir, "keys.txt")
        with open(cls.keys_file, "w") as f:
            for algorithm in ALGORITHMS:
                f.write(f"{SELECTOR[algorithm]}._domainkey.{DOMAIN} {cls.records[algorithm]}\n")
        cls.opendkim_conf = os.path.join(cls.dir, "opendkim.conf")
        with open(cls.opendkim_conf, "w") as f:
            f.write(f"Mode v\nSyslog no\nAlwaysAddARHeader yes\nTestPublicKeys {cls.keys_file}\n")
        cls.dkimpy_script = os.path.join(cls.dir, "dkimpy_verify.py")
        with open(cls.dkimpy_script, "w") as f:
            f.write(DKIMPY_SCRIPT)
        cls.perl_script = os.path.join(cls.dir, "mail_dkim_verify.pl")
        with open(cls.perl_script, "w") as f:
            f.write(PERL_SCRIPT)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    @staticmethod
    def run_outpost(args, stdin=b""):
        return subprocess.run([OUTPOST, "dkim", *args], input=stdin, capture_output=True,
                              timeout=120)

    def sign(self, message, algorithm, canon, extra=()):
        out = self.run_outpost(["sign", "--domain", DOMAIN, "--selector", SELECTOR[algorithm],
                                "--key", self.keys[algorithm], "--canonicalization", canon,
                                *extra], message)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        return out.stdout

    def write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    # Each verifier returns {path: [verdict per signature]}.
    def ours(self, paths):
        verdicts = {}
        for path in paths:
            with open(path, "rb") as f:
                out = self.run_outpost(["verify", *self.key_args()], f.read())
            lines = out.stdout.decode().splitlines()
            verdicts[path] = [line.split()[0] if line.startswith("pass") else line
                              for line in lines]
            self.assertEqual(out.returncode, 0 if all(v == "pass" for v in verdicts[path]) else 1)
        return verdicts

    def key_args(self):
        args = []
        for algorithm in ALGORITHMS:
            args += ["--key-record-for",
                     f"{SELECTOR[algorithm]}._domainkey.{DOMAIN}={self.records[algorithm]}"]
        return args

    def dkimpy(self, paths):
        out = subprocess.run([SYSTEM_PYTHON, self.dkimpy_script, self.keys_file, *paths],
                             capture_output=True, text=True, timeout=300)
        self.assertEqual(out.returncode, 0, out.stderr)
        return {line.split()[0]: line.split()[1:] for line in out.stdout.splitlines()}

    def mail_dkim(self, paths):
        out = subprocess.run(["perl", self.perl_script, self.keys_file, *paths],
                             capture_output=True, text=True, timeout=300)
        self.assertEqual(out.returncode, 0, out.stderr)
        return {line.split()[0]: line.split()[1:] for line in out.stdout.splitlines()}

    def opendkim(self, paths):
        """OpenDKIM exits 0 even when a signature fails; in test mode it prints the
        Authentication-Results header it would add, one dkim=RESULT per signature."""
        verdicts = {}
        for path in paths:
            out = subprocess.run(["opendkim", "-vvv", "-x", self.opendkim_conf, "-t", path],
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            header = re.search(r"hname='Authentication-Results' hvalue='([^']*)'",
                               out.stdout + out.stderr)
            self.assertIsNotNone(header, out.stdout + out.stderr)
            verdicts[path] = re.findall(r"\bdkim=(\w+)", header.group(1))
        return verdicts

    def assert_all(self, verdicts, want, count, verifier):
        for path, got in verdicts.items():
            self.assertEqual(got, [want] * count,
                             f"{verifier} on {os.path.basename(path)}")

    def test_keygen_writes_private_key_0600_and_prints_record(self):
        for algorithm, prefix in (("rsa-sha256", "v=DKIM1; k=rsa; p=MII"),
                                  ("ed25519-sha256", "v=DKIM1; k=ed25519; p=")):
            self.assertTrue(self.records[algorithm].startswith(prefix), self.records[algorithm])
            mode = stat.S_IMODE(os.stat(self.keys[algorithm]).st_mode)
            self.assertEqual(mode, 0o600)
            with open(self.keys[algorithm]) as f:
                self.assertIn("-----BEGIN PRIVATE KEY-----", f.read())
        out = self.run_outpost(["keygen", "--algorithm", "rsa-sha256", "--bits", "1024",
                                "--out", os.path.join(self.dir, "small.pem")])
        self.assertEqual(out.returncode, 0, out.stderr)
        out = self.run_outpost(["keygen", "--algorithm", "rsa-sha256", "--bits", "512",
                                "--out", os.path.join(self.dir, "tiny.pem")])
        self.assertEqual(out.returncode, 2)

    def test_corpus_verifies_everywhere(self):
        paths, rsa_paths = [], []
        for name, message in corpus().items():
            for algorithm in ALGORITHMS:
                for canon in CANONS:
                    signed = self.sign(message, algorithm, canon, ["--expire-after", "86400"])
                    self.assertNotIn(b"\n", signed.replace(b"\r\n", b""), name)  # all CRLF
                    self.assertTrue(signed.endswith(b"\r\n") or name == "empty_body", name)
                    self.assertEqual(signed.split(b"\r\n", 1)[0][:15], b"DKIM-Signature:")
                    path = self.write(f"{name}.{SELECTOR[algorithm]}.{canon.replace('/', '-')}"
                                      ".eml", signed)
                    paths.append(path)
                    if algorithm == "rsa-sha256":
                        rsa_paths.append(path)
        self.assertEqual(len(paths), len(corpus()) * 6)
        self.assert_all(self.ours(paths), "pass", 1, "outpost")
        self.assert_all(self.dkimpy(paths), "pass", 1, "dkimpy")
        self.assert_all(self.opendkim([p for p in paths if not opendkim_cannot_check(p)]),
                        "pass", 1, "opendkim")
        self.assert_all(self.mail_dkim(rsa_paths), "pass", 1, "Mail::DKIM")

    def test_ten_mib_body(self):
        line = b"0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ  \t\r\n"
        body = line * (10 * 1024 * 1024 // len(line) + 1)
        message = crlf(b"From: big@example.com\nSubject: big\nTo: r@example.net\n\n") + body
        ed = self.write("big.ed.eml", self.sign(message, "ed25519-sha256", "relaxed/relaxed"))
        rsa = self.write("big.rsa.eml", self.sign(message, "rsa-sha256", "simple/simple"))
        self.assert_all(self.ours([ed, rsa]), "pass", 1, "outpost")
        self.assert_all(self.dkimpy([ed]), "pass", 1, "dkimpy")
        self.assert_all(self.opendkim([rsa]), "pass", 1, "opendkim")
        self.assert_all(self.mail_dkim([rsa]), "pass", 1, "Mail::DKIM")

    def test_two_signatures_on_one_message(self):
        message = corpus()["mime_multipart"]
        once = self.sign(message, "ed25519-sha256", "relaxed/relaxed")
        twice = self.write("two.eml", self.sign(once, "rsa-sha256", "simple/simple"))
        self.assert_all(self.ours([twice]), "pass", 2, "outpost")
        self.assert_all(self.dkimpy([twice]), "pass", 2, "dkimpy")
        self.assert_all(self.opendkim([twice]), "pass", 2, "opendkim")
        rsa_on_top, ed_below = self.mail_dkim([twice])[twice]
        self.assertEqual(rsa_on_top, "pass")
        self.assertTrue(ed_below.startswith("invalid:unsupported"), ed_below)  # Debian's has no Ed25519

    def test_tampered_messages_fail(self):
        message = corpus()["duplicate_headers"]
        cases = {
            "body": lambda m: m.replace(b"\r\nbody\r\n", b"\r\nbodY\r\n"),
            "signed_header": lambda m: m.replace(b"Subject: first subject",
                                                 b"Subject: first subjecT"),
            "header_added_above": lambda m: b"From: evil@evil.example\r\n" + m,
        }
        for algorithm in ALGORITHMS:
            for canon in ("relaxed/relaxed", "simple/simple"):
                signed = self.sign(message, algorithm, canon)
                paths = []
                for name, tamper in cases.items():
                    tampered = tamper(signed)
                    self.assertNotEqual(tampered, signed)
                    paths.append(self.write(f"tampered.{name}.{SELECTOR[algorithm]}."
                                            f"{canon.replace('/', '-')}.eml", tampered))
                ours = self.ours(paths)
                for path in paths:
                    self.assertTrue(ours[path][0].startswith("fail "), ours[path])
                    want = "body hash mismatch" if ".body." in path else "signature mismatch"
                    self.assertIn(want, ours[path][0])
                self.assert_all(self.dkimpy(paths), "fail", 1, "dkimpy")
                self.assert_all(self.opendkim(paths), "fail", 1, "opendkim")

    def test_verify_fetches_keys_from_dns(self):
        def txt(value):  # a zone-file TXT value, in strings of at most 255 bytes
            return " ".join(f'"{value[i:i + 200]}"' for i in range(0, len(value), 200))
        server = DnsServer(self.dir, [
            f"{SELECTOR[a]}._domainkey.{DOMAIN}. 300 IN TXT {txt(self.records[a])}"
            for a in ALGORITHMS])
        try:
            message = corpus()["folded_long_headers"]
            signed = self.sign(self.sign(message, "rsa-sha256", "relaxed/relaxed"),
                               "ed25519-sha256", "simple/simple")
            dns = ["--dns-server", f"127.0.0.1:{server.port}"]
            out = self.run_outpost(["verify", *dns], signed)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            self.assertEqual(sorted(out.stdout.decode().split()[::4]), ["pass", "pass"])
            out = self.run_outpost(["verify", *dns], signed.replace(b"\r\n\r\n", b"\r\n\r\nX", 1))
            self.assertEqual(out.returncode, 1)
            self.assertEqual(server.query_count(f"rsa._domainkey.{DOMAIN}", "TXT"), 2)
        finally:
            server.stop()

    def test_verify_command_contract(self):
        signed = self.sign(corpus()["tabs"], "ed25519-sha256", "relaxed/relaxed")
        out = self.run_outpost(["verify", "--key-record", self.records["ed25519-sha256"]],
                               signed)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.decode(),
                         f"pass d={DOMAIN} s=ed a=ed25519-sha256\n")
        # No record given and no DNS answer (a loopback port nobody serves): the key is missing.
        out = self.run_outpost(["verify", "--dns-server", f"127.0.0.1:{free_port()}"], signed)
        self.assertEqual(out.returncode, 1)
        self.assertIn("fail d=example.com s=ed a=ed25519-sha256 reason: no key (", out.stdout.decode())
        self.assertIn("ed._domainkey.example.com", out.stdout.decode())
        out = self.run_outpost(["verify", "--key-record", self.records["rsa-sha256"]], signed)
        self.assertEqual(out.returncode, 1)
        out = self.run_outpost(["verify", "--key-record", self.records["ed25519-sha256"]],
                               corpus()["tabs"])
        self.assertEqual(out.returncode, 1)  # no signature at all
        expiring = self.sign(corpus()["tabs"], "ed25519-sha256", "relaxed/relaxed",
                             ["--timestamp", "1700000000", "--expire-after", "60"])
        self.assertIn(b"t=1700000000;", expiring)
        self.assertIn(b"x=1700000060;", expiring)
        for duration, seconds in [("90s", 90), ("2h", 7200), ("1d", 86400)]:  # 60s-style too
            signed = self.sign(corpus()["tabs"], "ed25519-sha256", "relaxed/relaxed",
                               ["--timestamp", "1700000000", "--expire-after", duration])
            self.assertIn(b"x=%d;" % (1700000000 + seconds), signed)
        out = self.run_outpost(["verify", "--key-record", self.records["ed25519-sha256"]],
                               expiring)
        self.assertEqual(out.returncode, 1)
        self.assertIn("signature expired", out.stdout.decode())

    def test_usage_errors_exit_2(self):
        message = corpus()["tabs"]
        cases = [
            ["sign", "--domain", DOMAIN, "--selector", "ed"],
            ["sign", "--domain", DOMAIN, "--selector", "ed", "--key", "/nonexistent/key.pem"],
            ["sign", "--domain", DOMAIN, "--selector", "ed", "--key",
             self.keys["ed25519-sha256"], "--algorithm", "rsa-sha256"],
            ["sign", "--domain", DOMAIN, "--selector", "ed", "--key",
             self.keys["ed25519-sha256"], "--canonicalization", "loose/relaxed"],
            ["keygen", "--algorithm", "rsa-sha1", "--out", os.path.join(self.dir, "x.pem")],
            ["verify", "--bogus", "x"],
            ["frobnicate"],
        ]
        for args in cases:
            out = self.run_outpost(args, message)
            self.assertEqual(out.returncode, 2, args)
            self.assertTrue(out.stderr, args)
        for sub in ("keygen", "sign", "verify"):
            out = self.run_outpost([sub, "--help"])
            self.assertEqual(out.returncode, 0)
            self.assertIn(b"Usage: outpost dkim " + sub.encode(), out.stdout)

    def test_default_headers_oversign_from_and_custom_list(self):
        signed = self.sign(corpus()["mime_multipart"], "ed25519-sha256", "relaxed/relaxed")
        field = signed.split(b"\r\n\r\n")[0].decode()
        h = re.search(r"h=([^;]*);", field).group(1).replace("\r\n", "").replace(" ", "")
        self.assertEqual(h.split(":").count("from"), 2)
        for name in ("subject", "list-unsubscribe", "list-unsubscribe-post", "feedback-id",
                     "mime-version", "content-type", "message-id", "date", "to"):
            self.assertIn(name, h.split(":"))
        signed = self.sign(corpus()["mime_multipart"], "ed25519-sha256", "relaxed/relaxed",
                           ["--headers", "From:Subject"])
        h = re.search(r"h=([^;]*);", signed.decode("latin-1")).group(1)
        self.assertEqual(h, "from:from:subject")
        path = self.write("custom_headers.eml", signed)
        self.assert_all(self.dkimpy([path]), "pass", 1, "dkimpy")


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
