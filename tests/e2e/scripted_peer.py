"""A small SMTP server with a reply policy per recipient, for the cases smtp-sink cannot
script: some recipients rejected with 5xx while others are accepted, and 4xx for a while
before recovering. It speaks real SMTP over TCP (EHLO with PIPELINING, MAIL, RCPT, DATA, RSET,
NOOP, QUIT) and keeps every accepted message.

Policy by the recipient's local part:
  reject*  -> 550 5.1.1 user unknown
  defer*   -> 451 4.3.2 try again later, until `defer_until` (monotonic) has passed
  slow*    -> 250, after `slow_seconds` (a transaction that stays in flight a while)
  other    -> 250
"""
import socket
import threading
import time


class ScriptedPeer:
    def __init__(self, defer_seconds=0.0, slow_seconds=0.0, host="127.0.0.1", port=0,
                 broken_starttls=False):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        # broken_starttls: STARTTLS is offered and answered 220, then garbage instead of a
        # handshake (a receiver with a broken TLS set-up).
        self.broken_starttls = broken_starttls
        self.starttls_seen = 0
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.defer_until = time.monotonic() + defer_seconds
        self.slow_seconds = slow_seconds
        self.slow_started = []      # slow* recipients whose RCPT has arrived
        self.lock = threading.Lock()
        self.messages = []          # (mail_from, [rcpts], data bytes)
        self.connections = 0        # sessions accepted so far
        self.message_connection = []  # for each message, the session (1, 2, ...) it came on
        self.rcpt_log = []          # (time, rcpt, code)
        self.sessions = []          # (peer address, EHLO name) of each session that said EHLO
        self.open_now = 0           # sessions open at this moment, and the most at once
        self.open_max = 0
        self.open_by_peer = {}      # the same by peer address
        self.open_max_by_peer = {}
        self.stopping = False
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    def _accept_loop(self):
        while not self.stopping:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                number = self.connections
            threading.Thread(target=self._session, args=(conn, number, peer[0]),
                             daemon=True).start()

    def _reply_for(self, rcpt):
        local = rcpt.split("@")[0].lower()
        if local.startswith("reject"):
            return b"550 5.1.1 <%s>: user unknown" % rcpt.encode()
        if local.startswith("defer") and time.monotonic() < self.defer_until:
            return b"451 4.3.2 try again later"
        if local.startswith("slow"):
            with self.lock:
                self.slow_started.append(rcpt)
            time.sleep(self.slow_seconds)
        return b"250 2.1.5 Ok"

    def _session(self, conn, number, peer="?"):
        f = conn.makefile("rwb")
        open_counted = True
        with self.lock:
            self.open_now += 1
            self.open_max = max(self.open_max, self.open_now)
            self.open_by_peer[peer] = self.open_by_peer.get(peer, 0) + 1
            self.open_max_by_peer[peer] = max(self.open_max_by_peer.get(peer, 0),
                                              self.open_by_peer[peer])
        try:
            f.write(b"220 scripted-peer ESMTP\r\n")
            f.flush()
            mail_from, rcpts = None, []
            while True:
                line = f.readline()
                if not line:
                    return
                verb = line[:4].upper()
                out = []
                if verb in (b"EHLO", b"HELO"):
                    with self.lock:
                        self.sessions.append((peer, line[5:].strip().decode(errors="replace")))
                    tls = b"250-STARTTLS\r\n" if self.broken_starttls else b""
                    out.append(b"250-scripted-peer\r\n" + tls + b"250-PIPELINING\r\n250 8BITMIME")
                elif line.upper().startswith(b"STARTTLS") and self.broken_starttls:
                    with self.lock:
                        self.starttls_seen += 1
                    f.write(b"220 2.0.0 go ahead\r\n\x15\x03\x01\x00\x02\x02\x28garbage")
                    f.flush()
                    return
                elif verb == b"MAIL":
                    mail_from, rcpts = line[10:].strip().strip(b"<>").decode(), []
                    out.append(b"250 2.1.0 Ok")
                elif verb == b"RCPT":
                    rcpt = line[8:].strip().split(b" ")[0].strip(b"<>").decode()
                    reply = self._reply_for(rcpt)
                    with self.lock:
                        self.rcpt_log.append((time.monotonic(), rcpt, int(reply[:3])))
                    if reply.startswith(b"250"):
                        rcpts.append(rcpt)
                    out.append(reply)
                elif verb == b"DATA":
                    if not rcpts:
                        out.append(b"554 5.5.1 no valid recipients")
                    else:
                        f.write(b"354 go ahead\r\n")
                        f.flush()
                        data = []
                        while True:
                            body_line = f.readline()
                            if not body_line or body_line in (b".\r\n", b".\n"):
                                break
                            data.append(body_line[1:] if body_line.startswith(b"..") else body_line)
                        with self.lock:
                            self.messages.append((mail_from, list(rcpts), b"".join(data)))
                            self.message_connection.append(number)
                        out.append(b"250 2.0.0 Ok: queued")
                elif verb == b"RSET":
                    mail_from, rcpts = None, []
                    out.append(b"250 2.0.0 Ok")
                elif verb == b"NOOP":
                    out.append(b"250 2.0.0 Ok")
                elif verb == b"QUIT":
                    # The session ends here for the count: the client counts its connection
                    # closed on our 221, so decrementing after it races the client's next
                    # connection (seen as one too many on a loaded machine).
                    self._closed(peer)
                    open_counted = False
                    f.write(b"221 2.0.0 Bye\r\n")
                    f.flush()
                    return
                else:
                    out.append(b"502 5.5.2 not implemented")
                f.write(b"".join(x + b"\r\n" for x in out))
                f.flush()
        except OSError:
            return
        finally:
            conn.close()
            if open_counted:
                self._closed(peer)

    def _closed(self, peer):
        with self.lock:
            self.open_now -= 1
            self.open_by_peer[peer] -= 1

    def received(self):
        with self.lock:
            return list(self.messages)

    def stop(self):
        self.stopping = True
        self.sock.close()
