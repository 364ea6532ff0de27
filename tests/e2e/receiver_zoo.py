"""A receiver zoo: one scripted SMTP server playing many receiver behaviours seen in the wild,
each on its own loopback address (127.0.1.N, one port for all), so one daemon delivering by MX
meets every behaviour at once, each as its own destination.

A behaviour is a Session subclass registered under a name. Unless it says `always`, it
misbehaves on its first connection only and is a plain receiver afterwards, so every
deferral must end in a delivery. The zoo keeps, per behaviour, the messages it acknowledged
(the 250 after the body, or for a receiver that goes silent, the moment it decided to keep
the message), with their Message-ID and recipients: what the daemon may count as delivered.

    zoo = Zoo(workdir, ["plain", "body-250-421", ...])
    zoo.address("plain")           # "127.0.1.1"; zoo.port is shared
    zoo.acknowledged("plain")      # [(message_id, [rcpts], connection number), ...]
    zoo.stop()

Run alone to try one behaviour by hand (`receiver_zoo.py NAME --port 2525`): it then
listens on 127.0.0.1.
"""
import argparse
import os
import re
import socket
import ssl
import struct
import subprocess
import threading
import time

BEHAVIOURS = {}


def behaviour(name, always=False):
    """Registers a Session subclass as behaviour `name`; `always`: on every connection."""
    def register(cls):
        cls.name = name
        cls.always = always
        BEHAVIOURS[name] = cls
        return cls
    return register


class Stop(Exception):
    """Ends the session: the connection is closed (or was already)."""


