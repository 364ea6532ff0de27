"""Hostile peers against every listener of the real daemon (issue 21, items 1 and 2): an HTTP
client pipelining 1,500 requests on one connection (reading while it sends, and not); the cap of
connections per client address on submission, bounce SMTP, HTTP, IMAP and POP3, with the
refusal each protocol gives and a client from another 127.x address still served; slowloris
(a byte at a time, or complete header lines one by one) cut at the command deadline; silence
after the greeting cut at the same deadline; SMTP and HTTP clients that pipeline and never read,
dropped at the write timeout while the daemon's memory stays bounded; and the HTTP output cap,
which holds pipelined requests back without losing any; session_max ending busy SMTP and HTTP
keep-alive sessions; and bench/limits_flood.py at small scale. Timeouts are short in the test
config.
"""
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import DaemonTest, Outpost, run_tests, wait_until  # noqa: E402
from scripted_peer import ScriptedPeer  # noqa: E402

OUTPOST = None
BOUNCE_DOMAIN = "bounces.outpost.test"
PER_IP = 3  # [limits] connections_per_ip in the test config
MAILBOX_PER_IP = 2  # [imap] and [pop3] override it
COMMAND_TIMEOUT = 1.0  # seconds
WRITE_TIMEOUT = 2.0


def listening_port(outpost, what):
    match = re.search(re.escape(what) + r" listening on 127\.0\.0\.1:(\d+)", outpost.output())
    assert match, f"no '{what}' listener in the log:\n" + outpost.output()
    return int(match.group(1))


def connect(port, source="127.0.0.1", timeout=10):
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                    source_address=(source, 0))
    return sock


def read_until(sock, pattern, limit=1 << 20):
    """Reads until `pattern` (bytes, a regex) matches or the peer closes; what arrived."""
    data = b""
    while not re.search(pattern, data) and len(data) < limit:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
    return data


def read_to_eof(sock, limit=1 << 20):
    data = b""
    while len(data) < limit:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


