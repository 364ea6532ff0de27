"""End-to-end test of the queue's history of finished messages: `outpost queue show ID` and
GET /api/v1/queue/messages/ID keep answering once a message has left the queue, with each
recipient's final status (delivered, bounced, suppressed, expired) and last reply; from the
running daemon, from the spool of a stopped one, after a restart; and the history goes once
older than [queue] history_retention. Real daemon, a scripted SMTP receiver as the relay,
curl and the command line as clients. Run as: queue_history_test.py --outpost PATH."""
import json
import re
import smtplib
import subprocess
import sys

from harness import run_tests, Outpost, message, wait_until, DaemonTest
from scripted_peer import ScriptedPeer

OUTPOST = None


def curl_json(outpost, route):
    out = subprocess.run(["curl", "-s", "-S", "-w", "\n%{http_code}",
                          "-H", f"Authorization: Bearer {outpost.admin_key()}",
                          f"http://127.0.0.1:{outpost.http_port}{route}"],
                         capture_output=True, text=True, timeout=30)
    body, _, code = out.stdout.rpartition("\n")
    return int(code), body


def queued_id(reply):
    """The id in `250 2.0.0 Ok: queued as ID`."""
    return re.search(r"queued as ([0-9a-f]{16})", reply).group(1)


class QueueHistoryTest(DaemonTest):
    def start(self, settings=None):
        self.peer = ScriptedPeer(defer_seconds=3600)  # defer* stays deferred: it expires
        self.stoppers.append(self.peer.stop)
        base = {"queue": {"max_age": '"3s"'}}
        for section, keys in (settings or {}).items():
            base.setdefault(section, {}).update(keys)
        self.outpost = Outpost(OUTPOST, self.workdir, self.peer.port, base)
        self.stoppers.append(self.outpost.stop)
        return self.outpost.start()

    def show(self, message_id, *extra, daemon=True):
        """`outpost queue show ID`: (exit code, stdout, stderr)."""
        args = [OUTPOST, "queue", "show", message_id, *extra, "--config", self.outpost.config]
        if daemon:
            args += ["--admin", f"127.0.0.1:{self.outpost.http_port}"]
        out = subprocess.run(args, capture_output=True, text=True, timeout=60)
        return out.returncode, out.stdout, out.stderr

    def send_finishing_message(self):
        """One message whose four recipients end four ways; returns its id once every one
        is final (the part has left the queue)."""
        outpost = self.outpost
        added = subprocess.run([OUTPOST, "suppression", "add", "gone@example.net", "--reason",
                                "asked by phone", "--config", outpost.config, "--admin",
                                f"127.0.0.1:{outpost.http_port}"],
                               capture_output=True, text=True, timeout=30)
        self.assertEqual(added.returncode, 0, added.stderr)
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            client.ehlo()
            client.mail("sender@example.com")
            for rcpt in ["ok@example.net", "reject@example.net", "gone@example.net",
                         "defer@example.net"]:
                client.rcpt(rcpt)
            code, reply = client.data(message(1, "history").as_bytes())
            self.assertEqual(code, 250, reply)
        message_id = queued_id(reply.decode())
        # Finished: nothing of it is queued any more (the DSN to the sender is another message).
        wait_until(lambda: message_id not in outpost.admin("list"), 30, 0.2,
                   "the message to leave the queue")
        return message_id

    def assert_final_states(self, shown):
        self.assertRegex(shown, r"\.0 to relay from <sender@example.com>\n  received \S+, finished")
        self.assertRegex(shown, r"<ok@example.net> delivered after 1 attempts: 250 ")
        self.assertRegex(shown, r"<reject@example.net> bounced after 1 attempts: 550 5\.1\.1")
        self.assertRegex(shown, r"<gone@example.net> suppressed after 0 attempts: "
                                r"550 5\.7\.1 Not attempted: recipient suppressed")
        self.assertRegex(shown, r"<defer@example.net> expired after \d+ attempts: "
                                r"4\.4\.7 delivery time expired; last reply: 451 4\.3\.2")

    def test_finished_message_reads_from_history(self):
        outpost = self.start()
        message_id = self.send_finishing_message()

        # The command line, through the running daemon's admin API.
        code, shown, err = self.show(message_id)
        self.assertEqual(code, 0, err)
        self.assert_final_states(shown)

        # The same as JSON over the admin API, with curl.
        code, body = curl_json(outpost, f"/api/v1/queue/messages/{message_id}")
        self.assertEqual(code, 200, body)
        answer = json.loads(body)
        self.assertEqual(answer["id"], message_id)
        self.assertEqual(len(answer["parts"]), 1)
        part = answer["parts"][0]
        self.assertTrue(part["finished"])
        self.assertEqual(part["destination"], "relay")
        self.assertEqual({r["address"]: r["state"] for r in part["recipients"]},
                         {"ok@example.net": "delivered", "reject@example.net": "bounced",
                          "gone@example.net": "suppressed", "defer@example.net": "expired"})

        # A message that never existed is still a 404, naming both places looked in.
        code, body = curl_json(outpost, "/api/v1/queue/messages/00000000000000ff")
        self.assertEqual(code, 404, body)
        self.assertIn("no such message in the queue or its history", body)
        code, _, err = self.show("00000000000000ff")
        self.assertEqual(code, 1)
        self.assertIn("404", err)

        # The daemon stopped: the command reads the spool itself.
        self.assertEqual(outpost.stop(), 0)
        code, shown, err = self.show(message_id, daemon=False)
        self.assertEqual(code, 0, err)
        self.assert_final_states(shown)

        # Restarted: the history is still there.
        outpost.start()
        code, shown, err = self.show(message_id)
        self.assertEqual(code, 0, err)
        self.assert_final_states(shown)
        self.assertEqual(outpost.stop(), 0)

    def test_history_goes_after_its_retention(self):
        outpost = self.start()
        message_id = self.send_finishing_message()
        self.assertEqual(self.show(message_id)[0], 0)
        self.assertEqual(outpost.stop(), 0)
        # A retention of one second: the expiry at start-up drops the message's history.
        with open(outpost.config) as f:
            config = f.read()
        with open(outpost.config, "w") as f:
            f.write(config.replace("[queue]\n", '[queue]\nhistory_retention = "1s"\n', 1))
        outpost.start()
        wait_until(lambda: self.show(message_id)[0] == 1, 20, 0.2, "the history to expire")
        code, _, err = self.show(message_id)
        self.assertIn("no such message in the queue or its history", err)
        self.assertEqual(outpost.stop(), 0)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