class Session:
    """A plain receiver: EHLO with PIPELINING, MAIL, RCPT, DATA, RSET, NOOP, QUIT and, when
    `tls` is set, STARTTLS. Subclasses override one step each."""
    always = True
    tls = False            # advertise STARTTLS and do a real handshake
    pipelining = True
    line_end = b"\r\n"
    ehlo_extra = []        # more EHLO keywords

    def __init__(self, zoo, conn, number):
        self.zoo = zoo
        self.conn = conn
        self.number = number    # 1 for the behaviour's first connection, ...
        self.buf = b""
        self.mail_from = None
        self.rcpts = []
        self.transactions = 0   # bodies answered on this connection
        self.mails = 0          # MAIL commands so far on this connection (1: the first)
        self.tls_on = False

    # Input: lines from a buffer of our own (the socket may be wrapped in TLS mid-way).
    def readline(self):
        while b"\n" not in self.buf:
            data = self.conn.recv(65536)
            if not data:
                raise Stop()
            self.buf += data
            if len(self.buf) > 1 << 20:
                raise Stop()
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    # Output.
    def send(self, data):
        self.conn.sendall(data)

    def reply(self, *lines):
        """One reply; several lines make a multi-line reply of the first line's code."""
        self.send(self.format(*lines))

    def format(self, *lines):
        out = b""
        for i, line in enumerate(lines):
            last = i == len(lines) - 1
            out += (line if last else line[:3] + b"-" + line[4:]) + self.line_end
        return out

    def close_with_rst(self):
        self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.conn.close()
        raise Stop()

    # The conversation.
    def run(self):
        self.greet()
        while True:
            line = self.readline()
            verb = line.split(b" ", 1)[0].strip().upper().decode(errors="replace")
            if verb == "MAIL":
                self.mails += 1
            handler = getattr(self, "on_" + verb.lower(), None) if verb.isalpha() else None
            (handler or self.on_unknown)(line)

    def greet(self):
        self.reply(b"220 zoo.test ESMTP")

    def ehlo_lines(self):
        lines = [b"250 zoo.test"]
        if self.pipelining:
            lines.append(b"250 PIPELINING")
        lines += [b"250 8BITMIME", b"250 ENHANCEDSTATUSCODES"]
        if self.tls and not self.tls_on:
            lines.append(b"250 STARTTLS")
        lines += [b"250 " + extra for extra in self.ehlo_extra]
        return lines

    def on_ehlo(self, line):
        self.reply(*self.ehlo_lines())

    def on_helo(self, line):
        self.reply(b"250 zoo.test")

    def on_starttls(self, line):
        if not self.tls or self.tls_on:
            return self.reply(b"502 5.5.1 not offered")
        self.reply(b"220 2.0.0 go ahead")
        self.start_tls()

    def start_tls(self):
        self.conn.settimeout(10)
        self.conn = self.zoo.tls_context().wrap_socket(self.conn, server_side=True)
        self.conn.settimeout(None)
        self.buf = b""
        self.tls_on = True

    def on_mail(self, line):
        self.mail_from = re.search(rb"<([^>]*)>", line).group(1).decode()
        self.rcpts = []
        self.reply(b"250 2.1.0 Ok")

    def on_rcpt(self, line):
        if self.mail_from is None:
            return self.reply(b"503 5.5.1 need MAIL first")
        self.rcpt_reply(re.search(rb"<([^>]*)>", line).group(1).decode())

    def rcpt_reply(self, rcpt):
        self.rcpts.append(rcpt)
        self.reply(b"250 2.1.5 Ok")

    def on_data(self, line):
        if not self.rcpts:
            return self.reply(b"554 5.5.1 no valid recipients")
        self.reply(b"354 go ahead")
        body = self.read_body()
        self.transactions += 1
        self.body_done(body)

    def read_body(self):
        lines = []
        while True:
            line = self.readline()
            if line in (b".\r\n", b".\n"):
                return b"".join(lines)
            lines.append(line[1:] if line.startswith(b"..") else line)

    def body_done(self, body):
        self.keep(body)
        self.reply(b"250 2.0.0 Ok: queued")

    def keep(self, body):
        """The message is ours now: what the daemon may count as delivered."""
        found = re.search(rb"^Message-ID:\s*(\S+)", body, re.M | re.I)
        message_id = found.group(1).decode() if found else None
        self.zoo.record(self.name, message_id, list(self.rcpts), self.number, body)

    def on_rset(self, line):
        self.mail_from, self.rcpts = None, []
        self.reply(b"250 2.0.0 Ok")

    def on_noop(self, line):
        self.reply(b"250 2.0.0 Ok")

    def on_quit(self, line):
        self.reply(b"221 2.0.0 Bye")
        raise Stop()

    def on_bdat(self, line):
        self.reply(b"502 5.5.1 BDAT not implemented")

    def on_unknown(self, line):
        self.reply(b"502 5.5.2 not implemented")


@behaviour("plain", always=True)
class Plain(Session):
    pass


@behaviour("dsn", always=True)
class DsnReceiver(Session):
    """The senders' domain: receives the DSNs."""


# 421 or 554 as greeting, and other ways of not greeting.
@behaviour("greeting-421")
class Greeting421(Session):
    def greet(self):
        self.reply(b"421 4.3.2 zoo not accepting mail now")
        raise Stop()


@behaviour("greeting-554")
class Greeting554(Session):
    def greet(self):
        self.reply(b"554 5.3.2 no service here")
        # RFC 5321 3.1: the server waits for QUIT; this one answers anything with 503.
        while True:
            line = self.readline()
            if line.upper().startswith(b"QUIT"):
                self.reply(b"221 2.0.0 Bye")
                raise Stop()
            self.reply(b"503 5.5.1 no service")


@behaviour("greeting-multiline", always=True)
class GreetingMultiline(Session):
    def greet(self):
        self.reply(b"220 zoo.test ESMTP", b"220 second line", b"220 third line")


@behaviour("greeting-slow")
class GreetingSlow(Session):
    """The greeting after 20 s (tarpitting receivers)."""
    def greet(self):
        time.sleep(20)
        super().greet()


@behaviour("greeting-then-421")
class GreetingThen421(Session):
    def greet(self):
        self.send(b"220 zoo.test ESMTP\r\n421 4.3.2 zoo closing\r\n")
        raise Stop()