class LimitsTest(DaemonTest):
    def setUp(self):
        super().setUp()
        self.peer = self.started(ScriptedPeer())
        self.hashed = subprocess.run([OUTPOST, "passwd"], input="pw\n", capture_output=True,
                                     text=True, check=True).stdout.strip()
        settings = {
            "limits": {"connections_per_ip": str(PER_IP),
                       "command_timeout": f'"{int(COMMAND_TIMEOUT * 1000)}ms"',
                       "write_timeout": f'"{int(WRITE_TIMEOUT * 1000)}ms"',
                       "output_buffer_max": "65536"},
            "bounce": {"domain": f'"{BOUNCE_DOMAIN}"', "listen": '"127.0.0.1:0"'},
            "[mailbox.user]": {"name": '"processor"', "password_hash": f"'{self.hashed}'"},
            "imap": {"listen": '"127.0.0.1:0"', "connections_per_ip": str(MAILBOX_PER_IP)},
            "pop3": {"listen": '"127.0.0.1:0"', "connections_per_ip": str(MAILBOX_PER_IP)},
        }
        self.outpost = self.started(Outpost(OUTPOST, self.workdir, self.peer.port, settings))
        self.outpost.start()
        self.ports = {
            "submission": self.outpost.port,
            "bounce": listening_port(self.outpost, "bounce intake (SMTP)"),
            "http": self.outpost.http_port,
            "imap": listening_port(self.outpost, "imap"),
            "pop3": listening_port(self.outpost, "pop3"),
        }
        self.sockets = []

    def tearDown(self):
        for sock in self.sockets:
            sock.close()
        super().tearDown()

    def open(self, listener, source="127.0.0.1", timeout=10):
        sock = connect(self.ports[listener], source, timeout)
        self.sockets.append(sock)
        return sock

    def alive(self):
        self.assertIsNone(self.outpost.proc.poll(), "the daemon died:\n" + self.outpost.output())
        sock = self.open("http", "127.0.0.9")
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertIn(b" 200 ", read_to_eof(sock))

    # ---- item 1: the pipelining crash ----

    def pipeline_healthz(self, count, read_while_sending):
        sock = self.open("http", timeout=30)
        requests = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * count
        requests += b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        if read_while_sending:
            sender = threading.Thread(target=lambda: [sock.sendall(requests[i:i + 997])
                                                      for i in range(0, len(requests), 997)])
            sender.start()
            data = read_to_eof(sock, limit=1 << 26)
            sender.join(30)
        else:
            sock.sendall(requests)
            data = read_to_eof(sock, limit=1 << 26)
        return data.count(b"HTTP/1.1 200 ")

    def test_http_pipelining_1500_requests_on_one_connection(self):
        # Before the fix 500 pipelined requests aborted the daemon every time.
        self.assertEqual(self.pipeline_healthz(1500, read_while_sending=True), 1501)
        self.assertEqual(self.pipeline_healthz(1500, read_while_sending=False), 1501)
        self.alive()

    # ---- item 2: connections per client address ----

    def greeting(self, listener, sock):
        if listener == "http":
            # No greeting: one keep-alive request shows the connection was admitted (the two
            # shards accept in no set order, so a later connection could otherwise get ahead).
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            return read_until(sock, rb"\r\n\r\n[^\r\n]*\n")
        return read_until(sock, rb"\r\n")

    def test_per_ip_cap_on_every_listener(self):
        refusals = {
            "submission": rb"^421 4\.7\.0 .*Too many connections from your address",
            "bounce": rb"^421 4\.7\.0 .*Too many connections from your address",
            "http": rb"^HTTP/1\.1 503 .*too many connections from your address",
            "imap": rb"^\* BYE Too many connections from your address",
            "pop3": rb"^-ERR \[SYS/TEMP\] Too many connections from your address",
        }
        greetings = {"submission": rb"^220 ", "bounce": rb"^220 ", "imap": rb"^\* OK",
                     "pop3": rb"^\+OK", "http": rb"^HTTP/1\.1 200 "}
        for listener, refusal in refusals.items():
            with self.subTest(listener=listener):
                cap = MAILBOX_PER_IP if listener in ("imap", "pop3") else PER_IP
                # The cap is node-wide: the 2 shards' SO_REUSEPORT split does not double it.
                held = [self.open(listener, "127.0.0.2") for _ in range(cap)]
                for sock in held:
                    self.assertRegex(self.greeting(listener, sock), greetings[listener])
                over = self.open(listener, "127.0.0.2")
                self.assertRegex(read_to_eof(over), re.compile(refusal, re.S))
                # Another address is served while this one is at its cap.
                other = self.open(listener, "127.0.0.3")
                if listener == "http":
                    other.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    self.assertIn(b" 200 ", read_to_eof(other))
                else:
                    self.assertRegex(self.greeting(listener, other), greetings[listener])
                # A closed connection gives its place back.
                held[0].close()
                again = wait_until(lambda: self.try_admitted(listener, greetings), 10,
                                   what=f"{listener} to admit 127.0.0.2 again")
                self.assertTrue(again)
                for sock in held[1:]:
                    sock.close()
        self.alive()

    def try_admitted(self, listener, greetings):
        sock = self.open(listener, "127.0.0.2", timeout=5)
        if listener == "http":
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            ok = b" 200 " in read_to_eof(sock)
        else:
            ok = re.search(greetings[listener], self.greeting(listener, sock)) is not None
        sock.close()
        return ok

    # ---- item 2: deadlines trickling cannot extend ----

    def trickle(self, sock, payload, interval):
        """Sends `payload` a piece at a time until the server closes; the pieces sent."""
        sent = 0
        sock.settimeout(interval)
        for piece in payload:
            try:
                sock.sendall(piece)
                sent += 1
                data = sock.recv(65536)  # waits `interval`, or returns the goodbye
                sock.settimeout(10)
                return sent, data + read_to_eof(sock) if data else b""
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                return sent, b""
        return sent, b""

    def test_slowloris_is_cut_at_the_command_deadline(self):
        one_byte = [bytes([b]) for b in b"EHLO slowloris.example.com and on and on and on"]
        cases = {
            "submission": (one_byte, rb"^421 4\.4\.2 .*command timeout"),
            "bounce": (one_byte, rb"^421 4\.4\.2 .*command timeout"),
            "imap": ([bytes([b]) for b in b"a1 CAPABILITY and a lot more of it"],
                     rb"^\* BYE Command timeout"),
            "pop3": ([bytes([b]) for b in b"CAPA and a lot more of it, slowly"],
                     rb"^-ERR \[SYS/TEMP\] Command timeout"),
            # Complete header lines one by one: each line is quick, the head is not.
            "http": ([b"GET / HTTP/1.1\r\n"] + [b"X-Slow-%d: y\r\n" % i for i in range(40)],
                     rb"^HTTP/1\.1 408 "),
        }
        for listener, (pieces, goodbye) in cases.items():
            with self.subTest(listener=listener):
                sock = self.open(listener, "127.0.0.4")
                self.greeting(listener, sock)
                start = time.monotonic()
                sent, data = self.trickle(sock, pieces, 0.15)
                elapsed = time.monotonic() - start
                self.assertRegex(data, re.compile(goodbye, re.S))
                # Cut while still trickling: the pieces take 0.15 s each, the deadline is 1 s.
                self.assertLess(sent, len(pieces), f"{listener}: the whole trickle got through")
                self.assertLess(elapsed, 15)
                sock.close()
        self.alive()

    def test_silence_after_the_greeting_is_cut(self):
        # The submission idle timeout is 5 minutes; the first command has command_timeout.
        for listener, goodbye in (("submission", rb"421 4\.4\.2 "), ("imap", rb"\* BYE "),
                                  ("pop3", rb"-ERR "), ("http", rb"^HTTP/1\.1 408 ")):
            with self.subTest(listener=listener):
                sock = self.open(listener, "127.0.0.5", timeout=20)
                self.assertRegex(read_to_eof(sock), re.compile(goodbye, re.S | re.M))
        self.alive()

    # ---- item 2: write timeout and output caps ----

    def flood(self, listener, request, seconds):
        """Pipelines `request` without ever reading until the server drops the connection;
        (dropped, bytes sent, peak RSS of the daemon in KiB)."""
        sock = self.open(listener, "127.0.0.6")
        sock.setblocking(False)
        blob = request * 256
        sent = 0
        peak = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                sent += sock.send(blob)
            except BlockingIOError:
                time.sleep(0.05)
            except (BrokenPipeError, ConnectionResetError):
                return True, sent, peak
            peak = max(peak, rss_kib(self.outpost.proc.pid))
        return False, sent, peak

    def test_smtp_pipeliner_that_never_reads_is_dropped(self):
        before = rss_kib(self.outpost.proc.pid)
        dropped, sent, peak = self.flood("submission", b"NOOP\r\n", 30)
        self.assertTrue(dropped, f"still connected after sending {sent} bytes")
        self.assertLess(peak - before, 64 * 1024, "RSS grew by more than 64 MiB")
        self.alive()

    def test_http_pipeliner_that_never_reads_is_dropped(self):
        # GET / is the status page: each answer is large, so output piles up fast.
        before = rss_kib(self.outpost.proc.pid)
        dropped, sent, peak = self.flood("http", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 30)
        self.assertTrue(dropped, f"still connected after sending {sent} bytes")
        # Before the output cap: 1.5 GB in a second.
        self.assertLess(peak - before, 64 * 1024, "RSS grew by more than 64 MiB")
        self.alive()

    def test_http_output_cap_holds_requests_back_without_losing_any(self):
        count = 400
        sock = self.open("http", "127.0.0.7", timeout=30)
        before = rss_kib(self.outpost.proc.pid)
        requests = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * (count - 1)
        requests += b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        sock.sendall(requests)  # about 12 KB: the kernel takes it all
        time.sleep(WRITE_TIMEOUT / 2)  # not reading, but less than the write timeout
        grown = rss_kib(self.outpost.proc.pid) - before
        data = read_to_eof(sock, limit=1 << 30)
        self.assertEqual(data.count(b"HTTP/1.1 200 "), count)
        self.assertLess(grown, 32 * 1024, "output not held to its cap")
        self.alive()


