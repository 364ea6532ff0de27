"""End-to-end operations (issue 10): the JSON delivery log against what a scripted peer saw,
its reopening on SIGHUP after a logrotate-style move, /healthz and /readyz, suspending and
resuming a destination through the admin API, reloading the config (admin key, log level) over
the API and with SIGHUP while mail flows, with nothing lost, and the admin key on every route.
Run as: operations_test.py --outpost PATH."""
import datetime
import json
import os
import signal
import shutil
import smtplib
import subprocess
import threading
import time
import urllib.error
import urllib.request

from harness import run_tests, Outpost, message, wait_until, DaemonTest
from scripted_peer import ScriptedPeer

OUTPOST = None
KEY = "k-" + "a" * 30


def http(port, path, method="GET", key=KEY, timeout=10):
    """(status, body text, headers) of one request to the daemon's HTTP listener."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     data=b"" if method == "POST" else None)
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def log_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class OperationsTest(DaemonTest):
    def start(self, peer, **settings):
        self.log_path = os.path.join(self.workdir, "delivery.jsonl")
        base = {"log": {"delivery_log": f'"{self.log_path}"'},
                "http": {"listen": '["127.0.0.1:0"]', "admin_key": f'"{KEY}"'}}
        for section, keys in settings.items():
            base.setdefault(section, {}).update(keys)
        outpost = Outpost(OUTPOST, self.workdir, peer.port, base)
        self.stoppers.append(outpost.stop)
        return outpost.start()

    def send(self, outpost, recipients, count=1, tag="ops"):
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            for i in range(count):
                client.send_message(message(i, tag), "sender@example.com", recipients)

    def test_delivery_log_matches_what_the_peer_saw_and_follows_logrotate(self):
        peer = self.started(ScriptedPeer(defer_seconds=2.5))
        outpost = self.start(peer)
        self.send(outpost, ["ok@example.net", "reject-1@example.net", "defer-1@example.net"],
                  count=3)
        # Each message: ok delivered, reject bounced, defer deferred at least once and then
        # delivered once the peer recovers.
        def settled():
            lines = log_lines(self.log_path)
            final = [l for l in lines if l["event"] in ("delivered", "bounced")]
            return len([l for l in final if l["recipient"].startswith(("ok", "reject"))]) == 6 \
                and len([l for l in final if l["recipient"].startswith("defer")]) == 3
        wait_until(settled, 30, 0.2, "every recipient's final line")
        lines = log_lines(self.log_path)
        accepted = [r for (_, rcpts, _) in peer.messages for r in rcpts]
        delivered = [l for l in lines if l["event"] == "delivered"]
        self.assertEqual(sorted(l["recipient"] for l in delivered), sorted(accepted))
        for line in lines:
            for key in ("time", "event", "message_id", "part", "sender", "recipient",
                        "destination", "mx_host", "address", "tls", "code", "enhanced_code",
                        "reply", "attempt", "queue_seconds"):
                self.assertIn(key, line)
            # DSNs for the rejects go back to the sender from the null sender.
            dsn = line["recipient"] == "sender@example.com"
            self.assertEqual(line["sender"], "" if dsn else "sender@example.com")
            self.assertEqual(line["destination"], "relay")
            self.assertEqual(line["address"], f"127.0.0.1:{peer.port}")
            self.assertGreaterEqual(line["queue_seconds"], 0)
            self.assertRegex(line["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        bounced = [l for l in lines if l["event"] == "bounced"]
        self.assertEqual(len(bounced), 3)
        for line in bounced:
            self.assertEqual((line["code"], line["enhanced_code"]), (550, "5.1.1"))
            self.assertTrue(line["recipient"].startswith("reject"))
        deferred = [l for l in lines if l["event"] == "deferred"]
        self.assertGreaterEqual(len(deferred), 3)
        self.assertTrue(all(l["code"] == 451 and l["enhanced_code"] == "4.3.2" for l in deferred))
        later = [l for l in delivered if l["recipient"].startswith("defer")]
        self.assertTrue(all(l["attempt"] >= 2 for l in later), later)
        # The ids are the queue's: the message status API knows each one, with the same outcome.
        first = next(l for l in lines if l["event"] == "bounced")
        status, body, _ = http(outpost.http_port, f"/v1/messages/{first['message_id']}", key=None)
        self.assertEqual(status, 200, body)
        states = {r["address"]: r["status"] for r in json.loads(body)["recipients"]}
        self.assertEqual(states.get(first["recipient"]), "bounced", body)

        # logrotate moves the file and sends SIGHUP; the next lines go to a new file.
        rotated = self.log_path + ".1"
        logrotate = shutil.which("logrotate") or (
            "/usr/sbin/logrotate" if os.path.exists("/usr/sbin/logrotate") else None)
        if logrotate:
            conf = os.path.join(self.workdir, "logrotate.conf")
            with open(conf, "w") as f:
                f.write(f"{self.log_path} {{\n  rotate 3\n  create 0640\n  postrotate\n"
                        f"    kill -HUP {outpost.proc.pid}\n  endscript\n}}\n")
            done = subprocess.run([logrotate, "-f", "-s", os.path.join(self.workdir, "state"),
                                   conf], capture_output=True, text=True, timeout=30)
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        else:
            os.rename(self.log_path, rotated)
            os.kill(outpost.proc.pid, signal.SIGHUP)
        wait_until(lambda: "reload:" in outpost.output(), 10, 0.1, "the reload")
        self.send(outpost, ["ok-after@example.net"], tag="rotated")
        wait_until(lambda: any(l["recipient"] == "ok-after@example.net"
                               for l in log_lines(self.log_path)), 10, 0.1, "a line in the new file")
        self.assertFalse(any(l["recipient"] == "ok-after@example.net" for l in log_lines(rotated)))
        self.assertEqual(len(log_lines(rotated)), len(lines))
        # The log's counter follows the lines written.
        status, metrics, _ = http(outpost.http_port, "/metrics")
        self.assertIn("outpost_delivery_log_lines_total", metrics)
        self.assertEqual(outpost.stop(), 0)

    def test_health_and_readiness(self):
        peer = self.started(ScriptedPeer())
        outpost = self.start(peer)
        # No key needed: probes come from the node, not from an operator.
        self.assertEqual(http(outpost.http_port, "/healthz", key=None)[:2], (200, "ok\n"))
        wait_until(lambda: http(outpost.http_port, "/readyz", key=None)[0] == 200, 10, 0.1,
                   "ready")
        self.assertEqual(http(outpost.http_port, "/readyz", key=None)[1], "ready\n")
        # While draining, readiness goes (503, or the listener already closed): a peer that
        # stays in a transaction keeps the drain going long enough to look.
        slow = self.started(ScriptedPeer(slow_seconds=4))
        outpost.stop()
        outpost2 = self.start(slow, queue={"retry_initial": '"1s"'})
        self.send(outpost2, ["slow-1@example.net"])
        wait_until(lambda: slow.slow_started, 10, 0.05, "the slow transaction")
        os.kill(outpost2.proc.pid, signal.SIGTERM)
        # The signal is handled a moment later: "ready" may answer first, never after.
        saw = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and outpost2.proc.poll() is None:
            try:
                saw.append(http(outpost2.http_port, "/readyz", key=None, timeout=1)[:2])
            except OSError:
                saw.append("refused")
                break
            time.sleep(0.05)
        after = saw[next((i for i, s in enumerate(saw) if s != (200, "ready\n")), len(saw)):]
        self.assertTrue(after, f"still ready while draining: {saw}")
        self.assertTrue(set(after) <= {(503, "draining\n"), "refused"}, saw)
        self.assertEqual(outpost2.proc.wait(30), 0)

    def test_suspend_and_resume_a_destination(self):
        peer = self.started(ScriptedPeer())
        outpost = self.start(peer)
        port = outpost.http_port
        status, body, _ = http(port, "/api/v1/destinations/relay/suspend", "POST")
        self.assertEqual(status, 200, body)
        self.assertTrue(json.loads(body)["suspended"])
        self.send(outpost, ["ok@example.net"], count=5)
        time.sleep(1.5)  # several chances to deliver
        self.assertEqual(len(peer.messages), 0)
        status, body, _ = http(port, "/api/v1/status")
        rows = {r["destination"]: r for r in json.loads(body)["queue"]["destinations"]}
        self.assertTrue(rows["relay"]["suspended"], rows)
        self.assertEqual(rows["relay"]["parts"], 5)
        # Suspending again answers with what waits for it; a name nothing goes to, none.
        status, body, _ = http(port, "/api/v1/destinations/relay/suspend", "POST")
        self.assertEqual(json.loads(body)["queued_parts"], 5, body)
        status, body, _ = http(port, "/api/v1/destinations/example.net/suspend", "POST")
        self.assertEqual(json.loads(body)["queued_parts"], 0, body)
        self.assertEqual(outpost.admin("suspend", "example.net"),
                         "example.net suspended until resumed; nothing is queued for it (outpost "
                         "queue summary lists the destinations)\n")
        self.assertRegex(outpost.admin("resume", "example.net"), r"^example.net resumed; nothing")
        status, body, _ = http(port, "/api/v1/destinations/relay/resume", "POST")
        self.assertEqual(status, 200, body)
        wait_until(lambda: len(peer.messages) == 5, 10, 0.1, "the five after resume")
        # A second resume finds nothing suspended; wrong verbs and methods are refused.
        self.assertEqual(http(port, "/api/v1/destinations/relay/resume", "POST")[0], 404)
        self.assertEqual(http(port, "/api/v1/destinations/relay/pause", "POST")[0], 404)
        self.assertEqual(http(port, "/api/v1/destinations/relay/suspend", "GET")[0], 405)
        self.assertEqual(http(port, "/api/v1/destinations/relay/suspend?for=x", "POST")[0], 400)
        # A timed suspension lifts itself.
        status, body, _ = http(port, "/api/v1/destinations/relay/suspend?for=2", "POST")
        self.assertEqual(status, 200, body)
        self.send(outpost, ["ok@example.net"], tag="timed")
        time.sleep(0.8)
        self.assertEqual(len(peer.messages), 5)
        wait_until(lambda: len(peer.messages) == 6, 10, 0.1, "delivery after the suspension")
        # The same through `outpost queue suspend|resume`.
        self.assertRegex(outpost.admin("suspend", "relay"), r"^relay suspended until resumed; ")
        self.send(outpost, ["ok@example.net"], tag="cli")
        time.sleep(0.8)
        self.assertEqual(len(peer.messages), 6)
        # Timed, with the message waiting: the date it lifts, and the part counted.
        self.assertRegex(outpost.admin("suspend", "relay", "--for", "60"),
                         r"^relay suspended until \d{4}-\S+; 1 part queued for it\n$")
        self.assertRegex(outpost.admin("resume", "relay"), r"^relay resumed; ")
        wait_until(lambda: len(peer.messages) == 7, 10, 0.1, "delivery after the CLI resume")
        code, _, err = outpost.admin("resume", "relay", check=False)
        self.assertEqual(code, 1)
        self.assertIn("404", err)
        self.assertEqual(outpost.admin("suspend", check=False)[0], 2)
        # --for takes durations like every option (a bare number is seconds, as it was).
        for lasting, seconds in [("90m", 5400), ("2h", 7200), ("45", 45)]:
            answer = outpost.admin("suspend", "relay", "--for", lasting, "--json")
            until = datetime.datetime.fromisoformat(
                json.loads(answer)["suspended_until"].replace("Z", "+00:00"))
            left = (until - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
            self.assertTrue(seconds - 60 < left <= seconds + 1, (lasting, left))
        for bad in ("soon", "0s", "2x"):
            self.assertEqual(outpost.admin("suspend", "relay", "--for", bad, check=False)[0], 2)
        self.assertEqual(outpost.stop(), 0)

    def test_every_operation_route_wants_the_key(self):
        peer = self.started(ScriptedPeer())
        outpost = self.start(peer)
        port = outpost.http_port
        routes = [("GET", "/api/v1/status"), ("POST", "/api/v1/reload"),
                  ("POST", "/api/v1/destinations/relay/suspend"),
                  ("POST", "/api/v1/destinations/relay/resume"),
                  ("GET", "/api/v1/queue/summary"), ("GET", "/api/v1/suppressions")]
        for method, path in routes:
            for key in (None, "wrong", KEY[:-1], KEY + "x"):
                status, _, headers = http(port, path, method, key=key)
                self.assertEqual(status, 401, (method, path, key))
                self.assertEqual(headers.get("WWW-Authenticate"), "Bearer")
            self.assertIn(http(port, path, method)[0], (200, 404), (method, path))
        # The page itself needs no key (its script asks for one).
        status, body, headers = http(port, "/", key=None)
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/html"))
        self.assertIn("<html", body)
        self.assertEqual(outpost.stop(), 0)

    def test_reload_under_load_loses_nothing(self):
        peer = self.started(ScriptedPeer())
        outpost = self.start(peer)
        port = outpost.http_port
        sent = []
        errors = []

        def load():
            try:
                with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
                    for i in range(300):
                        client.send_message(message(i, "load"), "sender@example.com",
                                            ["ok@example.net"])
                        sent.append(i)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
        thread = threading.Thread(target=load)
        thread.start()
        # Reloads while mail flows: over the API, by SIGHUP, and one with a new admin key.
        for n in range(6):
            time.sleep(0.15)
            if n % 2:
                os.kill(outpost.proc.pid, signal.SIGHUP)
            else:
                status, body, _ = http(port, "/api/v1/reload", "POST")
                self.assertEqual(status, 200, body)
        # Every reload done (SIGHUP is handled on the main thread, a moment later) before the
        # file changes under them.
        wait_until(lambda: outpost.output().count("reload: ") == 6, 10, 0.05, "six reloads")
        with open(outpost.config) as f:
            config = f.read()
        new_key = "k-" + "b" * 30
        with open(outpost.config, "w") as f:
            f.write(config.replace(KEY, new_key))
        self.assertEqual(http(port, "/api/v1/reload", "POST")[0], 200)
        wait_until(lambda: http(port, "/api/v1/status", key=new_key)[0] == 200, 5, 0.05,
                   "the new key")
        self.assertEqual(http(port, "/api/v1/status", key=KEY)[0], 401)
        # A config that does not parse changes nothing.
        with open(outpost.config, "a") as f:
            f.write("[nonsense]\nkey = 1\n")
        status, body, _ = http(port, "/api/v1/reload", "POST", key=new_key)
        self.assertEqual(status, 500)
        self.assertIn("nonsense", body)
        self.assertEqual(http(port, "/api/v1/status", key=new_key)[0], 200)
        thread.join(120)
        self.assertEqual(errors, [])
        self.assertEqual(len(sent), 300)
        wait_until(lambda: len(peer.messages) == 300, 30, 0.2, "all 300 at the peer")
        ids = {m[2].split(b"Message-ID: <", 1)[1].split(b">", 1)[0] for m in peer.messages}
        self.assertEqual(len(ids), 300)
        self.assertEqual(outpost.stop(), 0)


if __name__ == "__main__":
    run_tests(__import__(__name__))