@behaviour("greeting-garbage")
class GreetingGarbage(Session):
    def greet(self):
        self.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        raise Stop()


@behaviour("close-at-connect")
class CloseAtConnect(Session):
    def greet(self):
        raise Stop()


@behaviour("rst-at-connect")
class RstAtConnect(Session):
    def greet(self):
        self.close_with_rst()


@behaviour("greeting-unterminated")
class GreetingUnterminated(Session):
    """A continuation line and then nothing more: the daemon's reply timeout ends it."""
    def greet(self):
        self.send(b"220-zoo.test ESMTP\r\n")
        while self.conn.recv(65536):
            pass
        raise Stop()


# EHLO.
@behaviour("ehlo-refused-helo", always=True)
class EhloRefusedHelo(Session):
    def on_ehlo(self, line):
        self.reply(b"502 5.5.2 EHLO not implemented")


@behaviour("ehlo-421")
class Ehlo421(Session):
    def on_ehlo(self, line):
        self.reply(b"421 4.3.2 zoo closing")
        raise Stop()


@behaviour("ehlo-then-421")
class EhloThen421(Session):
    """The EHLO reply and a 421 in one write: ready and failed in the same read."""
    def on_ehlo(self, line):
        self.send(self.format(*self.ehlo_lines()) + b"421 4.3.2 zoo closing\r\n")
        raise Stop()


@behaviour("ehlo-code-2500")
class EhloCode2500(Session):
    def on_ehlo(self, line):
        self.send(b"2500 zoo.test\r\n")


@behaviour("ehlo-code-abc")
class EhloCodeAbc(Session):
    def on_ehlo(self, line):
        self.send(b"abc\r\n")


@behaviour("ehlo-code-25")
class EhloCode25(Session):
    def on_ehlo(self, line):
        self.send(b"25\r\n")


@behaviour("ehlo-mixed-codes")
class EhloMixedCodes(Session):
    def on_ehlo(self, line):
        self.send(b"250-zoo.test\r\n251 PIPELINING\r\n")


@behaviour("ehlo-1mb-line")
class Ehlo1MbLine(Session):
    def on_ehlo(self, line):
        try:
            self.send(b"250-zoo.test " + b"x" * (1 << 20) + b"\r\n250 PIPELINING\r\n")
        except OSError:
            raise Stop()


@behaviour("ehlo-10000-lines")
class Ehlo10000Lines(Session):
    def on_ehlo(self, line):
        try:
            self.reply(b"250 zoo.test", *[b"250 X-LINE-%d" % i for i in range(10000)])
        except OSError:
            raise Stop()


@behaviour("ehlo-120-lines", always=True)
class Ehlo120Lines(Session):
    """Long but within the daemon's limit (128 lines): must work."""
    def ehlo_lines(self):
        return super().ehlo_lines() + [b"250 X-LINE-%d" % i for i in range(110)]


@behaviour("no-pipelining", always=True)
class NoPipelining(Session):
    pipelining = False


@behaviour("bdat-refused", always=True)
class BdatRefused(Session):
    """CHUNKING advertised, BDAT refused: the daemon must use DATA."""
    ehlo_extra = [b"CHUNKING", b"BINARYMIME"]


# Replies cut and glued.
@behaviour("split-bytes", always=True)
class SplitBytes(Session):
    """Every reply written a byte at a time."""
    def send(self, data):
        self.conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(data)):
            self.conn.sendall(data[i:i + 1])
            time.sleep(0.001)


@behaviour("glued", always=True)
class Glued(Session):
    """Replies held while more commands are waiting, then written in one write, cut three
    bytes before its end (the rest a moment later)."""
    def __init__(self, *args):
        super().__init__(*args)
        self.held = b""

    def send(self, data):
        self.held += data
        if b"\n" not in self.buf:
            self.conn.settimeout(0.05)
            try:
                more = self.conn.recv(65536)
                if not more:
                    raise Stop()
                self.buf += more
            except socket.timeout:
                pass
            finally:
                self.conn.settimeout(None)
        if b"\n" in self.buf:
            return  # answer those too, in the same write
        cut = max(1, len(self.held) - 3)
        out, self.held = self.held, b""
        self.conn.sendall(out[:cut])
        time.sleep(0.02)
        self.conn.sendall(out[cut:])


