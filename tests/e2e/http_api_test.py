"""End-to-end HTTP injection API, driven with curl: a raw message with its envelope, a
structured one built into MIME (parsed back by Python's `email` package with the same parts),
a bulk request of 10,000 recipients each delivered to smtp-sink with its own substitution,
per-recipient status after delivery, every error shape (400 naming the field, 401, 405, 413,
415, 429 with Retry-After), and `outpost inject`. Run as: http_api_test.py --outpost PATH."""
import base64
import email
import email.policy
import glob
import json
import os
import re
import subprocess

from harness import run_tests, Outpost, Sink, wait_until, DaemonTest, new_api_key

OUTPOST = None


def new_key():
    return new_api_key(OUTPOST)


class HttpApiTest(DaemonTest):
    def setUp(self):
        super().setUp()
        self.sink = self.started(Sink(self.workdir))
        self.key, digest = new_key()
        self.slow_key, slow_digest = new_key()
        self.outpost = self.started(Outpost(OUTPOST, self.workdir, self.sink.port, {
            "submission": {"listen": '["127.0.0.1:0"]', "message_bytes_max": "65536"},
            "http": {"listen": '["127.0.0.1:0"]', "body_bytes_max": "4194304"},
            "[http.api_key]": {"name": '"app"', "key_sha256": f'"{digest}"'},
            # 2 messages a minute for the node: one per shard, so the second request of a
            # burst to one shard is refused, and a 3-recipient bulk request always is.
            "[http.api_key]#2": {"name": '"slow"', "key_sha256": f'"{slow_digest}"',
                                "rate": '"2/m"'},
            "delivery": {"connections_max": "4"},
        }))
        self.outpost.start()
        self.base = f"http://127.0.0.1:{self.outpost.http_port}"

    def curl(self, method, path, body=None, key="default", content_type="application/json",
             raw_body=None):
        """(status, headers dict lower-cased, parsed JSON body or text)."""
        args = ["curl", "-sS", "-X", method, "-D", "-", "--max-time", "120",
                self.base + path]
        if key == "default":
            key = self.key
        if key is not None:
            args += ["-H", f"Authorization: Bearer {key}"]
        if content_type is not None:
            args += ["-H", f"Content-Type: {content_type}"]
        data = raw_body if raw_body is not None else (json.dumps(body) if body is not None
                                                      else None)
        if data is not None:
            path = os.path.join(self.workdir, "request.json")
            with open(path, "w") as f:
                f.write(data)
            args += ["--data-binary", "@" + path]
        out = subprocess.run(args, capture_output=True, text=True, timeout=180)
        self.assertEqual(out.returncode, 0, out.stderr)
        head, _, text = out.stdout.replace("\r\n", "\n").partition("\n\n")
        lines = head.split("\n")
        status = int(lines[0].split()[1])
        headers = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]
                   if ":" in l}
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text
        return status, headers, parsed

    def wait_queue_empty(self, timeout):
        """Every part delivered: smtp-sink closes a message's file before its 250, so the files
        are whole once the queue is empty (a file exists from MAIL on, half written)."""
        def empty():
            status, _, body = self.curl("GET", "/api/v1/queue/summary?format=text",
                                        key=self.outpost.admin_key(), content_type=None)
            return status == 200 and body.startswith("parts 0\n")
        wait_until(empty, timeout, 0.2, "an empty queue")

    def sink_messages(self):
        found = []
        for path in glob.glob(os.path.join(self.sink.dir, "msg.*")):
            with open(path, "rb") as f:
                found.append(email.message_from_bytes(f.read(), policy=email.policy.default))
        return found

    def test_raw_message_and_its_status(self):
        raw = ("From: App <app@example.com>\nTo: Ann <ann@example.net>\nSubject: raw one\n"
               "Message-ID: <raw-1@outpost.test>\n\nHello Ann.\n")
        status, _, body = self.curl("POST", "/v1/messages", {
            "raw": raw, "envelope": {"mail_from": "app@example.com",
                                     "rcpt_to": ["ann@example.net", "bob@example.org"]}})
        self.assertEqual(status, 202, body)
        [entry] = body["messages"]
        self.assertEqual(entry["recipients"], ["ann@example.net", "bob@example.org"])
        message_id = entry["id"]
        wait_until(lambda: "<raw-1@outpost.test>" in self.sink.message_ids(), 30, 0.1, "raw")

        def delivered():
            status, _, body = self.curl("GET", f"/v1/messages/{message_id}")
            return status == 200 and all(r["status"] == "delivered" for r in body["recipients"])
        wait_until(delivered, 30, 0.2, "status delivered")
        status, _, body = self.curl("GET", f"/v1/messages/{message_id}")
        self.assertEqual(body["id"], message_id)
        self.assertEqual(sorted(r["address"] for r in body["recipients"]),
                         ["ann@example.net", "bob@example.org"])
        for recipient in body["recipients"]:
            self.assertTrue(recipient["last_reply"].startswith("250"), recipient)
            self.assertEqual(recipient["attempts"], 1)
        self.assertRegex(body["received_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        # The stored message has CRLF line ends and the trace fields, and the raw LF text.
        [delivered_message] = self.sink_messages()
        # The sink adds its own Received above ours.
        self.assertTrue(any("with HTTP" in str(r) for r in delivered_message.get_all("Received")),
                        delivered_message.get_all("Received"))
        self.assertEqual(delivered_message.get_content().strip(), "Hello Ann.")
        status, _, body = self.curl("GET", "/v1/messages/00000000000000ff")
        self.assertEqual(status, 404, body)
        status, _, body = self.curl("GET", "/v1/messages/not-an-id")
        self.assertEqual(status, 404, body)
        self.assertEqual(self.outpost.stop(), 0)

    def test_structured_message_is_mime_python_reads_back(self):
        pdf = bytes(range(256)) * 40
        status, _, body = self.curl("POST", "/v1/messages", {
            "from": "Zoë Sender <zoe@example.com>",
            "to": ["Ann <ann@example.net>"], "cc": ["carl@example.net"],
            "bcc": ["hidden@example.net"], "reply_to": "replies@example.com",
            "subject": "Grüße — your invoice",
            "text": "Hello Ann,\nyour invoice is attached. Ünïcode text.\n",
            "html": "<p>Hello Ann,</p><p>your invoice is <b>attached</b>. Ünïcode.</p>",
            "headers": {"X-Campaign": "spring"},
            "attachments": [
                {"filename": "invoice.pdf", "content_type": "application/pdf",
                 "content": base64.b64encode(pdf).decode()},
                {"filename": "notes.txt", "content_type": "text/plain",
                 "content": base64.b64encode(b"plain notes\n").decode()}],
        })
        self.assertEqual(status, 202, body)
        self.assertEqual(body["messages"][0]["recipients"],
                         ["ann@example.net", "carl@example.net", "hidden@example.net"])
        wait_until(lambda: len(self.sink.files()) >= 1, 30, 0.1, "structured message")
        self.wait_queue_empty(30)
        [got] = self.sink_messages()
        self.assertEqual(str(got["Subject"]), "Grüße — your invoice")
        self.assertEqual(got["From"].addresses[0].display_name, "Zoë Sender")
        self.assertEqual(got["From"].addresses[0].addr_spec, "zoe@example.com")
        self.assertEqual(got["Cc"].addresses[0].addr_spec, "carl@example.net")
        self.assertIsNone(got["Bcc"])
        self.assertEqual(got["X-Campaign"], "spring")
        self.assertRegex(got["Message-ID"], r"^<[0-9a-f]{16}@outpost\.test>$")  # added for it
        self.assertIsNotNone(got["Date"])
        self.assertEqual(got.get_content_type(), "multipart/mixed")
        alternative, *attachments = got.iter_parts()
        self.assertEqual(alternative.get_content_type(), "multipart/alternative")
        text, html = alternative.iter_parts()
        self.assertEqual(text.get_content().replace("\r\n", "\n"),
                         "Hello Ann,\nyour invoice is attached. Ünïcode text.\n")
        self.assertIn("<b>attached</b>. Ünïcode.", html.get_content())
        self.assertEqual([a.get_filename() for a in attachments], ["invoice.pdf", "notes.txt"])
        self.assertEqual(attachments[0].get_content_type(), "application/pdf")
        self.assertEqual(attachments[0].get_content(), pdf)
        self.assertEqual(attachments[1].get_content().replace("\r\n", "\n"), "plain notes\n")
        self.assertEqual(self.outpost.stop(), 0)

    def test_bulk_ten_thousand_recipients_each_with_its_substitution(self):
        count = 10_000
        recipients = [{"to": f"User {i} <user{i}@bulk{i % 50}.example>",
                       "substitutions": {"first_name": f"Name{i}", "n": i}}
                      for i in range(count)]
        status, _, body = self.curl("POST", "/v1/messages", {
            "from": "News <news@example.com>",
            "subject": "Hello {{first_name}}",
            "text": "Dear {{ first_name }}, you are number {{n}} of {{total}}.\n",
            "html": "<p>Dear {{first_name}}</p>",
            "headers": {"X-Recipient-Number": "{{n}}"},
            "substitutions": {"total": str(count)},
            "recipients": recipients,
        })
        self.assertEqual(status, 202, body)
        self.assertEqual(len(body["messages"]), count)
        self.assertEqual(len({m["id"] for m in body["messages"]}), count)
        wait_until(lambda: len(self.sink.files()) >= count, 600, 0.5, f"{count} messages")
        self.wait_queue_empty(60)
        seen = set()
        for got in self.sink_messages():
            number = int(got["X-Recipient-Number"])
            self.assertEqual(got["To"].addresses[0].addr_spec, f"user{number}@bulk{number % 50}.example")
            self.assertEqual(str(got["Subject"]), f"Hello Name{number}")
            text = got.get_body(("plain",)).get_content()
            self.assertIn(f"Dear Name{number}, you are number {number} of {count}.", text)
            seen.add(number)
        self.assertEqual(seen, set(range(count)))
        self.assertEqual(self.outpost.stop(), 0)

    def test_unknown_placeholder_is_refused_unless_it_has_a_default(self):
        recipients = [{"to": "r0@example.net", "substitutions": {"name": "Ann"}},
                      {"to": "r1@example.net", "substitutions": {"name": "Bob"}},
                      {"to": "r2@example.net", "substitutions": {"nme": "Cy"}}]
        template = {"from": "news@example.com", "substitutions": {"shop": "Outpost"},
                    "recipients": recipients}
        status, _, body = self.curl("POST", "/v1/messages", {
            **template, "subject": "Hi {{name}}", "text": "Hello {{name}} from {{shop}}\n"})
        self.assertEqual(status, 400, body)
        self.assertEqual(body["error"]["field"], "recipients[2]")
        self.assertIn("recipients[2]: unknown placeholder {{name}} in subject",
                      body["error"]["message"])
        status, _, body = self.curl("POST", "/v1/messages", {
            **template, "subject": "Hi", "text": "Hello {{name}}, {{ offer }}\n"})
        self.assertEqual(status, 400, body)
        self.assertEqual(body["error"]["field"], "recipients[0]")  # the first recipient
        self.assertIn("unknown placeholder {{offer}} in text", body["error"]["message"])
        # With defaults: a recipient without the value gets the template's default.
        status, _, body = self.curl("POST", "/v1/messages", {
            **template, "subject": "Hi {{name|there}}",
            "text": "Hello {{ name | there }} from {{shop|us}}.{{note|}}\n"})
        self.assertEqual(status, 202, body)
        self.assertEqual(len(body["messages"]), 3)
        wait_until(lambda: len(self.sink.files()) >= 3, 60, 0.1, "three messages")
        self.wait_queue_empty(60)
        got = {m["To"].addresses[0].addr_spec: m for m in self.sink_messages()}
        self.assertEqual(len(got), 3)  # the refused requests stored nothing
        self.assertEqual({a: str(m["Subject"]) for a, m in got.items()},
                         {"r0@example.net": "Hi Ann", "r1@example.net": "Hi Bob",
                          "r2@example.net": "Hi there"})
        self.assertIn("Hello there from Outpost.",
                      got["r2@example.net"].get_body(("plain",)).get_content())
        self.assertEqual(self.outpost.stop(), 0)

    def test_errors_name_the_field_and_store_nothing(self):
        structured = {"from": "a@example.com", "to": ["b@example.net"], "subject": "s",
                      "text": "t"}
        cases = [
            ("malformed JSON", dict(raw_body='{"from": "a@example.com",'), 400, None),
            ("unknown field", dict(body={**structured, "colour": "red"}), 400, "colour"),
            ("bad address", dict(body={**structured, "to": ["b@example.net", "not an address"]}),
             400, "to[1]"),
            ("no body", dict(body={"from": "a@example.com", "to": ["b@example.net"]}), 400, "text"),
            ("raw without envelope", dict(body={"raw": "Subject: x\n\nx\n"}), 400, "envelope"),
            ("bad attachment", dict(body={**structured, "attachments": [{"content": "!!"}]}), 400,
             "attachments[0].content"),
            ("header injection", dict(body={**structured, "headers": {"X-A": "a\r\nBcc: x@y"}}),
             400, "headers.X-A"),
            ("bad template", dict(body={"from": "a@example.com", "text": "Hi {{name",
                                        "recipients": [{"to": "b@example.net"}]}), 400, "text"),
            ("oversize message", dict(body={"raw": "Subject: big\n\n" + "x" * 70000 + "\n",
                                            "envelope": {"mail_from": "a@example.com",
                                                         "rcpt_to": ["b@example.net"]}}), 413,
             "raw"),
            ("oversize body", dict(raw_body="{" + " " * (5 * 1024 * 1024) + "}"), 413, None),
            ("not JSON", dict(body=structured, content_type="text/plain"), 415, None),
            ("no key", dict(body=structured, key=None), 401, None),
            ("wrong key", dict(body=structured, key="op_wrong"), 401, None),
        ]
        for name, kwargs, want_status, want_field in cases:
            with self.subTest(name):
                status, headers, body = self.curl("POST", "/v1/messages", **kwargs)
                self.assertEqual(status, want_status, body)
                if want_status == 401:
                    self.assertEqual(headers.get("www-authenticate"), "Bearer")
                if isinstance(body, dict):
                    self.assertEqual(body["error"]["status"], want_status)
                    self.assertEqual(body["error"].get("field"), want_field, body)
                elif want_status != 413:
                    self.fail(f"not a JSON error: {body!r}")
        status, headers, body = self.curl("PUT", "/v1/messages", structured)
        self.assertEqual(status, 405, body)
        self.assertEqual(headers.get("allow"), "POST")
        # The slow key: its share of 2/m per shard is one message, so a 3-recipient bulk
        # request exceeds any shard's bucket after a first message.
        bulk = {"from": "a@example.com", "text": "x",
                "recipients": [{"to": f"r{i}@example.net"} for i in range(3)]}
        statuses = [self.curl("POST", "/v1/messages", bulk, key=self.slow_key) for _ in range(3)]
        limited = [s for s in statuses if s[0] == 429]
        self.assertTrue(limited, [s[0] for s in statuses])
        for status, headers, body in limited:
            self.assertGreaterEqual(int(headers["retry-after"]), 1)
            self.assertIn("rate limit", body["error"]["message"])
        accepted = sum(len(s[2]["messages"]) for s in statuses if s[0] == 202)
        wait_until(lambda: len(self.sink.files()) >= accepted, 30, 0.1, "accepted ones")
        self.assertEqual(len(self.sink.files()), accepted)  # nothing refused was stored
        self.assertEqual(self.outpost.stop(), 0)

    def test_openapi_documents_every_answer_the_tests_see(self):
        import yaml  # PyYAML; only this test needs it
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, "..", "..", "injection", "openapi.yaml")) as f:
            spec = yaml.safe_load(f)
        paths = spec["paths"]
        # The statuses the other tests of this file get from each route.
        seen = {("/v1/messages", "post"): {202, 400, 401, 405, 413, 415, 429},
                ("/v1/messages/{id}", "get"): {200, 404}}
        for (path, method), statuses in seen.items():
            documented = {int(code) for code in paths[path][method]["responses"]}
            self.assertLessEqual(statuses, documented, f"{method} {path}")
        self.assertEqual(self.outpost.stop(), 0)

    def test_outpost_inject(self):
        path = os.path.join(self.workdir, "message.eml")
        with open(path, "w") as f:
            f.write("From: a@example.com\nTo: b@example.net\nSubject: injected\n"
                    "Message-ID: <inject-1@outpost.test>\n\nfrom a file\n")
        out = subprocess.run([OUTPOST, "inject", "--url", self.base, "--key", self.key,
                              "--from", "a@example.com", "--to", "b@example.net", path],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout.strip(), r"^[0-9a-f]{16}$")
        with open(path) as f:  # and from stdin, with the key from the environment
            out = subprocess.run([OUTPOST, "inject", "--url", self.base, "--from",
                                  "a@example.com", "--to", "c@example.net"],
                                 stdin=f, capture_output=True, text=True, timeout=60,
                                 env={**os.environ, "OUTPOST_API_KEY": self.key})
        self.assertEqual(out.returncode, 0, out.stderr)
        wait_until(lambda: len(self.sink.files()) >= 2, 30, 0.1, "injected messages")
        bad = subprocess.run([OUTPOST, "inject", "--url", self.base, "--key", "op_wrong",
                              "--from", "a@example.com", "--to", "b@example.net", path],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("API key", bad.stderr)
        self.assertEqual(self.outpost.stop(), 0)


if __name__ == "__main__":
    import sys
    run_tests(sys.modules[__name__])
