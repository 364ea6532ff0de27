"""Starts and stops the real processes the end-to-end tests talk to: the outpost binary and
Postfix's smtp-sink, on loopback ports chosen by the kernel, in a temporary directory.
Every process is ended by its PID when the test is done."""
import argparse
import email
import glob
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Sink:
    """smtp-sink writing one file per message into a directory (-d)."""

    def __init__(self, workdir, port=None, extra_args=()):
        self.port = port or free_port()
        self.dir = os.path.join(workdir, f"sink-{self.port}")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o777)  # smtp-sink drops to nobody after binding
        args = [SMTP_SINK, "-d", os.path.join(self.dir, "msg."), "-m", "200", *extra_args]
        if os.geteuid() == 0:
            args += ["-u", "nobody"]
        args += [f"127.0.0.1:{self.port}", "512"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until(self._listening, 10, what="smtp-sink to listen")

    def _listening(self):
        if self.proc.poll() is not None:
            raise AssertionError("smtp-sink exited: " + self.proc.stderr.read().decode())
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def message_ids(self):
        ids = set()
        for path in glob.glob(os.path.join(self.dir, "msg.*")):
            with open(path, "rb") as f:
                for found in re.findall(rb"^Message-ID:\s*(\S+)", f.read(), re.M | re.I):
                    ids.add(found.decode())
        return ids

    def files(self):
        return glob.glob(os.path.join(self.dir, "msg.*"))

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc.stderr.close()


class Outpost:
    """The outpost daemon with a config written for the test; port 0 listeners."""

    def __init__(self, binary, workdir, relay_port, settings=None):
        """`settings` adds or overrides keys: {"queue": {"max_age": '"3s"'}}, values written
        as TOML literals. A section named "[a.b]" is written as [[a.b]]; "[a.b]#2" is another
        entry of the same array."""
        self.binary = binary
        self.workdir = workdir
        self.config = os.path.join(workdir, "outpost.toml")
        sections = {
            "node": {"hostname": '"outpost.test"', "shards": "2"},
            "spool": {"path": f'"{os.path.join(workdir, "spool")}"'},
            "submission": {"listen": '["127.0.0.1:0"]'},
            "http": {"listen": '["127.0.0.1:0"]'},
            # DNS stays on loopback: a port nobody answers on, so MX lookups (no relay) fail
            # fast with 4.4.3 unless a test starts its own server (dns_server.py).
            "dns": {"servers": f'["127.0.0.1:{free_port()}"]', "timeout": '"200ms"',
                    "tries": "1"},
            "delivery": {"relay": f'"127.0.0.1:{relay_port}"', "reconnect_delay": '"200ms"',
                         "connect_timeout": '"2s"', "idle_timeout": '"2s"'},
            "queue": {"retry_initial": '"1s"', "retry_max_delay": '"2s"', "retry_jitter": "0"},
        }
        for section, keys in (settings or {}).items():
            sections.setdefault(section, {}).update(keys)
        with open(self.config, "w") as f:
            for section, keys in sections.items():
                # "[a.b]" is an array-of-tables entry; "#2" after a name keeps a second one apart.
                f.write(f"[{section.split('#')[0]}]\n")
                f.writelines(f"{key} = {value}\n" for key, value in keys.items())
        self.proc = None
        self.port = None
        self.log_path = None
        self.runs = 0

    def start(self):
        self.runs += 1
        if getattr(self, "log", None) is not None:
            self.log.close()  # the previous run's, after a SIGKILL
        self.log_path = os.path.join(self.workdir, f"outpost.{self.runs}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([self.binary, "run", "--config", self.config],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.port = int(wait_until(self._port_from_log, 20, what="outpost to listen"))
        match = re.search(r"http listening on 127\.0\.0\.1:(\d+)", self.output())
        self.http_port = int(match.group(1)) if match else None
        return self

    def _port_from_log(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"outpost exited with {self.proc.returncode}:\n" + self.output())
        # Every listener is logged before "outpost running" (the http one after the submission
        # one): reading the ports any earlier could miss one.
        log = self.output()
        match = re.search(r"submission listening on 127\.0\.0\.1:(\d+)", log)
        return match and "outpost running" in log and match.group(1)

    def output(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self, timeout=30):
        """SIGTERM, then wait for the drain; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError("outpost did not stop within %ss after SIGTERM" % timeout)
        self.log.close()
        return code

    def admin_key(self):
        """The admin key: the generated one the daemon keeps in its spool (the configured
        [http] admin_key when a test sets one)."""
        with open(self.config) as f:
            configured = re.search(r'^admin_key = "([^"]*)"', f.read(), re.M)
        if configured and configured.group(1):
            return configured.group(1)
        try:
            with open(os.path.join(self.workdir, "spool", "admin.key")) as f:
                return f.read().strip()
        except FileNotFoundError:
            return None

    def admin_headers(self):
        """The Authorization header the admin API and /metrics want."""
        key = self.admin_key()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def metrics_text(self):
        """GET /metrics from the HTTP listener, with the admin key."""
        connection = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=30)
        try:
            connection.request("GET", "/metrics", headers=self.admin_headers())
            return connection.getresponse().read().decode()
        finally:
            connection.close()

    def queue(self, action="count"):
        out = subprocess.run([self.binary, "queue", action, "--config", self.config],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise AssertionError("outpost queue failed: " + out.stderr)
        return out.stdout

    def queue_count(self):
        return int(self.queue("count").strip())

    def admin(self, *args, check=True):
        """`outpost queue ARGS...` against the running daemon's admin API; (exit code,
        stdout, stderr), or stdout alone when `check` asks for exit code 0."""
        out = subprocess.run([self.binary, "queue", *args, "--config", self.config,
                              "--admin", f"127.0.0.1:{self.http_port}"],
                             capture_output=True, text=True, timeout=60)
        if not check:
            return out.returncode, out.stdout, out.stderr
        if out.returncode != 0:
            raise AssertionError(f"outpost queue {' '.join(args)} failed: {out.stderr}")
        return out.stdout


def message(index, tag="e2e"):
    msg = email.message.EmailMessage()
    msg["From"] = "sender@example.com"
    msg["To"] = "rcpt@example.net"
    msg["Subject"] = f"test {index}"
    msg["Message-ID"] = f"<{tag}-{index}@outpost.test>"
    msg.set_content(f"body of message {index}\n.leading dot line\n" + "x" * 200 + "\n")
    return msg


class TempDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="outpost-e2e-")
        os.chmod(self.path, 0o755)  # smtp-sink runs as nobody and writes below it
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


class DaemonTest(unittest.TestCase):
    """A temp working directory per test, and whatever the test starts, stopped in reverse
    order afterwards: register a process with `self.started(thing)` (anything with stop())."""

    def setUp(self):
        self.tmp = TempDir()
        self.workdir = self.tmp.__enter__()
        self.stoppers = []

    def tearDown(self):
        for stop in reversed(self.stoppers):
            stop()
        self.tmp.__exit__(None, None, None)

    def started(self, thing):
        self.stoppers.append(thing.stop)
        return thing


def new_api_key(binary):
    """A fresh HTTP API key from `outpost passwd --api-key`: (the key, its sha256 for the
    config)."""
    out = subprocess.run([binary, "passwd", "--api-key"], capture_output=True, text=True,
                         check=True).stdout
    key = re.search(r'^key = "([^"]+)"', out, re.M).group(1)
    digest = re.search(r'^key_sha256 = "([0-9a-f]{64})"', out, re.M).group(1)
    return key, digest


def insecure_tls_context():
    """A client TLS context that accepts any certificate (the daemon's self-signed one)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def run_tests(module):
    """The e2e scripts' main: `--outpost PATH` becomes the module's OUTPOST, the rest goes to
    unittest."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--outpost", required=True)
    args, rest = parser.parse_known_args()
    module.OUTPOST = os.path.abspath(args.outpost)
    unittest.main(module=module, argv=[sys.argv[0], "-v", *rest])