@behaviour("bare-lf", always=True)
class BareLf(Session):
    line_end = b"\n"


@behaviour("reply-nul-bytes", always=True)
class ReplyNulBytes(Session):
    """Text with NUL and 8-bit bytes after the code."""
    def format(self, *lines):
        return super().format(*[line + b" \x00\xff\x80" for line in lines])


# Extra unsolicited lines.
@behaviour("unsolicited-before-mail")
class UnsolicitedBeforeMail(Session):
    """A 250 nobody asked for, ahead of the replies to MAIL, RCPT and DATA: every reply is
    then one command off, and DATA gets a 250 instead of 354. Nothing was delivered."""
    def on_mail(self, line):
        self.send(b"250 2.0.0 unsolicited\r\n")
        super().on_mail(line)


@behaviour("unsolicited-after-body")
class UnsolicitedAfterBody(Session):
    def body_done(self, body):
        self.keep(body)
        self.send(b"250 2.0.0 Ok: queued\r\n250 2.0.0 and this one too\r\n")


# MAIL, RCPT, DATA.
@behaviour("mail-421")
class Mail421(Session):
    def on_mail(self, line):
        self.reply(b"421 4.3.2 zoo closing")
        raise Stop()


@behaviour("mail-then-421")
class MailThen421(Session):
    def on_mail(self, line):
        self.send(b"250 2.1.0 Ok\r\n421 4.3.2 zoo closing\r\n")
        raise Stop()


@behaviour("mail-451")
class Mail451(Session):
    def on_mail(self, line):
        if self.mails > 1:
            return super().on_mail(line)
        self.mail_from = None
        self.reply(b"451 4.3.0 zoo is busy")


@behaviour("rcpt-421")
class Rcpt421(Session):
    def rcpt_reply(self, rcpt):
        self.reply(b"421 4.3.2 zoo closing")
        raise Stop()


@behaviour("rcpt-then-421")
class RcptThen421(Session):
    def rcpt_reply(self, rcpt):
        self.send(b"250 2.1.5 Ok\r\n421 4.3.2 zoo closing\r\n")
        raise Stop()


@behaviour("rcpt-452")
class Rcpt452(Session):
    def rcpt_reply(self, rcpt):
        if self.mails > 1:
            return super().rcpt_reply(rcpt)
        self.reply(b"452 4.5.3 too many recipients")


@behaviour("rcpt-452-second")
class Rcpt452Second(Session):
    """The first recipient of each message is taken, the second told to come back."""
    def rcpt_reply(self, rcpt):
        if self.rcpts and self.mails == 1:
            return self.reply(b"452 4.5.3 too many recipients")
        super().rcpt_reply(rcpt)


@behaviour("rcpt-550-one")
class Rcpt550One(Session):
    """The second recipient of the first message does not exist: bounced, with a DSN."""
    def rcpt_reply(self, rcpt):
        if self.rcpts and self.mails == 1:
            return self.reply(b"550 5.1.1 no such user here")
        super().rcpt_reply(rcpt)


@behaviour("data-421")
class Data421(Session):
    def on_data(self, line):
        self.reply(b"421 4.3.2 zoo closing")
        raise Stop()


@behaviour("data-then-421")
class DataThen421(Session):
    def on_data(self, line):
        self.send(b"354 go ahead\r\n421 4.3.2 zoo closing\r\n")
        raise Stop()


@behaviour("data-554")
class Data554(Session):
    def on_data(self, line):
        if self.mails > 1:
            return super().on_data(line)
        self.reply(b"554 5.6.0 message refused")