class SessionMaxTest(DaemonTest):
    """session_max: a client busy with quick complete commands is still ended when its session
    has lasted that long (SMTP 421 4.4.2; HTTP keep-alive ends with the response in progress)."""

    def test_busy_sessions_end_at_session_max(self):
        peer = self.started(ScriptedPeer())
        outpost = self.started(Outpost(OUTPOST, self.workdir, peer.port,
                                       {"limits": {"session_max": '"2s"'}}))
        outpost.start()
        smtp = connect(outpost.port)
        self.assertRegex(read_until(smtp, rb"\r\n"), rb"^220 ")
        start = time.monotonic()
        goodbye = b""
        for _ in range(100):  # a NOOP every 0.1 s, each answered: never idle, never slow
            try:
                smtp.sendall(b"NOOP\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            reply = read_until(smtp, rb"\r\n")
            if not reply.startswith(b"250"):
                goodbye = reply
                break
            time.sleep(0.1)
        self.assertRegex(goodbye, rb"^421 4\.4\.2 .*session too long")
        self.assertLess(time.monotonic() - start, 8)
        smtp.close()

        http = connect(outpost.http_port)
        start = time.monotonic()
        responses = 0
        ended = False
        for _ in range(100):  # keep-alive requests one by one until the server ends it
            try:
                http.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                ended = True  # closed while idle between two requests
                break
            head = read_until(http, rb"\r\n\r\n[^\r\n]*\n")
            if not head:
                ended = True
                break
            self.assertIn(b" 200 ", head)
            responses += 1
            if b"Connection: close" in head:  # the last answer says so
                ended = read_to_eof(http) == b""
                break
            time.sleep(0.1)
        self.assertTrue(ended, "keep-alive went on past session_max")
        self.assertGreater(responses, 3)
        self.assertLess(time.monotonic() - start, 8)
        http.close()


class FloodBenchTest(unittest.TestCase):
    """bench/limits_flood.py at small scale: it runs, the legitimate client is served, and with
    one source address the per-IP cap (default 50) refuses the rest. Figures are the bench's."""

    def flood(self, *extra):
        script = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "limits_flood.py")
        out = subprocess.run([sys.executable, script, "--outpost", OUTPOST, "--hold", "3",
                              "--samples", "3", *extra], capture_output=True, text=True,
                             timeout=240)
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout)

    def test_small_flood_over_many_addresses(self):
        got = self.flood("--slowloris", "40", "--nonreading", "10", "--literal", "2",
                         "--addresses", "8")
        self.assertEqual(got["opened"], {"slowloris": 40, "nonreading": 10, "literal": 2})
        self.assertEqual(got["refused_by_a_cap"]["slowloris"], 0)
        self.assertEqual(got["legitimate"]["served"], 3)
        self.assertGreater(got["rss_mib"]["peak"], 0)

    def test_one_address_meets_the_per_ip_cap(self):
        got = self.flood("--slowloris", "60", "--nonreading", "0", "--literal", "0",
                         "--addresses", "1")
        self.assertEqual(got["refused_by_a_cap"]["slowloris"], 10)
        self.assertEqual(got["legitimate"]["served"], 3)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
