#!/usr/bin/env python3
"""Broken configurations against the real binary: `outpost run --check-config` and `outpost run`
must refuse each one alike, by the same check, before the spool is opened or a socket bound.

For every case of CASES (unknown keys and sections with their suggestion, wrong types,
out-of-range values, bad durations, bad listen addresses, unreadable or unparseable key,
certificate and rules files, non-table [[...]] entries, TOML syntax errors, ...):
  - both exit with code 2 (the documented exit code of a refused configuration);
  - both print the same stderr, log time stamps aside;
  - the message holds FILE:LINE and the key the case is about;
  - `run` created no spool (it stopped before opening anything; the listeners open later).
A valid configuration passes both (`config ok`; `run` keeps running until SIGTERM), so the
comparison can fail. Also: `run --config` without a file and `outpost --version`.
Needs: openssl (certificates). Run as: config_errors_test.py --outpost PATH."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import run_tests

OUTPOST = None
CONFIG_ERROR = 2  # app/config.h exit_config_error, documented in `outpost run --help`
RUN_TIMEOUT = 30  # seconds a refused `run` may take; it should exit at once

# Sections every case's file gets unless the case writes its own: the spool in the case's
# directory and listeners on port 0, so a `run` that wrongly starts binds nothing fixed.
BASE = {
    "spool": 'path = "{dir}/spool"',
    "submission": 'listen = ["127.0.0.1:0"]',
    "http": 'listen = ["127.0.0.1:0"]',
}

LISTEN = 'listen = ["127.0.0.1:0"]'

# name, TOML text (first in the file, so its lines are the file's), the line and key the
# message must name (key None: a syntax error in a table header, which names the line only),
# a text the message must hold, and files to write into the case's directory ({dir} is that
# directory; every case also has a valid cert.pem, key.pem, other-key.pem and a.pem, a DKIM
# key).
CASES = [
    ("unknown key", '[log]\nlevle = "debug"\n', 2, "log.levle",
     "unknown key (did you mean log.level?)", {}),
    ("unknown key in a listener section", f'[submission]\n{LISTEN}\nlsten = ["x"]\n', 3,
     "submission.lsten", "did you mean submission.listen?", {}),
    ("unknown section", '[deliverry]\nrelay = ""\n', 1, "deliverry",
     "unknown section (did you mean [delivery]?)", {}),
    ("unknown array section", '[[dkm]]\ndomain = "example.com"\n', 1, "dkm",
     "did you mean [[dkim]]?", {}),
    ("integer given a string", '[node]\nshards = "two"\n', 2, "node.shards",
     "must be an integer from 0 to 256, not a string", {}),
    ("integer out of range", '[delivery]\n\nconnections_max = 0\n', 3,
     "delivery.connections_max", "not 0", {}),
    ("boolean given a string", f'[submission]\n{LISTEN}\nstarttls = "yes"\n', 3,
     "submission.starttls", "must be true or false, not a string", {}),
    ("number out of range", '[queue]\nretry_jitter = 2\n', 2, "queue.retry_jitter",
     "must be a number from 0 to 0.9, not 2", {}),
    ("bad duration", '[delivery]\nconnect_timeout = "5 parsecs"\n', 2,
     "delivery.connect_timeout", "5 parsecs", {}),
    ("duration given a boolean", '[queue]\nmax_age = true\n', 2, "queue.max_age",
     "must be a duration such as", {}),
    ("list of strings given numbers", f'[submission]\n{LISTEN}\nauth = [1]\n', 3,
     "submission.auth", "must be a list of strings", {}),
    ("log level", '[log]\nlevel = "loud"\n', 2, "log.level", "not \"loud\"", {}),
    ("listen address by name", '[submission]\nlisten = ["localhost:2525"]\n', 2,
     "submission.listen", "\"localhost:2525\" is not a numeric address", {}),
    ("listen address without port", '[http]\n\nlisten = ["127.0.0.1"]\n', 3, "http.listen",
     "is not a numeric address", {}),
    ("trusted network", f'[submission]\n{LISTEN}\ntrusted_networks = ["10.0.0.0/33"]\n', 3,
     "submission.trusted_networks", "10.0.0.0/33", {}),
    ("unreadable dkim key file",
     '[[dkim]]\ndomain = "example.com"\nselector = "s1"\nkey = "{dir}/missing.pem"\n', 4,
     "dkim[0].key", "cannot open {dir}/missing.pem", {}),
    ("dkim key not PEM",
     '[[dkim]]\ndomain = "a.example"\nselector = "s"\nkey = "{dir}/a.pem"\n'
     '[[dkim]]\ndomain = "b.example"\nselector = "s"\nkey = "{dir}/b.pem"\n', 8,
     "dkim[1].key", "s._domainkey.b.example", {"b.pem": "not a key\n"}),
    ("bad PEM certificate",
     '[tls]\ncertificate = "{dir}/cert.pem"\nkey = "{dir}/key.pem"\n', 2, "tls.certificate",
     "{dir}/cert.pem", {"cert.pem": "-----BEGIN CERTIFICATE-----\nnonsense\n"
                                    "-----END CERTIFICATE-----\n"}),
    ("key of another certificate",
     '[tls]\ncertificate = "{dir}/cert.pem"\nkey = "{dir}/other-key.pem"\n', 3, "tls.key",
     "mismatch", {}),
    ("certificate without key", '[tls]\ncertificate = "{dir}/cert.pem"\n', 2, "tls.certificate",
     "needs tls.key too", {}),
    ("unparseable bounce rules", '[bounce]\nrules = "{dir}/bounce.rules"\n', 2, "bounce.rules",
     "{dir}/bounce.rules", {"bounce.rules": "this is not a rule\n"}),
    ("missing bounce rules file", '[bounce]\nrules = "{dir}/none.rules"\n', 2, "bounce.rules",
     "No such file or directory", {}),
    ("unparseable response rules", '[delivery]\nresponse_rules = "{dir}/response.rules"\n', 2,
     "delivery.response_rules", "{dir}/response.rules",
     {"response.rules": "suspend when the moon is full\n"}),
    ("unreadable CA file", '[delivery]\ntls_ca_file = "{dir}/ca.pem"\n', 2,
     "delivery.tls_ca_file", "{dir}/ca.pem", {"ca.pem": "garbage\n"}),
    ("DNS server not an address", '[dns]\nservers = ["dns.example"]\n', 2, "dns.servers",
     "dns.example", {}),
    ("[delivery] source not an array of tables", '[delivery]\nsource = 1\n', 2,
     "delivery.source", "must be an array of tables, [[delivery.source]], not an integer", {}),
    ("[http] api_key not an array of tables", f'[http]\n{LISTEN}\napi_key = 1\n', 3,
     "http.api_key", "must be an array of tables, [[http.api_key]]", {}),
    ("non-table [[...]] entry", '[delivery]\nsource = [1]\n', 2, "delivery.source[0]",
     "must be a table", {}),
    ("top-level array of values", 'dkim = ["k"]\n', 1, "dkim[0]", "must be a table", {}),
    ("section that is not a table", 'queue = 1\n', 1, "queue", "must be a table", {}),
    ("incomplete [[submission.user]]",
     f'[submission]\n{LISTEN}\n[[submission.user]]\nname = "app"\n', 3, "submission.user[0]",
     "needs a name and a crypt(3) password_hash", {}),
    ("smarthost port out of range", '[delivery]\n\nrelay = "smtp.example.net:99999"\n', 3,
     "delivery.relay", "has no valid port", {}),
    ("smarthost AUTH without a password", '[delivery]\nrelay = "a.example"\nrelay_user = "u"\n',
     3, "delivery.relay_user", "needs a password too", {}),
    ("world-readable smarthost password file",
     '[delivery]\nrelay = "[a.example]:587"\nrelay_user = "u"\n'
     'relay_password_file = "{dir}/secret"\n', 4, "delivery.relay_password_file",
     "readable by every user", {"secret": "s3cret\n"}),
    ("route without a relay", '[[route]]\ndomain = "corp.example"\n', 1, "route[0]",
     "needs relay", {}),
    ("route with a bad TLS policy",
     '[[route]]\ndomain = "corp.example"\nrelay = "10.0.0.5:25"\ntls = "maybe"\n', 4,
     "route[0].tls", "must be", {}),
    ("duplicate key", '[log]\nlevel = "info"\nlevel = "debug"\n', 3, "log.level",
     "TOML syntax error in key-value pair at column 9: cannot redefine existing string 'level'",
     {}),
    ("TOML syntax error", '[log]\nlevel = info\n', 2, "log.level", "TOML syntax error", {}),
    ("TOML syntax error in a table header", '[log\nlevel = "info"\n', 1, None,
     "TOML syntax error in table header", {}),
]

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z ", re.M)


def openssl_pair(dir, name):
    """A self-signed EC certificate and its key: dir/NAME-cert.pem, dir/NAME-key.pem."""
    cert, key = os.path.join(dir, f"{name}-cert.pem"), os.path.join(dir, f"{name}-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-subj", "/CN=outpost.test", "-days", "2"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def sections_of(text):
    """The top-level names a TOML text defines ([name], [[name]], [name.x] or name = ...)."""
    names = set()
    for line in text.splitlines():
        found = re.match(r"^\s*\[\[?\s*([A-Za-z0-9_-]+)", line) or \
            re.match(r"^([A-Za-z0-9_-]+)\s*=", line)
        if found:
            names.add(found.group(1))
    return names


class ConfigErrorsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="outpost-config-errors-")
        cls.pairs = {name: openssl_pair(cls.tmp, name) for name in ("good", "other")}
        cls.dkim_key = os.path.join(cls.tmp, "dkim.pem")
        subprocess.run([OUTPOST, "dkim", "keygen", "--algorithm", "ed25519-sha256", "--out",
                        cls.dkim_key], check=True, capture_output=True, timeout=60)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def write_case(self, name, text, files):
        """The case's directory and config file: TEXT first, then BASE's sections it lacks."""
        dir = os.path.join(self.tmp, re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-"))
        os.makedirs(dir)
        for file, content in files.items():
            with open(os.path.join(dir, file), "w") as f:
                f.write(content.format(dir=dir))
        good_cert, good_key = self.pairs["good"]
        _, other_key = self.pairs["other"]
        for target, source in (("cert.pem", good_cert), ("key.pem", good_key),
                               ("other-key.pem", other_key), ("a.pem", self.dkim_key)):
            if not os.path.exists(os.path.join(dir, target)):
                shutil.copy(source, os.path.join(dir, target))
        own = sections_of(text)
        body = text.format(dir=dir)
        for section, value in BASE.items():
            if section not in own:
                body += f"\n[{section}]\n{value.format(dir=dir)}\n"
        path = os.path.join(dir, "outpost.toml")
        with open(path, "w") as f:
            f.write(body)
        return dir, path

    def outpost(self, args, cwd):
        """(exit code, stdout, stderr without time stamps) of an `outpost` that must exit."""
        proc = subprocess.Popen([OUTPOST, *args], cwd=cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            out, err = proc.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate()
            self.fail(f"outpost {' '.join(args)} did not exit within {RUN_TIMEOUT}s")
        return proc.returncode, out, STAMP.sub("", err)

    def test_broken_configs_fail_alike(self):
        self.assertGreaterEqual(len(CASES), 20)
        for name, text, line, key, want, files in CASES:
            with self.subTest(name):
                dir, path = self.write_case(name, text, files)
                checked = self.outpost(["run", "--check-config", "--config", path], dir)
                ran = self.outpost(["run", "--config", path], dir)
                self.assertEqual(checked[0], CONFIG_ERROR, checked)
                self.assertEqual(ran[0], CONFIG_ERROR, ran)
                self.assertEqual(checked[1], "", "nothing on stdout when refused")
                self.assertEqual(ran[2], checked[2], "run and --check-config print alike")
                message = checked[2]
                self.assertIn(f"outpost: {path}:{line}: ", message)
                if key is not None:
                    self.assertIn(f"{path}:{line}: {key}: ", message)
                self.assertIn(want.format(dir=dir), message)
                self.assertFalse(os.path.exists(os.path.join(dir, "spool")),
                                 "run opened the spool of a refused configuration")

    def test_valid_config_passes_both(self):
        """The control: with the files of the cases valid, both accept and run keeps running."""
        text = ('[tls]\ncertificate = "{dir}/cert.pem"\nkey = "{dir}/key.pem"\n'
                '[log]\nlevel = "info"\ndelivery_log = "{dir}/delivery.jsonl"\n'
                '[delivery]\nrelay = "127.0.0.1:2500"\n'
                '[[dkim]]\ndomain = "example.com"\nselector = "s1"\nkey = "{dir}/a.pem"\n')
        dir, path = self.write_case("valid", text, {})
        checked = self.outpost(["run", "--check-config", "--config", path], dir)
        self.assertEqual(checked[0], 0, checked)
        self.assertEqual(checked[1].strip(), "config ok")
        self.assertFalse(os.path.exists(os.path.join(dir, "spool")), "--check-config made a spool")
        proc = subprocess.Popen([OUTPOST, "run", "--config", path], cwd=dir,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + RUN_TIMEOUT
            while time.monotonic() < deadline and proc.poll() is None and \
                    not os.path.exists(os.path.join(dir, "spool")):
                time.sleep(0.05)
            self.assertIsNone(proc.poll(), "run exited on a valid configuration")
            self.assertTrue(os.path.exists(os.path.join(dir, "spool")))
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.communicate(timeout=RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.communicate()
        self.assertEqual(proc.returncode, 0)


class CommandLineTest(unittest.TestCase):
    def run_outpost(self, *args):
        return subprocess.run([OUTPOST, *args], capture_output=True, text=True, timeout=60)

    def test_config_without_a_file(self):
        for args in (["run", "--config"], ["run", "--config", "--check-config"]):
            out = self.run_outpost(*args)
            self.assertEqual(out.returncode, CONFIG_ERROR, args)
            self.assertEqual(out.stderr.strip(), "outpost run: --config needs a file", args)

    def test_unreadable_config_file(self):
        out = self.run_outpost("run", "--check-config", "--config", "/nonexistent/outpost.toml")
        self.assertEqual(out.returncode, CONFIG_ERROR)
        self.assertEqual(out.stderr.strip(), "outpost: cannot read config file "
                         "/nonexistent/outpost.toml: No such file or directory")

    def test_version(self):
        for args in (["--version"], ["version"]):
            out = self.run_outpost(*args)
            self.assertEqual(out.returncode, 0, out.stderr)
            lines = out.stdout.splitlines()
            self.assertRegex(lines[0], r"^outpost \d+\.\d+\.\d+$")
            fields = dict(line.split(": ", 1) for line in lines[1:])
            self.assertEqual(set(fields), {"revision", "build", "tls"})
            self.assertRegex(fields["revision"], r"^([0-9a-f]{7,40}(-dirty)?|unknown|\S+)$")
            self.assertIn(fields["build"],
                          {"Release", "Debug", "RelWithDebInfo", "MinSizeRel", "none"})
            self.assertRegex(fields["tls"], r"^(BoringSSL|OpenSSL \d+\.\d+)")


if __name__ == "__main__":
    run_tests(__import__(__name__))