@behaviour("data-354-close")
class Data354Close(Session):
    def on_data(self, line):
        self.reply(b"354 go ahead")
        raise Stop()


@behaviour("data-silent")
class DataSilent(Session):
    """No reply to DATA: the daemon's reply timeout ends it."""
    def on_data(self, line):
        while self.conn.recv(65536):
            pass
        raise Stop()


@behaviour("body-250-421", always=True)
class Body250Then421(Session):
    """250 for the body and 421 in the same write, then close: a receiver that caps messages
    per connection. The message is delivered; the 421 only ends the connection."""
    def body_done(self, body):
        self.keep(body)
        self.send(b"250 2.0.0 Ok: queued\r\n421 4.3.2 zoo closing\r\n")
        raise Stop()


@behaviour("body-250-pause-421", always=True)
class Body250Pause421(Session):
    """The same, the 421 a moment later (another read): it may answer the next message's
    RSET, which is then deferred."""
    def body_done(self, body):
        self.keep(body)
        self.send(b"250 2.0.0 Ok: queued\r\n")
        time.sleep(0.2)
        self.send(b"421 4.3.2 zoo closing\r\n")
        raise Stop()


@behaviour("body-421")
class Body421(Session):
    def body_done(self, body):
        self.reply(b"421 4.3.2 zoo closing")
        raise Stop()


@behaviour("body-451")
class Body451(Session):
    def body_done(self, body):
        if self.mails > 1:
            return super().body_done(body)
        self.reply(b"451 4.3.0 temporary failure")


@behaviour("body-550")
class Body550(Session):
    """250 to every RCPT, then 550 for the first message's body: bounced, with a DSN."""
    def body_done(self, body):
        if self.mails > 1:
            return super().body_done(body)
        self.reply(b"550 5.7.1 message content rejected")


@behaviour("body-rst")
class BodyRst(Session):
    """A reset in the middle of the body."""
    def on_data(self, line):
        self.reply(b"354 go ahead")
        self.readline()
        self.close_with_rst()


@behaviour("body-silent")
class BodySilent(Session):
    """Keeps the message and never says so: the daemon times out and sends it again (the one
    message in flight may arrive twice)."""
    def body_done(self, body):
        self.keep(body)
        while self.conn.recv(65536):
            pass
        raise Stop()


@behaviour("body-slow-250")
class BodySlow250(Session):
    def body_done(self, body):
        time.sleep(3)
        super().body_done(body)


@behaviour("rset-421")
class Rset421(Session):
    def on_rset(self, line):
        self.reply(b"421 4.3.2 zoo closing")
        raise Stop()


# STARTTLS.
@behaviour("starttls-ok", always=True)
class StartTlsOk(Session):
    tls = True


@behaviour("starttls-454")
class StartTls454(Session):
    tls = True

    def on_starttls(self, line):
        self.reply(b"454 4.7.0 TLS not available due to temporary reason")


@behaviour("starttls-garbage")
class StartTlsGarbage(Session):
    """220, then garbage instead of a handshake."""
    tls = True

    def on_starttls(self, line):
        self.send(b"220 2.0.0 go ahead\r\n")
        self.conn.recv(65536)  # the ClientHello
        self.send(b"\x15\x03\x01\x00\x02\x02\x28this is not TLS\r\n")
        raise Stop()


@behaviour("starttls-rst")
class StartTlsRst(Session):
    tls = True

    def on_starttls(self, line):
        self.send(b"220 2.0.0 go ahead\r\n")
        self.conn.recv(65536)
        self.close_with_rst()


@behaviour("starttls-injected-421")
class StartTlsInjected421(Session):
    """Plaintext after the 220 (a man in the middle's injection): never read as a reply."""
    tls = True

    def on_starttls(self, line):
        self.send(b"220 2.0.0 go ahead\r\n421 4.3.2 injected\r\n")
        self.start_tls()


