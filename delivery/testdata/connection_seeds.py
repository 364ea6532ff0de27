#!/usr/bin/env python3
"""Writes connection_fuzz's seeds: one per behaviour of tests/e2e/receiver_zoo.py, as the
server bytes and socket events that behaviour gives a delivery connection, in the input format
connection_fuzz.cc describes. Run from anywhere; it writes testdata/connection/zoo-NAME.

The scene's parts have 3, 1, 2 and 3 recipients (ids 1 to 4); seeds use the first two."""
import os

OPPORTUNISTIC, REQUIRED = 1, 2
STARTTLS = 4
CONNECT_FAILS = 8


def setup(policy=OPPORTUNISTIC, starttls=False, connect_fails=False, parts=2, cap=3):
    return bytes([policy | (STARTTLS if starttls else 0) | (CONNECT_FAILS if connect_fails else 0)
                  | ((parts - 1) << 4) | (cap << 6)])


def server(data):
    out = b""
    while data:  # at most 8191 bytes per operation
        chunk, data = data[:8191], data[8191:]
        out += bytes([((len(chunk) >> 8) << 3) | 0, len(chunk) & 255]) + chunk
    return out


def tls(ok):
    return bytes([1 | ((1 if ok else 0) << 3)])


def close(kind=0):  # 0 FIN, 1 reset, 2 reply timeout
    return bytes([2 | (kind << 3)])


IDLE, STOP, QUIT, LOOP = bytes([3]), bytes([4]), bytes([6]), bytes([7])


def pump(more=0):
    return bytes([5 | (more << 3)])


GREETING = b"220 zoo.test ESMTP\r\n"
EHLO = b"250-zoo.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n"
EHLO_TLS = b"250-zoo.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
RECIPIENTS = [3, 1]  # of the first two parts


def envelope(n, rset=False):
    """The replies to one pipelined transaction's envelope: [RSET,] MAIL, n RCPTs, DATA."""
    return (b"250 2.0.0 Ok\r\n" if rset else b"") + b"250 2.1.0 Ok\r\n" + \
        b"250 2.1.5 Ok\r\n" * n + b"354 go ahead\r\n"


QUEUED = b"250 2.0.0 Ok: queued\r\n"
BYE = b"421 4.3.2 zoo closing\r\n"


def plain_after(prefix=b""):
    """Both messages delivered, then the idle QUIT."""
    return (prefix + server(envelope(RECIPIENTS[0])) + server(QUEUED) +
            server(envelope(RECIPIENTS[1], rset=True)) + server(QUEUED) + IDLE +
            server(b"221 2.0.0 Bye\r\n") + LOOP)


def ready(ehlo=EHLO):
    return server(GREETING) + server(ehlo)


