"""The bounce mailbox's IMAP server against real clients: bounces arrive over SMTP at [bounce]
listen (smtplib) and are read, searched, flagged, moved and expunged with Python's imaplib (over
STARTTLS and implicit TLS), two sessions see each other's changes, IDLE reports a new bounce,
curl imap://, fetchmail (IMAP and POP3) and mbsync read and sync the mailbox, and bad input on
raw sockets is refused without harming the session or the daemon.
"""
import base64
import imaplib
import os
import re
import smtplib
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import DaemonTest, Outpost, insecure_tls_context, run_tests, wait_until  # noqa: E402
from scripted_peer import ScriptedPeer  # noqa: E402

OUTPOST = None


def sanitized(binary):
    """True for an ASan build (it links libasan)."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True)
    return "libasan" in out.stdout
BOUNCE_DOMAIN = "bounces.outpost.test"
CORPUS = os.path.join(os.path.dirname(__file__), "..", "..", "mailbox", "testdata", "bounces")
USER, PASSWORD = "processor", "imap-pass"

# Samples from mailbox/testdata/bounces (expected.txt): the VERP id and the recipient they bounce.
SAMPLES = {
    "postfix_dsn_user_unknown.eml": ("0000019a2b3c4d5e", "ann@example.com"),    # hard
    "postfix_dsn_mailbox_full.eml": ("0000019a2b3c4d60", "bernd.k@example.de"),  # soft
    "exim_user_unknown.eml": ("0000019a2b3c4d62", "dave@example.net"),          # hard
    "qmail_no_mailbox.eml": ("0000019a2b3c4d64", "gina@example.info"),          # hard
}


def corpus(name):
    with open(os.path.join(CORPUS, name), "rb") as f:
        return f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def verp(name):
    queue_id, recipient = SAMPLES[name]
    local, domain = recipient.split("@")
    return f"bounce+{queue_id}+{local}={domain}@{BOUNCE_DOMAIN}"


def listening_port(outpost, what):
    match = re.search(re.escape(what) + r" listening on 127\.0\.0\.1:(\d+)", outpost.output())
    assert match, f"no '{what}' listener in the log:\n" + outpost.output()
    return int(match.group(1))


# ---------------------------------------------------------------------------------------------
# IMAP response syntax (RFC 3501 §9), enough to check that ENVELOPE, BODYSTRUCTURE, LIST and
# FETCH responses parse: lists, quoted strings, literals, NIL, atoms with [section]<partial>.

class _Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def peek(self):
        return self.data[self.pos:self.pos + 1]

    def skip(self, chars=b" "):
        while self.peek() and self.peek() in chars:
            self.pos += 1

    def value(self):
        c = self.peek()
        if c == b"(":
            self.pos += 1
            items = []
            while True:
                self.skip()
                if self.peek() == b")":
                    self.pos += 1
                    return items
                if not self.peek():
                    raise ValueError("unbalanced parentheses in %r" % self.data[:200])
                items.append(self.value())
        if c == b'"':
            self.pos += 1
            out = bytearray()
            while True:
                ch = self.peek()
                if not ch:
                    raise ValueError("unterminated string in %r" % self.data[:200])
                self.pos += 1
                if ch == b"\\":
                    out += self.peek()
                    self.pos += 1
                elif ch == b'"':
                    return bytes(out)
                else:
                    out += ch
        if c == b"{":
            end = self.data.index(b"}\r\n", self.pos)
            size = int(self.data[self.pos + 1:end])
            start = end + 3
            self.pos = start + size
            return self.data[start:self.pos]
        start, depth = self.pos, 0
        while self.peek():
            ch = self.peek()
            if ch == b"[":
                depth += 1
            elif ch == b"]":
                depth -= 1
            elif depth == 0 and ch in b" ()\r\n":
                break
            self.pos += 1
        atom = self.data[start:self.pos]
        if not atom:
            raise ValueError("unexpected %r at %d in %r" % (c, self.pos, self.data[:200]))
        return None if atom.upper() == b"NIL" else atom


def parse_value(data):
    reader = _Reader(data)
    value = reader.value()
    reader.skip()
    if reader.pos != len(data):
        raise ValueError("trailing bytes after the value: %r" % data[reader.pos:])
    return value


def imaplib_stream(data):
    """imaplib's response data (lines, and (line, literal) tuples) as the bytes on the wire."""
    out = b""
    for item in data:
        if isinstance(item, tuple):
            out += item[0] + b"\r\n" + item[1]
        elif item is not None:
            out += item + b"\r\n"
    return out


def parse_fetch(data):
    """imaplib FETCH data -> {sequence number: {ITEM NAME: value}} (solicited or not)."""
    stream = imaplib_stream(data)
    reader = _Reader(stream)
    messages = {}
    while True:
        reader.skip(b" \r\n")
        if not reader.peek():
            return messages
        number = int(reader.value())
        reader.skip()
        items = reader.value()
        assert isinstance(items, list) and len(items) % 2 == 0, items
        fields = messages.setdefault(number, {})
        for name, value in zip(items[::2], items[1::2]):
            fields[name.decode().upper()] = value


def listed_names(data):
    """LIST / LSUB data -> {folder name: [attributes]}."""
    names = {}
    for line in data:
        if line is None:
            continue
        attributes, _delimiter, name = parse_value(b"(" + imaplib_stream([line]).strip() + b")")
        names[name.decode()] = [a.decode() for a in attributes]
    return names


def numbers(search_data):
    return [int(n) for n in b" ".join(d for d in search_data if d).split()]


def response_code(client, name):
    """The last [NAME ...] response code imaplib saw (tagged or untagged), split into words."""
    _, data = client.response(name)
    assert data and data[-1] is not None, f"no [{name}] response code"
    return data[-1].decode().split()


class RawImap:
    """One IMAP connection on a plain socket (implicit TLS or not), read line by line, for what
    imaplib cannot do: IDLE, and input no client would send."""

    def __init__(self, port, tls=True, timeout=30):
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            sock = insecure_tls_context().wrap_socket(sock, server_hostname="outpost.test")
        self.sock = sock
        self.buffer = b""
        self.eof = False
        self.greeting = self.line()

    def send(self, data):
        self.sock.sendall(data)

    def line(self, timeout=30):
        """The next line without its CRLF; None at end of stream."""
        deadline = time.monotonic() + timeout
        while b"\r\n" not in self.buffer:
            if self.eof:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line within {timeout}s; have {self.buffer[:200]!r}")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError):
                chunk = b""
            except (socket.timeout, TimeoutError):
                continue
            if not chunk:
                self.eof = True
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def command(self, tag, text, timeout=30):
        """Sends `tag text` and returns every line up to the tagged one (the last), or up to
        the end of the stream."""
        self.send(tag + b" " + text + b"\r\n")
        return self.until_tagged(tag, timeout)

    def until_tagged(self, tag, timeout=30):
        lines = []
        while True:
            line = self.line(timeout)
            if line is None:
                return lines
            literal = re.search(rb"\{(\d+)\}$", line)
            if literal:  # the literal's bytes and the rest of the response join the line
                size = int(literal.group(1))
                while len(self.buffer) < size:
                    self.buffer += self.sock.recv(65536)
                line += b"\r\n" + self.buffer[:size]
                self.buffer = self.buffer[size:]
                line += self.line(timeout) or b""
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def tagged(lines, tag):
    return lines[-1] if lines and lines[-1].startswith(tag + b" ") else None