@behaviour("tls-close-notify")
class TlsCloseNotify(Session):
    """TLS up, then close_notify in the middle of the session (at MAIL)."""
    tls = True

    def on_mail(self, line):
        if not self.tls_on:
            return super().on_mail(line)
        self.conn.settimeout(2)
        try:
            self.conn.unwrap()
        except (OSError, ValueError):
            pass
        raise Stop()


# The end.
@behaviour("quit-no-reply", always=True)
class QuitNoReply(Session):
    def on_quit(self, line):
        raise Stop()


@behaviour("quit-221-rst", always=True)
class Quit221Rst(Session):
    def on_quit(self, line):
        self.send(b"221 2.0.0 Bye\r\n")
        self.close_with_rst()


class Zoo:
    def __init__(self, workdir, names, host_base="127.0.1.", port=None):
        self.workdir = workdir
        self.names = list(names)
        self.lock = threading.Lock()
        self.accepted = {name: [] for name in self.names}
        self.connections = {name: 0 for name in self.names}
        self.errors = []
        self._tls = None
        self.stopping = False
        self.listeners = []
        for attempt in range(20):
            try:
                self._listen(host_base, port)
                break
            except OSError:
                for sock, _ in self.listeners:
                    sock.close()
                self.listeners = []
                if port is not None or attempt == 19:
                    raise
        for sock, name in self.listeners:
            threading.Thread(target=self._accept_loop, args=(sock, name), daemon=True).start()

    def _listen(self, host_base, port):
        # One port on every address; the kernel picks it for the first.
        for i, name in enumerate(self.names):
            if name not in BEHAVIOURS:
                raise ValueError("no behaviour " + name)
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            host = host_base + str(i + 1) if host_base.endswith(".") else host_base
            sock.bind((host, port or 0))
            port = sock.getsockname()[1]
            sock.listen(64)
            self.listeners.append((sock, name))
        self.port = port

    def address(self, name):
        return self.listeners[self.names.index(name)][0].getsockname()[0]

    def tls_context(self):
        with self.lock:
            if self._tls is None:
                cert = os.path.join(self.workdir, "zoo-cert.pem")
                key = os.path.join(self.workdir, "zoo-key.pem")
                subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                                "-subj", "/CN=zoo.test", "-keyout", key, "-out", cert],
                               check=True, capture_output=True)
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(cert, key)
                self._tls = context
            return self._tls

    def _accept_loop(self, sock, name):
        while not self.stopping:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections[name] += 1
                number = self.connections[name]
            cls = BEHAVIOURS[name]
            if not cls.always and number > 1:
                cls = Plain
            session = cls(self, conn, number)
            session.name = name
            threading.Thread(target=self._serve, args=(session,), daemon=True).start()

    def _serve(self, session):
        try:
            session.run()
        except (Stop, OSError, ssl.SSLError):
            pass
        except Exception as error:  # a bug in the zoo: the test reports it
            with self.lock:
                self.errors.append(f"{session.name}: {error!r}")
        finally:
            try:
                session.conn.close()
            except OSError:
                pass

    def record(self, name, message_id, rcpts, number, body):
        with self.lock:
            self.accepted[name].append((message_id, rcpts, number, body))

    def acknowledged(self, name):
        with self.lock:
            return list(self.accepted[name])

    def connection_count(self, name):
        with self.lock:
            return self.connections[name]

    def stop(self):
        self.stopping = True
        for sock, _ in self.listeners:
            sock.close()


def main():
    parser = argparse.ArgumentParser(description="Serve one zoo behaviour on 127.0.0.1.")
    parser.add_argument("behaviour", choices=sorted(BEHAVIOURS))
    parser.add_argument("--port", type=int, default=2525)
    args = parser.parse_args()
    zoo = Zoo(os.getcwd(), [args.behaviour], host_base="127.0.0.1", port=args.port)
    print(f"{args.behaviour} on 127.0.0.1:{zoo.port}", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        zoo.stop()


if __name__ == "__main__":
    main()
