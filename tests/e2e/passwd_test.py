"""`outpost passwd` as an operator and a script use it: one line from a pipe (with or without
its line end, CRLF too), and on a pseudo-terminal (Python's pty module) the password asked
twice with nothing echoed, two different answers refused, and the terminal's echo back on
after a signal ends the prompt. Each hash is checked with libcrypt's crypt(3)."""
import ctypes
import ctypes.util
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time
import unittest

from harness import run_tests

OUTPOST = None  # set by run_tests from --outpost

LIBCRYPT = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
LIBCRYPT.crypt.restype = ctypes.c_char_p
LIBCRYPT.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]


def matches(password, hashed):
    """Whether crypt(3) of `password` with the setting of `hashed` gives `hashed`."""
    return LIBCRYPT.crypt(password.encode(), hashed.encode()) == hashed.encode()


class Terminal:
    """`outpost passwd` with a pseudo-terminal as its standard input and error; standard output
    is a pipe, as when an operator writes `outpost passwd > hash`."""

    def __init__(self):
        self.master, self.slave = pty.openpty()
        self.process = subprocess.Popen([OUTPOST, "passwd"], stdin=self.slave,
                                        stdout=subprocess.PIPE, stderr=self.slave)
        self.seen = b""  # everything the terminal showed

    def read_until(self, text, seconds=20):
        deadline = time.monotonic() + seconds
        while text.encode() not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {text!r} on the terminal; it showed {self.seen!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                self.seen += os.read(self.master, 4096)

    def type(self, text):
        os.write(self.master, text.encode())

    def finish(self):
        """(exit code, standard output); the terminal's last output is read into seen."""
        out, _ = self.process.communicate(timeout=60)
        while select.select([self.master], [], [], 0.2)[0]:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.seen += chunk
        return self.process.returncode, out.decode()

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        os.close(self.master)
        os.close(self.slave)


class PipeTest(unittest.TestCase):
    def passwd(self, stdin):
        return subprocess.run([OUTPOST, "passwd"], input=stdin, capture_output=True,
                              timeout=60)

    def test_one_line_from_a_pipe(self):
        for stdin, password in [(b"s3cret pass\n", "s3cret pass"), (b"s3cret", "s3cret"),
                                (b"crlf\r\n", "crlf"), (b"first\nsecond\n", "first")]:
            with self.subTest(stdin=stdin):
                result = self.passwd(stdin)
                self.assertEqual(result.returncode, 0, result.stderr)
                hashed = result.stdout.decode().strip()
                self.assertTrue(hashed.startswith("$y$"), hashed)
                self.assertTrue(matches(password, hashed))
                self.assertFalse(matches(password + "x", hashed))
                self.assertEqual(result.stderr, b"")  # no prompt for a script

    def test_empty_and_too_long_are_refused(self):
        for stdin, want in [(b"", b"empty password"), (b"\n", b"empty password"),
                            (b"a" * 1025 + b"\n", b"longer than 1024 bytes")]:
            with self.subTest(stdin=stdin[:10]):
                result = self.passwd(stdin)
                self.assertEqual(result.returncode, 1)
                self.assertIn(want, result.stderr)
                self.assertEqual(result.stdout, b"")


class TerminalTest(unittest.TestCase):
    def setUp(self):
        self.terminal = Terminal()
        self.addCleanup(self.terminal.close)

    def test_asks_twice_without_echo(self):
        t = self.terminal
        t.read_until("Password: ")
        t.type("typed s3cret\n")
        t.read_until("Again: ")
        t.type("typed s3cret\n")
        code, out = t.finish()
        self.assertEqual(code, 0, t.seen)
        self.assertNotIn(b"s3cret", t.seen)  # nothing typed came back on the terminal
        self.assertTrue(matches("typed s3cret", out.strip()), out)
        self.assertTrue(termios.tcgetattr(t.slave)[3] & termios.ECHO)  # echo is back

    def test_two_different_answers_are_refused(self):
        t = self.terminal
        t.read_until("Password: ")
        t.type("first try\n")
        t.read_until("Again: ")
        t.type("second try\n")
        code, out = t.finish()
        self.assertEqual(code, 1)
        self.assertEqual(out, "")
        self.assertIn(b"differ", t.seen)
        self.assertNotIn(b"try", t.seen)
        self.assertTrue(termios.tcgetattr(t.slave)[3] & termios.ECHO)

    def test_a_signal_at_the_prompt_gives_echo_back(self):
        t = self.terminal
        t.read_until("Password: ")
        self.assertFalse(termios.tcgetattr(t.slave)[3] & termios.ECHO)  # off while asking
        t.process.send_signal(signal.SIGTERM)
        code, out = t.finish()
        self.assertEqual(code, -signal.SIGTERM)
        self.assertEqual(out, "")
        self.assertTrue(termios.tcgetattr(t.slave)[3] & termios.ECHO)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