class ImapTest(DaemonTest):
    def setUp(self):
        super().setUp()
        self.peer = self.started(ScriptedPeer())
        self.hashed = subprocess.run([OUTPOST, "passwd"], input=PASSWORD + "\n",
                                     capture_output=True, text=True, check=True).stdout.strip()

    def start_daemon(self, pop3=False, login_without_tls=False):
        settings = {
            "bounce": {"domain": f'"{BOUNCE_DOMAIN}"', "listen": '"127.0.0.1:0"'},
            "mailbox": {"auth_failure_delay": '"100ms"'},
            "[mailbox.user]": {"name": f'"{USER}"', "password_hash": f"'{self.hashed}'"},
            "imap": {"listen": '"127.0.0.1:0"', "tls_listen": '"127.0.0.1:0"'},
        }
        if login_without_tls:
            settings["imap"]["login_without_tls"] = "true"
        if pop3:
            settings["pop3"] = {"listen": '"127.0.0.1:0"'}
        self.outpost = self.started(Outpost(OUTPOST, self.workdir, self.peer.port, settings))
        self.outpost.start()
        self.bounce_port = listening_port(self.outpost, "bounce intake (SMTP)")
        self.imap_port = listening_port(self.outpost, "imap")
        self.imaps_port = listening_port(self.outpost, "imap (TLS)")
        self.pop3_port = listening_port(self.outpost, "pop3") if pop3 else None
        self.cert = os.path.join(self.workdir, "spool", "tls", "cert.pem")

    def send_bounces(self, *names):
        with smtplib.SMTP("127.0.0.1", self.bounce_port, timeout=30) as client:
            for name in names:
                client.sendmail("", [verp(name)], corpus(name))

    def closed_at_the_end(self, connection):
        """Closes an imaplib client or RawImap when the test ends, however it ends."""
        def close():
            try:
                (connection.shutdown if hasattr(connection, "shutdown") else connection.close)()
            except OSError:
                pass
        self.addCleanup(close)
        return connection

    def raw_session(self, port, tls=True):
        return self.closed_at_the_end(RawImap(port, tls=tls))

    def imaps(self, login=True):
        client = self.closed_at_the_end(imaplib.IMAP4_SSL(
            "127.0.0.1", self.imaps_port, ssl_context=insecure_tls_context(), timeout=30))
        if login:
            client.login(USER, PASSWORD)
        return client

    def status(self, folder, items="(MESSAGES UNSEEN UIDNEXT UIDVALIDITY)"):
        client = self.imaps()
        try:
            typ, data = client.status(folder, items)
            self.assertEqual(typ, "OK", data)
            _, values = parse_value(b"(" + data[0] + b")")
            return {k.decode().upper(): int(v) for k, v in zip(values[::2], values[1::2])}
        finally:
            client.logout()

    def wait_for_messages(self, count, folder="INBOX"):
        wait_until(lambda: self.status(folder)["MESSAGES"] == count, 10, interval=0.1,
                   what=f"{count} messages in {folder}")

    def assert_alive(self):
        self.assertIsNone(self.outpost.proc.poll(), "outpost exited:\n" + self.outpost.output())
        client = self.imaps()
        self.assertEqual(client.noop()[0], "OK")
        client.logout()

    # -----------------------------------------------------------------------------------------
    # 1. imaplib: the whole command set a bounce processor uses.

    def test_imaplib_over_starttls(self):
        self.start_daemon()
        ann, bernd, dave = ("postfix_dsn_user_unknown.eml", "postfix_dsn_mailbox_full.eml",
                            "exim_user_unknown.eml")
        self.send_bounces(ann, bernd, dave)
        self.wait_for_messages(3)

        client = self.closed_at_the_end(imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=30))
        self.assertIn("STARTTLS", client.capabilities)
        self.assertIn("LOGINDISABLED", client.capabilities)
        self.assertNotIn("AUTH=PLAIN", client.capabilities)
        with self.assertRaises(imaplib.IMAP4.error) as refused:
            client.login(USER, PASSWORD)  # no passwords in plaintext (RFC 3501 §6.2.3)
        self.assertIn("PRIVACYREQUIRED", str(refused.exception))
        client.starttls(insecure_tls_context())
        self.assertNotIn("LOGINDISABLED", client.capabilities)
        self.assertNotIn("STARTTLS", client.capabilities)
        for capability in ("IMAP4REV1", "AUTH=PLAIN", "SASL-IR", "IDLE", "UIDPLUS", "MOVE",
                           "LITERAL+", "NAMESPACE", "UNSELECT", "CHILDREN"):
            self.assertIn(capability, client.capabilities)
        self.assertEqual(client.login(USER, PASSWORD)[0], "OK")
        self.assertEqual(client.namespace()[0], "OK")

        typ, data = client.select("INBOX")
        self.assertEqual((typ, data), ("OK", [b"3"]))
        uidvalidity = int(response_code(client, "UIDVALIDITY")[0])
        self.assertGreater(uidvalidity, 0)
        self.assertEqual(int(response_code(client, "UIDNEXT")[0]), 4)

        def search(*criteria, uid=False):
            typ, data = client.uid("SEARCH", *criteria) if uid else client.search(None, *criteria)
            self.assertEqual(typ, "OK", (criteria, data))
            return numbers(data)

        self.assertEqual(search("ALL"), [1, 2, 3])
        self.assertEqual(search("HEADER", "X-Outpost-Bounce-Category", "invalid_recipient"), [1, 3])
        self.assertEqual(search("HEADER", "X-Outpost-Bounce-Type", "soft"), [2])
        self.assertEqual(search("HEADER", "X-Outpost-Bounce-Status", "5.2.2"), [2])
        self.assertEqual(search("UNSEEN"), [1, 2, 3])
        self.assertEqual(search("FROM", "mail.example.de"), [2])
        self.assertEqual(search("FROM", "MAILER-DAEMON"), [1, 2, 3])  # case-insensitive
        self.assertEqual(search("SUBJECT", '"Undelivered Mail"'), [1, 2])
        today = time.gmtime()  # INTERNALDATE is stored in +0000
        day = 24 * 3600
        yesterday = time.strftime("%d-%b-%Y", time.gmtime(time.time() - day))
        tomorrow = time.strftime("%d-%b-%Y", time.gmtime(time.time() + day))
        self.assertEqual(search("SINCE", yesterday), [1, 2, 3])
        self.assertEqual(search("SINCE", time.strftime("%d-%b-%Y", today)), [1, 2, 3])
        self.assertEqual(search("SINCE", tomorrow), [])
        self.assertEqual(search("BEFORE", tomorrow), [1, 2, 3])
        self.assertEqual(search("OR", "FROM", "mail.example.de", "FROM", "smtp.example.net"),
                         [2, 3])
        self.assertEqual(search("NOT", "HEADER", "X-Outpost-Bounce-Type", "hard"), [2])
        self.assertEqual(search("UNSEEN", "NOT", "FROM", "smtp.example.net"), [1, 2])
        self.assertEqual(search("(OR HEADER X-Outpost-Bounce-Recipient ann@example.com "
                                "HEADER X-Outpost-Bounce-Recipient dave@example.net)",
                                "NOT", "FROM", "mx1.example.com"), [3])
        self.assertEqual(search("HEADER", "X-Outpost-Original-Message-Id", "0000019a2b3c4d62",
                                uid=True), [3])
        self.assertEqual(search("UID", "2:*", "HEADER", "X-Outpost-Bounce-Type", "hard",
                                uid=True), [3])

        typ, data = client.fetch("1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE "
                                        "BODYSTRUCTURE)")
        self.assertEqual(typ, "OK", data)
        fetched = parse_fetch(data)
        self.assertEqual(sorted(fetched), [1, 2, 3])
        self.assertEqual([int(fetched[n]["UID"]) for n in (1, 2, 3)], [1, 2, 3])
        for number, (subject, mailbox, host) in {
                1: (b"Undelivered Mail Returned to Sender", b"MAILER-DAEMON", b"mx1.example.com"),
                2: (b"Undelivered Mail Returned to Sender", b"MAILER-DAEMON", b"mail.example.de"),
                3: (b"Mail delivery failed: returning message to sender", b"Mailer-Daemon",
                    b"smtp.example.net")}.items():
            fields = fetched[number]
            self.assertNotIn(b"\\Seen", fields["FLAGS"])
            envelope = fields["ENVELOPE"]
            self.assertEqual(len(envelope), 10, envelope)
            self.assertEqual(envelope[1], subject)
            self.assertEqual(envelope[2][0][2:], [mailbox, host])  # from: (name adl mailbox host)
            self.assertEqual(envelope[3][0][2:], [mailbox, host])  # sender defaults to from
            self.assertTrue(envelope[9].startswith(b"<"), envelope[9])  # message-id
            internal = imaplib.Internaldate2tuple(b'INTERNALDATE "' + fields["INTERNALDATE"] + b'"')
            self.assertIsNotNone(internal, fields["INTERNALDATE"])
            self.assertLess(abs(time.mktime(internal) - time.time()), 600)
            sample = corpus([ann, bernd, dave][number - 1])
            self.assertGreater(int(fields["RFC822.SIZE"]), len(sample))  # plus the X-Outpost-*
        # DSNs are multipart/report: parts, then the subtype and its parameters.
        dsn = fetched[1]["BODYSTRUCTURE"]
        self.assertIsInstance(dsn[0], list)
        self.assertEqual(dsn[0][:2], [b"TEXT", b"PLAIN"])
        self.assertEqual(dsn[1][:2], [b"MESSAGE", b"DELIVERY-STATUS"])
        self.assertEqual(dsn[3].upper(), b"REPORT")
        self.assertEqual(dsn[4][:2], [b"REPORT-TYPE", b"delivery-status"])
        # bernd's DSN returns the whole message: message/rfc822 with its own envelope.
        returned = fetched[2]["BODYSTRUCTURE"][2]
        self.assertEqual(returned[:2], [b"MESSAGE", b"RFC822"])
        self.assertEqual(returned[7][1], b"Your December offers")
        self.assertEqual(fetched[3]["BODYSTRUCTURE"][:2], [b"TEXT", b"PLAIN"])  # Exim: prose

        typ, data = client.fetch("1:3", "(BODY.PEEK[HEADER.FIELDS (X-Outpost-Bounce-Recipient)])")
        self.assertEqual(typ, "OK", data)
        recipients = {n: f["BODY[HEADER.FIELDS (X-OUTPOST-BOUNCE-RECIPIENT)]"]
                      for n, f in parse_fetch(data).items()}
        self.assertEqual(recipients, {
            1: b"X-Outpost-Bounce-Recipient: ann@example.com\r\n\r\n",
            2: b"X-Outpost-Bounce-Recipient: bernd.k@example.de\r\n\r\n",
            3: b"X-Outpost-Bounce-Recipient: dave@example.net\r\n\r\n"})
        self.assertEqual(search("UNSEEN"), [1, 2, 3])  # .PEEK leaves \Seen alone

        typ, data = client.fetch("1", "(BODY[])")
        self.assertEqual(typ, "OK", data)
        whole = parse_fetch(data)[1]["BODY[]"]
        self.assertEqual(len(whole), int(fetched[1]["RFC822.SIZE"]))
        head, _, body = whole.partition(b"\r\n\r\n")
        for field in (b"X-Outpost-Bounce-Kind: dsn",
                      b"X-Outpost-Bounce-Category: invalid_recipient",
                      b"X-Outpost-Bounce-Type: hard",
                      b"X-Outpost-Bounce-Recipient: ann@example.com",
                      b"X-Outpost-Original-Message-Id: 0000019a2b3c4d5e"):
            self.assertIn(field, head)
        self.assertTrue(corpus(ann).endswith(body), "the stored body is the bounce's")
        self.assertIn(b"\\Seen", parse_fetch(client.fetch("1", "(FLAGS)")[1])[1]["FLAGS"])
        self.assertEqual(search("UNSEEN"), [2, 3])
        self.assertEqual(search("SEEN"), [1])

        typ, data = client.fetch("2", "(BODY.PEEK[]<0.100>)")
        self.assertEqual(typ, "OK", data)
        partial = parse_fetch(data)[2]
        self.assertIn("BODY[]<0>", partial)  # the origin octet, not the length (§7.4.2)
        self.assertEqual(len(partial["BODY[]<0>"]), 100)
        typ, data = client.fetch("2", "(BODY.PEEK[])")
        self.assertEqual(parse_fetch(data)[2]["BODY[]"][:100], partial["BODY[]<0>"])
        self.assertEqual(search("UNSEEN"), [2, 3])

        typ, data = client.store("2", "+FLAGS", r"(\Flagged)")
        self.assertEqual(typ, "OK", data)
        self.assertIn(b"\\Flagged", parse_fetch(data)[2]["FLAGS"])
        self.assertEqual(search("FLAGGED"), [2])
        typ, data = client.store("2", "-FLAGS", r"(\Flagged)")
        self.assertEqual(typ, "OK", data)
        self.assertNotIn(b"\\Flagged", parse_fetch(data)[2]["FLAGS"])
        self.assertEqual(search("FLAGGED"), [])
        self.assertEqual(client.store("3", "+FLAGS.SILENT", r"(Processed-By-Test)")[0], "OK")
        flags = parse_fetch(client.fetch("3", "(FLAGS)")[1])[3]["FLAGS"]
        self.assertIn(b"Processed-By-Test", flags)  # a keyword (PERMANENTFLAGS has \*)

        # Folders: CREATE (with a child), SUBSCRIBE, LIST, LSUB.
        self.assertEqual(client.create("Processed")[0], "OK")
        self.assertEqual(client.create("Processed/2026")[0], "OK")
        self.assertEqual(client.create("Processed")[0], "NO")  # exists already
        self.assertEqual(client.subscribe("Processed")[0], "OK")
        typ, data = client.list('""', "*")
        self.assertEqual(typ, "OK", data)
        folders = listed_names(data)
        self.assertEqual(set(folders), {"INBOX", "Processed", "Processed/2026"})
        self.assertIn("\\HasChildren", folders["Processed"])
        self.assertIn("\\HasNoChildren", folders["Processed/2026"])
        self.assertEqual(set(listed_names(client.list('""', "%")[1])), {"INBOX", "Processed"})
        typ, data = client.lsub('""', "*")
        self.assertEqual(typ, "OK", data)
        self.assertIn("Processed", listed_names(data))
        self.assertNotIn("Processed/2026", listed_names(data))

        # UID MOVE dave's bounce (UID 3) out; UID COPY ann's (UID 1), then UID EXPUNGE it alone.
        typ, data = client.uid("MOVE", "3", "Processed")
        self.assertEqual(typ, "OK", data)
        copyuid = response_code(client, "COPYUID")
        self.assertEqual(copyuid[1:], ["3", "1"])  # uidvalidity, source uids, destination uids
        self.assertEqual(client.response("EXPUNGE")[1], [b"3"])
        typ, data = client.uid("COPY", "1", "Processed")
        self.assertEqual(typ, "OK", data)
        processed_validity, source, destination = response_code(client, "COPYUID")
        self.assertEqual((source, destination), ("1", "2"))
        self.assertEqual(client.store("1:2", "+FLAGS.SILENT", r"(\Deleted)")[0], "OK")
        typ, data = client.uid("EXPUNGE", "1")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(client.response("EXPUNGE")[1], [b"1"])
        typ, data = client.fetch("1:*", "(UID FLAGS)")
        remaining = parse_fetch(data)
        self.assertEqual(list(remaining), [1])  # bernd's, \Deleted but not in the UID set
        self.assertEqual(int(remaining[1]["UID"]), 2)
        self.assertEqual(client.store("1", "-FLAGS.SILENT", r"(\Deleted)")[0], "OK")

        typ, data = client.status("Processed", "(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)")
        self.assertEqual(typ, "OK", data)
        name, values = parse_value(b"(" + data[0] + b")")
        self.assertEqual(name, b"Processed")
        values = {k.decode(): int(v) for k, v in zip(values[::2], values[1::2])}
        self.assertEqual(values["MESSAGES"], 2)
        self.assertEqual(values["UNSEEN"], 1)  # dave's was unseen; ann's was read above
        self.assertEqual(values["UIDNEXT"], 3)
        self.assertEqual(values["UIDVALIDITY"], int(processed_validity))

        # RENAME takes the children along (RFC 3501 §6.3.5).
        self.assertEqual(client.rename("Processed", "Done")[0], "OK")
        self.assertEqual(set(listed_names(client.list('""', "*")[1])),
                         {"INBOX", "Done", "Done/2026"})
        self.assertEqual(client.rename("Nothing", "Else")[0], "NO")

        appended = (b"From: tester@example.com\r\nTo: processor@outpost.test\r\n"
                    b"Subject: appended by imaplib\r\nMessage-ID: <append-1@example.com>\r\n\r\n"
                    b"a note for the processed folder\r\n")
        typ, data = client.append("Done", r"(\Seen)", imaplib.Time2Internaldate(time.time()),
                                  appended)
        self.assertEqual(typ, "OK", data)
        appenduid = response_code(client, "APPENDUID")
        done_status = self.status("Done")
        self.assertEqual(int(appenduid[0]), done_status["UIDVALIDITY"])
        self.assertEqual(int(appenduid[1]), done_status["UIDNEXT"] - 1)
        self.assertEqual(done_status["MESSAGES"], 3)

        # EXPUNGE and CLOSE in the renamed folder; UNSELECT in INBOX.
        self.assertEqual(client.select("Done"), ("OK", [b"3"]))
        typ, data = client.uid("FETCH", appenduid[1], "(BODY.PEEK[])")
        self.assertEqual(list(parse_fetch(data).values())[0]["BODY[]"], appended)
        self.assertEqual(client.store("1", "+FLAGS", r"(\Deleted)")[0], "OK")
        typ, data = client.expunge()
        self.assertEqual((typ, data), ("OK", [b"1"]))
        self.assertEqual(client.store("1", "+FLAGS.SILENT", r"(\Deleted)")[0], "OK")
        self.assertEqual(client.close()[0], "OK")  # expunges silently
        self.assertEqual(self.status("Done")["MESSAGES"], 1)
        self.assertEqual(client.select("INBOX", readonly=True), ("OK", [b"1"]))
        self.assertEqual(client.unselect()[0], "OK")

        self.assertEqual(client.delete("Done/2026")[0], "OK")
        self.assertEqual(client.delete("Done")[0], "OK")
        self.assertEqual(client.delete("INBOX")[0], "NO")
        self.assertEqual(set(listed_names(client.list('""', "*")[1])), {"INBOX"})
        self.assertEqual(client.logout()[0], "BYE")

    def test_imaplib_over_implicit_tls_with_authenticate_plain(self):
        self.start_daemon()
        self.send_bounces("qmail_no_mailbox.eml")
        self.wait_for_messages(1)
        client = self.imaps(login=False)
        self.assertIn("AUTH=PLAIN", client.capabilities)
        self.assertNotIn("LOGINDISABLED", client.capabilities)
        self.assertNotIn("STARTTLS", client.capabilities)
        with self.assertRaises(imaplib.IMAP4.error) as wrong:
            client.authenticate("PLAIN", lambda _: f"\0{USER}\0wrong".encode())
        self.assertIn("AUTHENTICATIONFAILED", str(wrong.exception))
        typ, _ = client.authenticate("PLAIN", lambda _: f"\0{USER}\0{PASSWORD}".encode())
        self.assertEqual(typ, "OK")
        self.assertEqual(client.state, "AUTH")
        # EXAMINE: read-only, and BODY[] does not set \Seen (RFC 3501 §6.3.2).
        self.assertEqual(client.select("INBOX", readonly=True), ("OK", [b"1"]))
        self.assertIn("READ-ONLY", client.untagged_responses)
        whole = parse_fetch(client.fetch("1", "(BODY[])")[1])[1]["BODY[]"]
        self.assertIn(b"X-Outpost-Bounce-Recipient: gina@example.info", whole)
        self.assertNotIn(b"\\Seen", parse_fetch(client.fetch("1", "(FLAGS)")[1])[1]["FLAGS"])
        typ, data = client.store("1", "+FLAGS", r"(\Deleted)")
        self.assertEqual(typ, "NO", data)  # a read-only folder
        self.assertIn(b"READ-ONLY", data[0])
        client.logout()

        # SASL-IR: the credentials on the AUTHENTICATE line itself (RFC 4959).
        raw = self.raw_session(self.imaps_port)
        credentials = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode())
        self.assertTrue(tagged(raw.command(b"a", b"AUTHENTICATE PLAIN " + credentials), b"a")
                        .startswith(b"a OK"))
        self.assertTrue(tagged(raw.command(b"b", b"SELECT INBOX"), b"b").startswith(b"b OK"))
        raw.close()

    # -----------------------------------------------------------------------------------------
    # 1b. Folder names and the hierarchy (RFC 3501 §5.1, §6.3.3-§6.3.9).

    def test_folder_hierarchy(self):
        self.start_daemon()
        self.send_bounces("postfix_dsn_user_unknown.eml", "postfix_dsn_mailbox_full.eml")
        self.wait_for_messages(2)
        client = self.imaps()
        typ, data = client.list('""', '""')  # the delimiter and the root
        self.assertEqual((typ, data), ("OK", [b'(\\Noselect) "/" ""']))
        # A trailing delimiter only says a hierarchy is meant (§6.3.3).
        self.assertEqual(client.create("Reports/")[0], "OK")
        self.assertEqual(client.create('"Bounce Reports"')[0], "OK")
        self.assertEqual(client.create("&AOQ-rger")[0], "OK")  # modified UTF-7: "Ärger"
        for name in ('""', '"a*b"', '"a%b"'):
            self.assertEqual(client.create(name)[0], "NO", name)
        self.assertEqual(client.create("inbox")[0], "NO")  # INBOX, in any case, exists
        self.assertEqual(client.select("inbox"), ("OK", [b"2"]))
        self.assertEqual(client.unselect()[0], "OK")
        names = listed_names(client.list('""', "*")[1])
        self.assertEqual(set(names), {"INBOX", "Reports", "Bounce Reports", "&AOQ-rger"})

        # DELETE keeps inferior names: the parent becomes \Noselect (§6.3.4).
        self.assertEqual(client.create("Year/2026")[0], "OK")
        self.assertIn("\\HasChildren", listed_names(client.list('""', "Year*")[1])["Year"])
        self.assertEqual(client.delete("Year")[0], "OK")
        year = listed_names(client.list('""', "Year*")[1])
        self.assertIn("\\Noselect", year["Year"])
        self.assertIn("Year/2026", year)
        self.assertEqual(client.select("Year")[0], "NO")
        self.assertEqual(client.delete("Year")[0], "NO")  # \Noselect with inferiors
        self.assertEqual(client.delete("Year/2026")[0], "OK")
        self.assertNotIn("Year", listed_names(client.list('""', "*")[1]))

        # RENAME INBOX moves its messages and leaves it empty, inferiors untouched (§6.3.5).
        self.assertEqual(client.create("INBOX/keep")[0], "OK")
        self.assertEqual(client.rename("INBOX", "Old")[0], "OK")
        self.assertEqual(self.status("INBOX")["MESSAGES"], 0)
        self.assertEqual(self.status("Old")["MESSAGES"], 2)
        names = listed_names(client.list('""', "*")[1])
        self.assertIn("INBOX/keep", names)
        self.assertNotIn("Old/keep", names)
        self.assertIn("\\HasChildren", names["INBOX"])
        # Bounces keep arriving in the new INBOX.
        self.send_bounces("exim_user_unknown.eml")
        self.assertEqual(self.status("INBOX")["MESSAGES"], 1)
        client.logout()

    # A CREATE answered NO changes nothing: no superior folder is made for a refused name.
    def test_refused_create_leaves_no_folder(self):
        self.start_daemon()
        client = self.imaps()
        for name in ('"f//g"', '"h/*"', '"k/%"', '"m/n/"'):
            self.assertEqual(client.create(name)[0], "NO" if name != '"m/n/"' else "OK", name)
        self.assertEqual(set(listed_names(client.list('""', "*")[1])), {"INBOX", "m", "m/n"})
        client.logout()

    # RFC 3501 §6.3.6: the server "MUST NOT unilaterally remove an existing mailbox name from
    # the subscription list even if a mailbox by that name no longer exists"; a subscription it
    # accepts for a missing name is remembered too, and LSUB (§6.3.9) lists both.
    def test_subscriptions_outlive_their_folders(self):
        self.start_daemon()
        client = self.imaps()
        self.assertEqual(client.create("Kept")[0], "OK")
        self.assertEqual(client.subscribe("Kept")[0], "OK")
        self.assertIn("Kept", listed_names(client.lsub('""', "*")[1]))
        self.assertEqual(client.delete("Kept")[0], "OK")
        later = client.subscribe("Later")[0]
        subscribed = listed_names(client.lsub('""', "*")[1])
        self.assertIn("Kept", subscribed)
        if later == "OK":  # accepted, so remembered
            self.assertIn("Later", subscribed)
        client.logout()

    # RFC 3501 §5.1: INBOX is case-insensitive, so "inbox/sub" is INBOX/sub, in INBOX's
    # hierarchy (as Dovecot and Cyrus have it), not a second "inbox" tree beside it.
    def test_inbox_is_case_insensitive_in_hierarchies(self):
        self.start_daemon()
        client = self.imaps()
        self.assertEqual(client.create("inbox/sub")[0], "OK")
        names = listed_names(client.list('""', "*")[1])
        self.assertEqual([name for name in names if name.upper() == "INBOX"], ["INBOX"], names)
        self.assertEqual(client.select("INBOX/sub")[0], "OK")
        client.logout()

    # -----------------------------------------------------------------------------------------
    # 2. Two sessions on one folder.

    def test_two_sessions_see_each_others_changes(self):
        self.start_daemon()
        self.send_bounces("postfix_dsn_user_unknown.eml", "postfix_dsn_mailbox_full.eml",
                          "exim_user_unknown.eml")
        self.wait_for_messages(3)
        first, second = self.imaps(), self.imaps()
        self.assertEqual(first.select("INBOX"), ("OK", [b"3"]))
        self.assertEqual(second.select("INBOX"), ("OK", [b"3"]))
        for name in ("FETCH", "EXPUNGE", "EXISTS"):
            second.response(name)  # forget what SELECT left

        self.assertEqual(first.store("1", "+FLAGS", r"(\Flagged)")[0], "OK")
        self.assertEqual(second.noop()[0], "OK")
        _, updates = second.response("FETCH")
        self.assertTrue(updates and updates[0] is not None, "no untagged FETCH after the STORE")
        self.assertIn(b"\\Flagged", parse_fetch(updates)[1]["FLAGS"])

        self.assertEqual(first.store("2", "+FLAGS", r"(\Deleted)")[0], "OK")
        self.assertEqual(first.expunge(), ("OK", [b"2"]))
        # Not during a FETCH, STORE or SEARCH: the numbers would shift under the client's feet
        # (RFC 3501 §7.4.1); the second session still numbers three messages.
        typ, data = second.fetch("1:*", "(UID)")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(sorted(parse_fetch(data)), [1, 2, 3])
        self.assertEqual(second.response("EXPUNGE")[1], [None])
        self.assertEqual(second.noop()[0], "OK")
        self.assertEqual(second.response("EXPUNGE")[1], [b"2"])
        typ, data = second.fetch("1:*", "(UID)")
        self.assertEqual([int(f["UID"]) for f in parse_fetch(data).values()], [1, 3])

        # A bounce arriving meanwhile: EXISTS in both, on their next command.
        self.send_bounces("qmail_no_mailbox.eml")
        self.assertEqual(second.noop()[0], "OK")
        self.assertEqual(second.response("EXISTS")[1][-1], b"3")
        self.assertEqual(first.noop()[0], "OK")
        self.assertEqual(first.response("EXISTS")[1][-1], b"3")
        first.logout()
        second.logout()

    # -----------------------------------------------------------------------------------------
    # 3. IDLE (RFC 2177) on a raw TLS socket.

    def test_idle_reports_a_new_bounce(self):
        self.start_daemon()
        self.send_bounces("postfix_dsn_user_unknown.eml")
        self.wait_for_messages(1)
        raw = self.raw_session(self.imaps_port)
        self.assertTrue(raw.greeting.startswith(b"* OK"), raw.greeting)
        self.assertTrue(tagged(raw.command(b"a", f"LOGIN {USER} {PASSWORD}".encode()), b"a")
                        .startswith(b"a OK"))
        selected = raw.command(b"b", b"SELECT INBOX")
        self.assertIn(b"* 1 EXISTS", selected)
        self.assertTrue(tagged(selected, b"b").startswith(b"b OK"))
        raw.send(b"c IDLE\r\n")
        continuation = raw.line(10)
        self.assertTrue(continuation.startswith(b"+ "), continuation)

        # The reader owns the socket until DONE; it notes when each untagged line came.
        seen = []
        def read_untagged():
            while True:
                line = raw.line(15)
                if line is None:
                    return
                seen.append((time.monotonic(), line))
                if b"FETCH" in line:  # the last thing this test expects
                    return
        reader = threading.Thread(target=read_untagged, daemon=True)
        reader.start()

        name = "exim_user_unknown.eml"
        with smtplib.SMTP("127.0.0.1", self.bounce_port, timeout=30) as smtp:
            smtp.ehlo()
            self.assertEqual(smtp.mail("")[0], 250)
            self.assertEqual(smtp.rcpt(verp(name))[0], 250)
            code, _ = smtp.data(corpus(name))
            accepted = time.monotonic()
            self.assertEqual(code, 250)
        wait_until(lambda: any(line == b"* 2 EXISTS" for _, line in seen), 10,
                   what="* 2 EXISTS while idling")
        arrived = next(at for at, line in seen if line == b"* 2 EXISTS")
        latency = arrived - accepted  # may be a hair below 0: the EXISTS can beat the 250
        print(f"\nIDLE: * 2 EXISTS {latency * 1000:.1f} ms after the SMTP 250", file=sys.stderr)
        self.assertLess(latency, 5.0)  # the requirement is 1 s; 5 keeps a loaded machine green

        # Another session's STORE reaches the idler as an untagged FETCH.
        other = self.imaps()
        other.select("INBOX")
        other.store("1", "+FLAGS", r"(\Flagged)")
        other.logout()
        reader.join(15)
        self.assertFalse(reader.is_alive(), f"no FETCH while idling: {seen}")
        self.assertTrue(any(re.match(rb"\* 1 FETCH \(.*\\Flagged", line) for _, line in seen), seen)

        raw.send(b"DONE\r\n")
        done = raw.until_tagged(b"c", 10)
        self.assertTrue(tagged(done, b"c").startswith(b"c OK"), done)
        self.assertTrue(tagged(raw.command(b"d", b"NOOP"), b"d").startswith(b"d OK"))
        raw.close()

    # -----------------------------------------------------------------------------------------
    # 4. curl imap:// and imaps://.

    def curl(self, url, *args):
        # -q first: no ~/.curlrc.
        out = subprocess.run(["curl", "-q", "-sS", "--max-time", "30", "-k", *args, url,
                              "-u", f"{USER}:{PASSWORD}"], capture_output=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def test_curl_reads_imap(self):
        self.start_daemon()
        self.send_bounces("postfix_dsn_user_unknown.eml", "qmail_no_mailbox.eml")
        self.wait_for_messages(2)
        base = f"imap://127.0.0.1:{self.imap_port}"
        self.assertEqual(self.curl(base + "/INBOX", "--ssl-reqd", "-X", "SEARCH ALL").strip(),
                         b"* SEARCH 1 2")
        message = self.curl(base + "/INBOX;UID=2", "--ssl-reqd")
        self.assertIn(b"X-Outpost-Bounce-Recipient: gina@example.info", message)
        self.assertIn(b"X-Outpost-Original-Message-Id: 0000019a2b3c4d64", message)
        examined = self.curl(base + "/INBOX", "--ssl-reqd", "-X", "EXAMINE INBOX").decode()
        self.assertIn("* 2 EXISTS", examined)
        self.assertRegex(examined, r"\* OK \[UIDVALIDITY \d+\]")
        self.assertRegex(examined, r"\* OK \[UIDNEXT 3\]")
        # A section of a message; then an upload (APPEND) and a search for it, over imaps://.
        header = self.curl(base + "/INBOX;UID=1;SECTION=HEADER.FIELDS%20(X-OUTPOST-BOUNCE-TYPE)",
                           "--ssl-reqd")
        self.assertEqual(header.strip(), b"X-Outpost-Bounce-Type: hard")
        note = os.path.join(self.workdir, "note.eml")
        with open(note, "wb") as f:
            f.write(b"From: c@example.com\r\nSubject: uploaded by curl\r\n\r\nhello\r\n")
        tls_base = f"imaps://127.0.0.1:{self.imaps_port}"
        self.curl(tls_base + "/INBOX", "-T", note)
        self.assertEqual(self.curl(tls_base + "/INBOX", "-X", 'SEARCH SUBJECT "by curl"').strip(),
                         b"* SEARCH 3")
        self.assertRegex(self.curl(tls_base + "/").decode(), r'\* LIST \([^)]*\) "/" "?INBOX"?')
        # curl reads with BODY[...] (not .PEEK, so \Seen is set: RFC 3501 §6.4.5) and appends
        # with (\Seen).
        self.assertEqual(self.curl(tls_base + "/INBOX", "-X", "SEARCH UNSEEN").strip(), b"* SEARCH")
        self.assertEqual(self.curl(tls_base + "/INBOX", "-X", "SEARCH SEEN").strip(),
                         b"* SEARCH 1 2 3")

    # -----------------------------------------------------------------------------------------
    # 5. fetchmail over IMAP and POP3.

    def fetchmail(self, rc_text, expect):
        home = os.path.join(self.workdir, "fetchmail-home")
        os.makedirs(home, exist_ok=True)
        rc = os.path.join(home, "fetchmailrc")
        with open(rc, "w") as f:
            f.write(rc_text)
        os.chmod(rc, stat.S_IRUSR | stat.S_IWUSR)
        env = dict(os.environ, HOME=home, FETCHMAILHOME=home)
        out = subprocess.run(["fetchmail", "-f", rc, "--nosyslog", "-v", "--nodetach",
                              "--pidfile", os.path.join(home, "fetchmail.pid")],
                             capture_output=True, text=True, timeout=60, env=env, cwd=home)
        # 0: mail was retrieved; 1: there was none.
        self.assertEqual(out.returncode, expect, out.stdout + out.stderr)
        return out.stdout + out.stderr

    def fetchmail_rc(self, protocol, port, mbox, options, server_options=""):
        # The daemon's own certificate is the trust anchor, checked for the name it carries
        # (sslcommonname; the connection goes to 127.0.0.1); "sslproto TLS1.2+" makes
        # STARTTLS/STLS mandatory.
        return (f'poll outpost.test via 127.0.0.1 with protocol {protocol} port {port} '
                f'{server_options}\n'
                f'  user "{USER}" there with password "{PASSWORD}" is "localuser" here\n'
                f'  sslproto "TLS1.2+" sslcertck sslcertfile "{self.cert}" '
                f'sslcommonname "outpost.test"\n'
                f'  {options}\n'
                f'  mda "cat >> {mbox}"\n')

    def test_fetchmail_over_imap(self):
        self.start_daemon()
        names = ("postfix_dsn_user_unknown.eml", "postfix_dsn_mailbox_full.eml",
                 "exim_user_unknown.eml")
        self.send_bounces(*names)
        self.wait_for_messages(3)
        mbox = os.path.join(self.workdir, "fetched.mbox")
        log = self.fetchmail(self.fetchmail_rc("IMAP", self.imap_port, mbox, "keep"), 0)
        self.assertIn("STARTTLS", log)
        self.assertIn("3 messages", log)
        with open(mbox, "rb") as f:
            fetched = f.read()
        self.assertEqual(fetched.count(b"X-Outpost-Bounce-Kind:"), 3)
        for name in names:
            self.assertIn(f"X-Outpost-Bounce-Recipient: {SAMPLES[name][1]}".encode(), fetched)
        # keep: still there, now \Seen; fetchmail asks for UNSEEN, so the next poll has none.
        self.assertEqual(self.status("INBOX")["MESSAGES"], 3)
        self.assertEqual(self.status("INBOX")["UNSEEN"], 0)
        self.fetchmail(self.fetchmail_rc("IMAP", self.imap_port, mbox, "keep"), 1)

        # No keep, fetchall: fetched again, \Deleted and expunged.
        self.send_bounces("qmail_no_mailbox.eml")
        log = self.fetchmail(self.fetchmail_rc("IMAP", self.imap_port, mbox, "fetchall"), 0)
        self.assertRegex(log, r"STORE \d+ \+FLAGS \([^)]*\\Deleted")
        self.assertIn("EXPUNGE", log)
        with open(mbox, "rb") as f:
            self.assertEqual(f.read().count(b"X-Outpost-Bounce-Kind:"), 7)
        self.assertEqual(self.status("INBOX")["MESSAGES"], 0)

    def test_fetchmail_over_pop3(self):
        self.start_daemon(pop3=True)
        self.send_bounces("postfix_dsn_user_unknown.eml", "qmail_no_mailbox.eml")
        self.wait_for_messages(2)
        mbox = os.path.join(self.workdir, "fetched.mbox")
        rc = self.fetchmail_rc("POP3", self.pop3_port, mbox, "keep", server_options="uidl")
        log = self.fetchmail(rc, 0)
        self.assertIn("STLS", log)
        self.assertIn("UIDL", log)
        with open(mbox, "rb") as f:
            self.assertEqual(f.read().count(b"X-Outpost-Bounce-Kind:"), 2)
        self.fetchmail(rc, 1)  # UIDL: both seen already
        self.assertEqual(self.status("INBOX")["MESSAGES"], 2)
        self.fetchmail(self.fetchmail_rc("POP3", self.pop3_port, mbox, "fetchall"), 0)
        with open(mbox, "rb") as f:
            self.assertEqual(f.read().count(b"X-Outpost-Bounce-Kind:"), 4)
        wait_until(lambda: self.status("INBOX")["MESSAGES"] == 0, 10, what="the DELEs committed")

    # -----------------------------------------------------------------------------------------
    # 6. mbsync (isync): both ways, folder creation on the server.

    def test_mbsync_syncs_both_ways(self):
        self.start_daemon()
        names = ("postfix_dsn_user_unknown.eml", "exim_user_unknown.eml")
        self.send_bounces(*names)
        self.wait_for_messages(2)
        home = os.path.join(self.workdir, "mbsync-home")
        mail = os.path.join(home, "mail")
        archive = os.path.join(mail, "Archive")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(archive, sub))
        with open(os.path.join(archive, "new", "1700000000.1.localhost"), "wb") as f:
            f.write(b"From: me@example.com\r\nSubject: local note\r\n"
                    b"Message-ID: <local-1@example.com>\r\n\r\nkept locally, synced up\r\n")
        # Old enough that mbsync does not wait out "recent directory modification".
        for path in (mail, archive, *(os.path.join(archive, s) for s in ("cur", "new", "tmp"))):
            os.utime(path, (time.time() - 60, time.time() - 60))
        conf = os.path.join(home, "mbsyncrc")
        with open(conf, "w") as f:
            # The certificate in CertificateFile is trusted as it is: mbsync accepts it for
            # 127.0.0.1 although it names outpost.test.
            f.write(f"IMAPAccount outpost\nHost 127.0.0.1\nPort {self.imap_port}\n"
                    f"User {USER}\nPass {PASSWORD}\nSSLType STARTTLS\n"
                    f"CertificateFile {self.cert}\n\n"
                    f"IMAPStore remote\nAccount outpost\n\n"
                    f"MaildirStore local\nPath {mail}/\nInbox {mail}/INBOX\nSubFolders Verbatim\n\n"
                    f"Channel sync\nFar :remote:\nNear :local:\nPatterns *\nCreate Both\n"
                    f"SyncState *\nSync All\n")

        def mbsync():
            out = subprocess.run(["mbsync", "-c", conf, "-a", "-Dn"], capture_output=True,
                                 text=True, timeout=60, env=dict(os.environ, HOME=home))
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            return out.stdout + out.stderr

        def local_messages():
            found = {}
            for folder in ("INBOX", "Archive"):
                for sub in ("cur", "new"):
                    directory = os.path.join(mail, folder, sub)
                    for entry in sorted(os.listdir(directory)) if os.path.isdir(directory) else ():
                        with open(os.path.join(directory, entry), "rb") as f:
                            found[f"{folder}/{sub}/{entry}"] = f.read()
            return found

        log = mbsync()
        self.assertRegex(log, r'CREATE "?Archive"?')
        self.assertIn("APPEND", log)
        first = local_messages()
        inbox = [body for path, body in first.items() if path.startswith("INBOX/")]
        self.assertEqual(len(inbox), 2, list(first))
        for name in names:
            self.assertTrue(any(f"X-Outpost-Bounce-Recipient: {SAMPLES[name][1]}".encode() in body
                                for body in inbox), name)

        client = self.imaps()
        self.assertEqual(set(listed_names(client.list('""', "*")[1])), {"INBOX", "Archive"})
        self.assertEqual(client.select("Archive"), ("OK", [b"1"]))
        typ, data = client.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(parse_fetch(data)[1]["BODY[HEADER.FIELDS (SUBJECT)]"],
                         b"Subject: local note\r\n\r\n")
        client.logout()
        inbox_before = self.status("INBOX")

        # The second run has nothing to do: no uploads, no downloads, no flag changes.
        log = mbsync()
        for command in ("CREATE", "APPEND", "STORE", "BODY.PEEK[]", "EXPUNGE"):
            self.assertNotRegex(log, rf">>> \d+ .*{re.escape(command)}", log)
        self.assertEqual(local_messages(), first)
        self.assertEqual(self.status("INBOX"), inbox_before)
        self.assertEqual(self.status("Archive")["MESSAGES"], 1)

    # -----------------------------------------------------------------------------------------
    # 7. Bad input on raw sockets: refused, the session (or a new one) still works.

    def rss_peak_kib(self):
        with open(f"/proc/{self.outpost.proc.pid}/status") as f:
            return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))

    def logged_in(self):
        raw = self.raw_session(self.imaps_port)
        self.assertTrue(tagged(raw.command(b"l", f"LOGIN {USER} {PASSWORD}".encode()), b"l")
                        .startswith(b"l OK"))
        return raw

    def test_ten_megabyte_command_line(self):
        self.start_daemon()
        peak_before = self.rss_peak_kib()
        raw = self.raw_session(self.imap_port, tls=False)
        def send_it():
            try:
                raw.send(b"a " + b"X" * (10 * 1024 * 1024) + b"\r\nb CAPABILITY\r\n")
            except OSError:
                pass  # the server may close the connection after its BAD
        sender = threading.Thread(target=send_it, daemon=True)
        sender.start()
        reply = raw.line(30)
        self.assertIsNotNone(reply, "connection closed without a reply")
        self.assertRegex(reply, rb"^(\*|a) (BAD|BYE)", reply[:200])
        sender.join(30)
        rest = raw.until_tagged(b"b", 30)
        if rest and tagged(rest, b"b"):
            self.assertTrue(tagged(rest, b"b").startswith(b"b OK"), rest)
            print("\n10 MB line: BAD, the session went on", file=sys.stderr)
        else:
            print(f"\n10 MB line: {reply!r}, then {rest!r} and the end", file=sys.stderr)
        raw.close()
        growth = self.rss_peak_kib() - peak_before
        print(f"10 MB line: peak RSS grew by {growth} KiB", file=sys.stderr)
        # Holding the line would cost at least its 10 MiB; a few MiB of noise is not that. Under
        # ASan freed receive buffers stay resident in its quarantine, so the peak follows the
        # bytes received, not the bytes held: there imap_test's unit case checks the bound.
        if not sanitized(OUTPOST):
            self.assertLess(growth, 8 * 1024, "the line was buffered")
        self.assert_alive()

    def test_literal_over_the_limit(self):
        self.start_daemon()
        raw = self.logged_in()
        # A synchronizing literal over APPENDLIMIT: refused before any "+" (RFC 7889, RFC 3501
        # §7.5); no data is sent.
        reply = raw.command(b"a", b"APPEND INBOX {999999999}")
        self.assertRegex(tagged(reply, b"a") or b"", rb"^a (NO|BAD)", reply)
        self.assertFalse(any(line.startswith(b"+") for line in reply), reply)
        # A literal in any other command past literal_bytes_max (64 KiB): the same.
        reply = raw.command(b"b", b"LIST {100000}")
        self.assertRegex(tagged(reply, b"b") or b"", rb"^b (NO|BAD)", reply)
        self.assertTrue(tagged(raw.command(b"c", b"NOOP"), b"c").startswith(b"c OK"))
        # A non-synchronizing literal over the limit comes whether refused or not: its octets
        # are read and dropped, never taken for commands (RFC 7888 §4), here NOOPs.
        inside = (b"z NOOP\r\n" * 12500)[:100000]
        raw.send(b"e LOGIN processor {100000+}\r\n" + inside + b"\r\nf NOOP\r\n")
        reply = raw.until_tagged(b"f")
        self.assertRegex(reply[0], rb"^e (NO|BAD)", reply[:3])
        self.assertFalse([line for line in reply if line.startswith(b"z ")], reply[:3])
        self.assertTrue(tagged(reply, b"f").startswith(b"f OK"), reply[-3:])
        # A literal within the limit is still taken.
        message = b"Subject: small\r\n\r\nsmall\r\n"
        raw.send(b"d APPEND INBOX {%d}\r\n" % len(message))
        self.assertTrue(raw.line(10).startswith(b"+"))
        raw.send(message + b"\r\n")
        self.assertTrue(tagged(raw.until_tagged(b"d"), b"d").startswith(b"d OK"))
        raw.close()
        self.assert_alive()

    def test_unbalanced_parentheses_and_unknown_commands(self):
        self.start_daemon()
        self.send_bounces("postfix_dsn_user_unknown.eml")
        self.wait_for_messages(1)
        raw = self.logged_in()
        self.assertTrue(tagged(raw.command(b"s", b"SELECT INBOX"), b"s").startswith(b"s OK"))
        for tag, text in ((b"a", b"FETCH 1 (FLAGS"), (b"b", b"FETCH 1 FLAGS)"),
                          (b"c", b"FETCH 1 (FLAGS (UID)"), (b"d", b"FETCH 1 ((FLAGS)"),
                          (b"e", b"SEARCH (OR SEEN UNSEEN"), (b"f", b"STORE 1 +FLAGS (\\Seen"),
                          (b"g", b"FROBNICATE INBOX"), (b"h", b""), (b"i", b"FETCH"),
                          (b"j", b"FETCH x:y FLAGS")):
            reply = raw.command(tag, text)
            self.assertTrue((tagged(reply, tag) or b"").startswith(tag + b" BAD"),
                            (text, reply))
        typ = raw.command(b"k", b"FETCH 1 (FLAGS UID)")
        self.assertTrue(tagged(typ, b"k").startswith(b"k OK"), typ)
        self.assertTrue(any(re.match(rb"\* 1 FETCH \(.*UID 1", line) for line in typ), typ)
        raw.close()
        self.assert_alive()

    def test_commands_in_the_wrong_state(self):
        self.start_daemon()
        raw = self.raw_session(self.imaps_port)
        for tag, text in ((b"a", b"SELECT INBOX"), (b"b", b"FETCH 1 FLAGS"),
                          (b"c", b"LIST \"\" *"), (b"d", b"EXPUNGE")):
            reply = raw.command(tag, text)  # not authenticated (RFC 3501 §3.1)
            self.assertRegex(tagged(reply, tag) or b"", rb"^" + tag + rb" (BAD|NO)", (text, reply))
        self.assertTrue(tagged(raw.command(b"e", f"LOGIN {USER} {PASSWORD}".encode()), b"e")
                        .startswith(b"e OK"))
        for tag, text in ((b"f", b"FETCH 1 FLAGS"), (b"g", b"STORE 1 +FLAGS (\\Seen)"),
                          (b"h", b"EXPUNGE"), (b"i", b"CLOSE"), (b"j", b"UID SEARCH ALL")):
            reply = raw.command(tag, text)  # authenticated, nothing selected
            self.assertRegex(tagged(reply, tag) or b"", rb"^" + tag + rb" (BAD|NO)", (text, reply))
        reply = raw.command(b"k", f"LOGIN {USER} {PASSWORD}".encode())  # already logged in
        self.assertRegex(tagged(reply, b"k") or b"", rb"^k (BAD|NO)", reply)
        self.assertTrue(tagged(raw.command(b"l", b"SELECT INBOX"), b"l").startswith(b"l OK"))
        raw.close()
        self.assert_alive()

    def test_starttls_drops_pipelined_plaintext(self):
        self.start_daemon(login_without_tls=True)
        raw = self.raw_session(self.imap_port, tls=False)
        # A command sent in plaintext behind STARTTLS (a man in the middle's injection) must not
        # run inside the TLS session (RFC 3501 §6.2.1; the CVE-2011-0411 class).
        raw.send(b"a STARTTLS\r\nb LOGIN processor imap-pass\r\n")
        self.assertTrue(raw.line(10).startswith(b"a OK"))
        raw.sock.settimeout(10)
        raw.sock = insecure_tls_context().wrap_socket(raw.sock, server_hostname="outpost.test")
        raw.buffer = b""
        reply = raw.command(b"c", b"NOOP")
        self.assertEqual(reply, [b"c OK NOOP completed"], "the injected LOGIN was answered")
        reply = raw.command(b"d", b"SELECT INBOX")
        self.assertRegex(tagged(reply, b"d") or b"", rb"^d (BAD|NO)", "logged in by injection")
        self.assertTrue(tagged(raw.command(b"e", b"STARTTLS"), b"e").startswith(b"e BAD"))
        raw.close()
        self.assert_alive()

    def test_too_many_failed_logins(self):
        self.start_daemon()
        raw = self.raw_session(self.imaps_port)
        started = time.monotonic()
        for attempt in (1, 2, 3):  # SessionLimits::auth_failures_max
            tag = b"a%d" % attempt
            reply = raw.command(tag, f"LOGIN {USER} wrong{attempt}".encode(), timeout=15)
            self.assertTrue((tagged(reply, tag) or b"").startswith(tag + b" NO"), reply)
        elapsed = time.monotonic() - started
        # auth_failure_delay 100ms: each wrong password is answered after it, not at once.
        self.assertGreaterEqual(elapsed, 0.3)
        rest = []
        try:
            while (line := raw.line(10)) is not None:  # up to the end of the stream
                rest.append(line)
        except AssertionError:
            self.fail(f"the session stays open after three failed logins: {rest}")
        self.assertTrue(rest and rest[0].startswith(b"* BYE"), rest)
        raw.close()
        # The right password still works in a new session.
        self.logged_in().close()
        self.assert_alive()

if __name__ == "__main__":
    run_tests(sys.modules[__name__])
