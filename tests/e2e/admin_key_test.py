"""End-to-end test of the safe defaults: with no [http] admin_key the daemon makes one at
first start in its spool (admin.key, mode 0600) and logs where; the admin API and /metrics
beside it answer 401 without it; /healthz and /readyz stay open; `outpost queue` and
`outpost suppression` given the same --config work with no set-up; a [metrics] listener of its
own serves /metrics without a key. Run as: admin_key_test.py --outpost PATH."""
import os
import re
import stat
import subprocess
import urllib.error
import urllib.request

from harness import run_tests, Outpost, free_port, wait_until, DaemonTest

OUTPOST = None


def get(port, path, key=None):
    """(status, body) of a GET to the daemon's HTTP listener, with the key if given."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class AdminKeyTest(DaemonTest):
    def daemon(self, settings=None):
        outpost = Outpost(OUTPOST, self.workdir, free_port(), settings)
        self.stoppers.append(outpost.stop)
        return outpost.start()

    def cli(self, outpost, *args):
        return subprocess.run([OUTPOST, *args, "--config", outpost.config], capture_output=True,
                              text=True, timeout=60)

    def test_default_config_makes_a_key_and_answers_nothing_without_it(self):
        port = free_port()  # fixed, so `--config` alone finds the daemon
        outpost = self.daemon({"http": {"listen": f'["127.0.0.1:{port}"]'}})
        path = os.path.join(self.workdir, "spool", "admin.key")
        mode = stat.S_IMODE(os.stat(path).st_mode)
        self.assertEqual(mode, 0o600, oct(mode))
        key = outpost.admin_key()
        self.assertRegex(key, r"^[0-9a-f]{64}$")
        self.assertIn(f"is in {path} (mode 0600", outpost.output())
        self.assertNotIn(key, outpost.output())  # where it is, never the key itself

        for route in ("/api/v1/queue/summary", "/api/v1/suppressions", "/api/v1/status",
                      "/metrics"):
            self.assertEqual(get(port, route)[0], 401, route)
            self.assertEqual(get(port, route, "not-the-key")[0], 401, route)
            self.assertEqual(get(port, route, key)[0], 200, route)
        status, body = get(port, "/metrics", key)
        self.assertIn("outpost_queue_parts_quarantined 0", body)
        self.assertEqual(get(port, "/healthz"), (200, "ok\n"))
        wait_until(lambda: get(port, "/readyz")[0] == 200, 10, what="readyz")

        # The command-line clients find the key beside the spool the config names.
        summary = self.cli(outpost, "queue", "summary")
        self.assertEqual(summary.returncode, 0, summary.stderr)
        self.assertIn("parts 0", summary.stdout)
        added = self.cli(outpost, "suppression", "add", "someone@example.net")
        self.assertEqual(added.returncode, 0, added.stderr)
        listed = self.cli(outpost, "suppression", "list")
        self.assertIn("someone@example.net", listed.stdout)
        refused = subprocess.run([OUTPOST, "queue", "summary", "--config", outpost.config,
                                  "--key", "wrong"], capture_output=True, text=True, timeout=60)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("401", refused.stderr)

        # The same key after a restart.
        self.assertEqual(outpost.stop(), 0)
        outpost.start()
        self.assertEqual(outpost.admin_key(), key)
        self.assertIn("made at first start", outpost.output())
        self.assertEqual(get(port, "/api/v1/queue/summary", key)[0], 200)

    def test_a_metrics_listener_of_its_own_needs_no_key(self):
        outpost = self.daemon({"metrics": {"listen": '["127.0.0.1:0"]'}})
        metrics_port = int(re.search(r"metrics listening on 127\.0\.0\.1:(\d+)",
                                     outpost.output()).group(1))
        status, body = get(metrics_port, "/metrics")
        self.assertEqual(status, 200)
        self.assertIn("outpost_messages_received_total", body)
        # Not beside the admin API any more; the admin API itself still wants its key.
        self.assertEqual(get(outpost.http_port, "/metrics", outpost.admin_key())[0], 404)
        self.assertEqual(get(outpost.http_port, "/api/v1/queue/summary")[0], 401)

    def test_a_configured_key_is_used_and_none_is_made(self):
        outpost = self.daemon({"http": {"listen": '["127.0.0.1:0"]', "admin_key": '"s3cret-k"'}})
        self.assertFalse(os.path.exists(os.path.join(self.workdir, "spool", "admin.key")))
        self.assertEqual(get(outpost.http_port, "/metrics")[0], 401)
        self.assertEqual(get(outpost.http_port, "/metrics", "s3cret-k")[0], 200)
        self.assertEqual(get(outpost.http_port, "/api/v1/queue/summary", "s3cret-k")[0], 200)

        # The key taken out of the file and reloaded: the spool's, made now, takes over.
        with open(outpost.config) as f:
            text = f.read()
        with open(outpost.config, "w") as f:
            f.write(text.replace('admin_key = "s3cret-k"', 'admin_key = ""'))
        request = urllib.request.Request(f"http://127.0.0.1:{outpost.http_port}/api/v1/reload",
                                         method="POST", data=b"",
                                         headers={"Authorization": "Bearer s3cret-k"})
        with urllib.request.urlopen(request, timeout=30) as r:
            self.assertEqual(r.status, 200)
        key = outpost.admin_key()
        self.assertRegex(key, r"^[0-9a-f]{64}$")
        wait_until(lambda: get(outpost.http_port, "/api/v1/status", key)[0] == 200, 10,
                   what="the spool's key in force")
        self.assertEqual(get(outpost.http_port, "/api/v1/status", "s3cret-k")[0], 401)
        self.assertEqual(get(outpost.http_port, "/api/v1/status")[0], 401)


if __name__ == "__main__":
    run_tests(__import__(__name__))
