"""End-to-end SMTP submission normalisation and limits, with raw sockets where a library
would tidy the bytes: bare LF and the SMTP-smuggling shapes repaired into CRLF lines (one
message, never two), CHUNKING (BDAT) in several chunks, VERP return paths in the bounce domain
(one per recipient, naming message and recipient), the per-address rate limit (451 4.7.1),
and the size limit (552 5.3.4). The receiving server is a scripted peer that records the
exact bytes. Run as: submission_test.py --outpost PATH."""
import re
import smtplib
import socket

from harness import run_tests, Outpost, wait_until, DaemonTest
from scripted_peer import ScriptedPeer

OUTPOST = None


class RawClient:
    """A line-level SMTP client that sends exactly the bytes it is given."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.file = self.sock.makefile("rb")
        self.reply()  # greeting

    def reply(self):
        lines = []
        while True:
            line = self.file.readline().decode()
            lines.append(line.rstrip("\r\n"))
            if len(line) < 4 or line[3] != "-":
                return int(lines[-1][:3]), "\n".join(lines)

    def send(self, data):
        self.sock.sendall(data)

    def command(self, line):
        self.send(line.encode() + b"\r\n")
        return self.reply()

    def close(self):
        self.file.close()
        self.sock.close()


class SubmissionTest(DaemonTest):
    def start(self, **settings):
        self.peer = self.started(ScriptedPeer())
        base = {"submission": {"listen": '["127.0.0.1:0"]', "message_bytes_max": "65536"}}
        for section, keys in settings.items():
            base.setdefault(section, {}).update(keys)
        self.outpost = self.started(Outpost(OUTPOST, self.workdir, self.peer.port, base))
        self.outpost.start()
        return RawClient(self.outpost.port)

    def test_bare_line_ends_are_repaired_and_never_end_the_message(self):
        client = self.start()
        self.assertEqual(client.command("EHLO client.test")[0], 250)
        self.assertEqual(client.command("MAIL FROM:<a@example.com>")[0], 250)
        self.assertEqual(client.command("RCPT TO:<b@example.net>")[0], 250)
        self.assertEqual(client.command("DATA")[0], 354)
        # Bare LF lines, a bare CR, and "\n.\n" / "\r.\r" that a lax server would take for the
        # end of DATA, followed by a smuggled transaction.
        client.send(b"Subject: bare\nMessage-ID: <bare-1@outpost.test>\n\nline one\nline two\r"
                    b"line three\n.\nMAIL FROM:<evil@example.com>\r\nRCPT TO:<x@example.net>\r\n"
                    b"DATA\r\nSubject: smuggled\r\n\r\n.\r.\rend\r\n.\r\n")
        code, text = client.reply()
        self.assertEqual(code, 250, text)
        self.assertEqual(client.command("QUIT")[0], 221)
        client.close()
        wait_until(lambda: len(self.peer.received()) >= 1, 30, 0.1, "the message")
        [(mail_from, rcpts, data)] = self.peer.received()
        self.assertEqual(rcpts, [b"b@example.net"] if isinstance(rcpts[0], bytes) else
                         ["b@example.net"])
        self.assertNotRegex(data, rb"[^\r]\n")           # every LF has its CR
        self.assertNotRegex(data, rb"\r(?!\n)")          # every CR has its LF
        self.assertIn(b"line one\r\nline two\r\nline three\r\n.\r\nMAIL FROM:<evil@example.com>",
                      data)
        self.assertIn(b"Subject: smuggled\r\n\r\n.\r\n.\r\nend\r\n", data)
        self.assertEqual(self.outpost.stop(), 0)
        self.assertEqual(len(self.peer.received()), 1)  # nothing smuggled out

    def test_bdat_chunks_make_one_message(self):
        client = self.start()
        code, text = client.command("EHLO client.test")
        self.assertIn("CHUNKING", text)
        chunks = [b"Subject: chunked\r\nMessage-ID: <bdat-1@outpost.test>\r\n\r\n",
                  b"first chunk, then a line split ", b"across chunks\r\n.leading dot\r\n"]
        # Pipelined: MAIL, RCPT and every chunk in one write; one reply each.
        data = b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\n"
        for i, chunk in enumerate(chunks):
            last = " LAST" if i == len(chunks) - 1 else ""
            data += f"BDAT {len(chunk)}{last}\r\n".encode() + chunk
        client.send(data)
        replies = [client.reply() for _ in range(2 + len(chunks))]
        self.assertEqual([r[0] for r in replies], [250] * (2 + len(chunks)), replies)
        self.assertIn("queued as", replies[-1][1])
        # BDAT without a transaction: refused, and its octets still consumed.
        client.send(b"BDAT 5 LAST\r\nhello")
        self.assertEqual(client.reply()[0], 503)
        self.assertEqual(client.command("NOOP")[0], 250)
        client.command("QUIT")
        client.close()
        wait_until(lambda: len(self.peer.received()) >= 1, 30, 0.1, "the chunked message")
        [(_, _, data)] = self.peer.received()
        self.assertIn(b"first chunk, then a line split across chunks\r\n.leading dot\r\n", data)
        self.assertEqual(self.outpost.stop(), 0)

    def test_verp_return_path_per_recipient(self):
        client = self.start(bounce={"domain": '"bounces.outpost.test"'})
        client.close()
        with smtplib.SMTP("127.0.0.1", self.outpost.port, timeout=30) as smtp:
            smtp.sendmail("news@example.com", ["ann@example.net", "bob+tag@example.net"],
                          "Subject: verp\r\nMessage-ID: <verp-1@outpost.test>\r\n\r\nx\r\n")
            queued = smtp.noop()  # keep the session until the message is in
        self.assertEqual(queued[0], 250)
        wait_until(lambda: len(self.peer.received()) >= 2, 30, 0.1, "both copies")
        senders = {}
        for mail_from, rcpts, _ in self.peer.received():
            mail_from = mail_from.decode() if isinstance(mail_from, bytes) else mail_from
            [rcpt] = rcpts
            rcpt = rcpt.decode() if isinstance(rcpt, bytes) else rcpt
            senders[rcpt] = mail_from
        ids = set()
        for rcpt, mail_from in senders.items():
            local, domain = rcpt.split("@")
            # <prefix>+<id>+<tag: key id and MAC>+<local>=<domain>@<bounce domain>
            match = re.fullmatch(r"bounce\+([0-9a-f]{16})\+[0-9a-f]{18}\+(.+)@bounces\.outpost\.test",
                                 mail_from)
            self.assertIsNotNone(match, mail_from)
            self.assertEqual(match.group(2), f"{local}={domain}")
            ids.add(match.group(1))
        self.assertEqual(set(senders), {"ann@example.net", "bob+tag@example.net"})
        self.assertEqual(len(ids), 1)  # one message, two return paths
        self.assertEqual(self.outpost.stop(), 0)

    def test_rate_limit_per_address_and_size_limit(self):
        # 2 a minute for the node: each shard's share is one, so a second MAIL on the same
        # connection (same shard) is over it.
        client = self.start(submission={"rate_per_ip": '"2/m"'})
        client.command("EHLO client.test")
        self.assertEqual(client.command("MAIL FROM:<a@example.com>")[0], 250)
        client.command("RSET")
        code, text = client.command("MAIL FROM:<a@example.com>")
        self.assertEqual(code, 451, text)
        self.assertIn("4.7.1", text)
        client.command("QUIT")
        client.close()
        client = RawClient(self.outpost.port)
        client.command("EHLO client.test")
        code, text = client.command("MAIL FROM:<a@example.com> SIZE=70000")
        self.assertEqual(code, 552, text)  # declared too large: refused before any byte
        client.close()
        self.assertEqual(self.outpost.stop(), 0)
        self.assertEqual(len(self.peer.received()), 0)


if __name__ == "__main__":
    import sys
    run_tests(sys.modules[__name__])