SEEDS = {
    "plain": setup() + plain_after(ready()),
    "greeting-421": setup() + server(b"421 4.3.2 zoo not accepting mail now\r\n") + LOOP,
    "greeting-554": setup() + server(b"554 5.3.2 no service here\r\n") + LOOP,
    "greeting-multiline": setup() + plain_after(
        server(b"220-zoo.test ESMTP\r\n220-second line\r\n220 third line\r\n") + server(EHLO)),
    "greeting-then-421": setup() + server(GREETING + BYE) + LOOP,
    "greeting-garbage": setup() + server(b"HTTP/1.1 400 Bad Request\r\n\r\n") + LOOP,
    "greeting-unterminated": setup() + server(b"220-zoo.test ESMTP\r\n") + close(2),
    "close-at-connect": setup() + close(0),
    "rst-at-connect": setup() + close(1),
    "connect-refused": setup(connect_fails=True),
    "ehlo-refused-helo": setup() + server(GREETING) + server(b"502 5.5.2 no\r\n") +
    server(b"250 zoo.test\r\n") + server(b"250 2.1.0 Ok\r\n") + server(b"250 2.1.5 Ok\r\n") * 3 +
    server(b"354 go ahead\r\n") + server(QUEUED) + LOOP,
    "ehlo-421": setup() + server(GREETING) + server(BYE) + LOOP,
    "ehlo-then-421": setup() + server(GREETING) + server(EHLO + BYE) + pump() + LOOP,
    "ehlo-code-2500": setup() + server(GREETING) + server(b"2500 zoo.test\r\n") + LOOP,
    "ehlo-code-abc": setup() + server(GREETING) + server(b"abc\r\n") + LOOP,
    "ehlo-code-25": setup() + server(GREETING) + server(b"25\r\n") + LOOP,
    "ehlo-mixed-codes": setup() + server(GREETING) + server(b"250-zoo.test\r\n251 X\r\n") + LOOP,
    "ehlo-long-line": setup() + server(GREETING) + server(b"250-zoo " + b"x" * 8000) + LOOP,
    "ehlo-many-lines": setup() + server(GREETING) +
    server(b"".join(b"250-X%d\r\n" % i for i in range(600))) + LOOP,
    "split-bytes": setup() + b"".join(server(bytes([c])) for c in GREETING + EHLO +
                                      envelope(3)) + server(QUEUED) + LOOP,
    "bare-lf": setup() + plain_after(server(GREETING.replace(b"\r\n", b"\n")) +
                                     server(EHLO.replace(b"\r\n", b"\n"))),
    "unsolicited-before-mail": setup() + ready() +
    server(b"250 2.0.0 unsolicited\r\n" + envelope(3)) + LOOP,
    "unsolicited-after-body": setup() + ready() + server(envelope(3)) +
    server(QUEUED + b"250 2.0.0 and this one too\r\n") + LOOP,
    "mail-421": setup() + ready() + server(BYE) + LOOP,
    "rcpt-then-421": setup() + ready() + server(b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n" + BYE) + LOOP,
    "rcpt-452": setup() + ready() + server(b"250 2.1.0 Ok\r\n" + b"452 4.5.3 too many\r\n" * 3 +
                                           b"554 5.5.1 no valid recipients\r\n") +
    server(envelope(1, rset=True)) + server(QUEUED) + LOOP,
    "data-then-421": setup() + ready() + server(envelope(3) + BYE) + LOOP,
    "data-554": setup() + ready() + server(envelope(3)[:-len(b"354 go ahead\r\n")] +
                                           b"554 5.6.0 refused\r\n") + LOOP,
    "data-354-close": setup() + ready() + server(envelope(3)) + close(0),
    "data-silent": setup() + ready() + server(envelope(3)[:-14]) + close(2),
    "body-250-421": setup() + ready() + server(envelope(3)) + server(QUEUED + BYE) + pump(1) +
    LOOP,
    "body-250-pause-421": setup() + ready() + server(envelope(3)) + server(QUEUED) +
    server(BYE) + LOOP,
    "body-550": setup() + ready() + server(envelope(3)) +
    server(b"550 5.7.1 content rejected\r\n") + server(envelope(1, rset=True)) + server(QUEUED) +
    LOOP,
    "body-rst": setup() + ready() + server(envelope(3)) + close(1),
    "body-silent": setup() + ready() + server(envelope(3)) + close(2),
    "rset-421": setup() + ready() + server(envelope(3)) + server(QUEUED) + server(BYE) + LOOP,
    "starttls-ok": setup(starttls=True) + server(GREETING) + server(EHLO_TLS) +
    server(b"220 2.0.0 go ahead\r\n") + tls(True) + plain_after(server(EHLO)),
    "starttls-454": setup(starttls=True) + server(GREETING) + server(EHLO_TLS) +
    plain_after(server(b"454 4.7.0 TLS not available\r\n")),
    "starttls-garbage": setup(starttls=True) + server(GREETING) + server(EHLO_TLS) +
    server(b"220 2.0.0 go ahead\r\n") + server(b"\x15\x03\x01\x00\x02\x02\x28") + tls(False),
    "starttls-injected-421": setup(starttls=True) + server(GREETING) + server(EHLO_TLS) +
    server(b"220 2.0.0 go ahead\r\n" + BYE) + tls(True) + plain_after(server(EHLO)),
    "starttls-required-refused": setup(policy=REQUIRED, starttls=True) + server(GREETING) +
    server(EHLO_TLS) + server(b"454 4.7.0 no\r\n") + server(b"221 Bye\r\n") + LOOP,
    "tls-close-notify": setup(starttls=True) + server(GREETING) + server(EHLO_TLS) +
    server(b"220 2.0.0 go ahead\r\n") + tls(True) + server(EHLO) + close(0),
    "quit-no-reply": setup(parts=1) + ready() + server(envelope(3)) + server(QUEUED) + IDLE +
    close(0),
    "stop-mid-transaction": setup() + ready() + server(envelope(3)[:20]) + STOP +
    server(envelope(3)[20:]) + server(QUEUED) + server(b"221 Bye\r\n") + LOOP,
    "cap-one-per-connection": setup(cap=0) + ready() + server(envelope(3)) + server(QUEUED) +
    server(b"221 Bye\r\n") + LOOP,
    "quit-while-idle": setup(parts=1) + ready() + server(envelope(3)) + server(QUEUED) + QUIT +
    server(b"221 Bye\r\n" + BYE) + LOOP,
}


def main():
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "connection")
    os.makedirs(here, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(here, "zoo-" + name), "wb") as f:
            f.write(data)
    print(f"{len(SEEDS)} seeds in {here}")


if __name__ == "__main__":
    main()
