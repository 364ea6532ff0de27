"""The OpenAPI files against the code and the running daemon:
- app/admin_openapi.yaml (OpenAPI 3.1) and injection/openapi.yaml (3.0) are valid: checked with
  Debian's python3-jsonschema against the specification's own JSON Schemas, from the pinned npm
  package that scripts/install-openapi-schemas puts in the build tree; every Schema Object is a
  valid JSON Schema, every $ref resolves, every {template} has its path parameter.
- Every route the admin code serves is in the file: each path literal of app/admin.cc and
  app/daemon/shard_http.cc must appear in a documented path (the failure names the literal and
  its line, so a new route is easy to add).
- Every documented route is served: each (path, method) is requested from a real daemon and
  must not answer "no such route" or 405; where the daemon answers 405 to a method the file
  does not list, its Allow header must list only documented methods.
- Every answer seen (JSON bodies, text bodies with a schema, status codes, content types)
  validates against the file's responses; the objects the file closes (additionalProperties:
  false: the status, its destinations, error groups and throughput, a queued part) must have
  no member it does not describe, so a field added to the code fails here until documented.
  The answers include a status with a destination and an error group, a finished (bounced)
  message read from the history, and the 403 of a browser's cross-origin request on every
  POST route.
Run as: openapi_test.py --outpost PATH."""
import json
import os
import re
import smtplib
import subprocess
import sys
import unittest
import urllib.error
import urllib.request

import jsonschema
import yaml

from harness import run_tests, Outpost, free_port, message, wait_until, DaemonTest

OUTPOST = None
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
ADMIN_SPEC = os.path.join(ROOT, "app", "admin_openapi.yaml")
INJECTION_SPEC = os.path.join(ROOT, "injection", "openapi.yaml")
# The sources whose routes app/admin_openapi.yaml describes.
ROUTE_SOURCES = [os.path.join(ROOT, "app", "admin.cc"),
                 os.path.join(ROOT, "app", "daemon", "shard_http.cc")]
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def schemas_dir():
    """The specification's JSON Schemas, installed into the build tree on first use."""
    build = os.path.dirname(os.path.dirname(OUTPOST))  # build/<preset>/app/outpost
    out = subprocess.run([os.path.join(ROOT, "scripts", "install-openapi-schemas"), build],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise AssertionError("scripts/install-openapi-schemas failed:\n" + out.stderr)
    return out.stdout.strip()


def refs(node, where="#"):
    """Every $ref in the document, with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield where, value
            else:
                yield from refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from refs(value, f"{where}/{i}")


def pointer(doc, ref):
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def resolved(doc, node):
    """A Reference Object followed to what it names (responses, parameters)."""
    while isinstance(node, dict) and "$ref" in node:
        node = pointer(doc, node["$ref"])
    return node


def schema_objects(doc):
    """Every Schema Object of a 3.1 document: components' and the media types' ones."""
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        yield f"components/schemas/{name}", schema
    for name, response in doc.get("components", {}).get("responses", {}).items():
        for media, content in response.get("content", {}).items():
            if "schema" in content:
                yield f"components/responses/{name} {media}", content["schema"]
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            for code, response in item.get(method, {}).get("responses", {}).items():
                for media, content in response.get("content", {}).items():
                    if "schema" in content:
                        yield f"{method} {path} {code} {media}", content["schema"]


def spec_errors(doc, schema):
    """What is wrong with an OpenAPI document: the specification's schema, then the rules it
    cannot express."""
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
              for e in validator.iter_errors(doc)]
    for where, ref in refs(doc):
        try:
            pointer(doc, ref) if ref.startswith("#/") else None
        except (KeyError, IndexError, TypeError):
            errors.append(f"{where}: $ref {ref} names nothing")
        if not ref.startswith("#/"):
            errors.append(f"{where}: $ref {ref} leaves the file")
    for path, item in doc.get("paths", {}).items():
        shared = [resolved(doc, p) for p in item.get("parameters", [])]
        for method in METHODS:
            if method not in item:
                continue
            params = shared + [resolved(doc, p) for p in item[method].get("parameters", [])]
            declared = {p["name"] for p in params if p.get("in") == "path"}
            for name in re.findall(r"\{([^}]+)\}", path):
                if name not in declared:
                    errors.append(f"{method} {path}: no path parameter '{name}'")
    return errors


def undocumented(lines, source, documented):
    """The path pieces a source's lines serve that no documented path contains: path literals
    ("/summary", "/api/v1/queue", "/healthz") and the verbs after a destination
    (verb == "suspend"). One message per piece, naming the source line."""
    missing = []
    for number, line in enumerate(lines, 1):
        pieces = re.findall(r'"(/[A-Za-z0-9_.\-/]*)"', line)
        pieces += ["/" + verb for verb in re.findall(r'verb\s*[!=]=\s*"(\w+)"', line)]
        for piece in pieces:
            if not any(piece in path for path in documented):
                missing.append(f"{source}:{number} serves \"{piece}\", which no path of "
                               f"app/admin_openapi.yaml contains: document the route")
    return missing


def template_regex(path):
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")


class SpecTest(unittest.TestCase):
    """The files alone: valid, and covering every route the admin code has."""

    @classmethod
    def setUpClass(cls):
        directory = schemas_dir()
        with open(os.path.join(directory, "v3.1", "schema.json")) as f:
            cls.oas31 = json.load(f)
        with open(os.path.join(directory, "v3.0", "schema.json")) as f:
            cls.oas30 = json.load(f)

    def test_admin_file_is_valid_openapi_3_1(self):
        doc = load(ADMIN_SPEC)
        self.assertTrue(doc["openapi"].startswith("3.1."))
        self.assertEqual(spec_errors(doc, self.oas31), [])
        for where, schema in schema_objects(doc):
            with self.subTest(where):
                jsonschema.Draft202012Validator.check_schema(schema)

    def test_injection_file_is_valid_openapi_3_0(self):
        doc = load(INJECTION_SPEC)
        self.assertTrue(doc["openapi"].startswith("3.0."))
        self.assertEqual(spec_errors(doc, self.oas30), [])

    def test_the_validator_catches_mistakes(self):
        # A misspelt key, a parameter in no place, a dangling $ref, a template without its
        # parameter: each must be reported, or the checks above prove nothing.
        base = load(ADMIN_SPEC)
        broken = [
            lambda d: d["paths"]["/healthz"]["get"].update(responsez={}),
            lambda d: d["components"]["parameters"]["format"].update({"in": "body"}),
            lambda d: d["paths"]["/api/v1/status"]["get"]["responses"]["200"]["content"][
                "application/json"]["schema"].update({"$ref": "#/components/schemas/Nope"}),
            lambda d: d["paths"].update({"/api/v1/x/{name}": {"get": {"responses": {
                "200": {"description": "x"}}}}}),
        ]
        for i, breaking in enumerate(broken):
            doc = json.loads(json.dumps(base))
            breaking(doc)
            with self.subTest(i):
                self.assertNotEqual(spec_errors(doc, self.oas31), [])
        doc = load(INJECTION_SPEC)
        doc["info"]["titel"] = "x"
        self.assertNotEqual(spec_errors(doc, self.oas30), [])

    def test_every_route_in_the_code_is_documented(self):
        documented = list(load(ADMIN_SPEC)["paths"])
        missing = []
        for source in ROUTE_SOURCES:
            with open(source) as f:
                missing += undocumented(f.read().splitlines(), os.path.relpath(source, ROOT),
                                        documented)
        self.assertEqual(missing, [])

    def test_a_new_route_is_named(self):
        documented = list(load(ADMIN_SPEC)["paths"])
        lines = ['  if (route == "/throughput") {', '  if (verb != "suspend" && verb != "drain")']
        self.assertEqual([m.split(" serves ")[1].split(",")[0] for m in
                          undocumented(lines, "app/admin.cc", documented)],
                         ['"/throughput"', '"/drain"'])


class ServedTest(DaemonTest):
    """A real daemon: every documented route is served, and answers as documented."""

    def setUp(self):
        super().setUp()
        self.spec = load(ADMIN_SPEC)
        # Nothing listens on the relay port: every message is deferred and stays queued.
        self.outpost = Outpost(OUTPOST, self.workdir, free_port(), {
            "queue": {"retry_initial": '"1h"', "retry_max_delay": '"1h"'},
            "bounce": {"domain": '"bounces.outpost.test"', "listen": '"127.0.0.1:0"'}})
        self.stoppers.append(self.outpost.stop)
        self.outpost.start()
        self.key = self.outpost.admin_key()
        self.base = f"http://127.0.0.1:{self.outpost.http_port}"
        self.seen = []  # (method, template, status)

    def request(self, method, target, key=True, extra=None):
        """One request; returns (status, headers, body text)."""
        headers = {"Authorization": f"Bearer {self.key}"} if key else {}
        headers.update(extra or {})
        request = urllib.request.Request(self.base + target, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()

    def operation(self, method, target):
        path = target.split("?")[0]
        for template, item in self.spec["paths"].items():
            if template_regex(template).match(path) and method.lower() in item:
                return template, item[method.lower()]
        return None, None

    def check(self, method, target, want=None, key=True, extra=None):
        """Requests `target` (with the `extra` headers) and validates the answer against the
        file; returns the body."""
        status, headers, body = self.request(method, target, key, extra)
        what = f"{method} {target} -> {status} {body[:200]!r}"
        self.assertFalse(status == 404 and body.strip() in ("no such route",
                                                            '{"error":"no such route"}'), what)
        if want is not None:
            self.assertEqual(status, want, what)
        template, operation = self.operation(method, target)
        self.assertIsNotNone(template, f"{what}: not in app/admin_openapi.yaml")
        self.seen.append((method, template, status))
        responses = operation["responses"]
        self.assertIn(str(status), responses, f"{what}: status not documented")
        response = resolved(self.spec, responses[str(status)])
        content = response.get("content")
        if not content or method == "HEAD":
            return body
        media = headers.get("Content-Type", "")
        self.assertIn(media, content, f"{what}: content type {media!r} not documented")
        schema = content[media].get("schema")
        if schema is not None:
            # The schema inside a root that has the file's components, so #/components/...
            # resolves without a resolver.
            root = {**schema, "components": self.spec["components"]}
            instance = json.loads(body) if media.startswith("application/json") else body
            errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
                      for e in jsonschema.Draft202012Validator(root).iter_errors(instance)]
            self.assertEqual(errors, [], what)
        return body

    def queue_messages(self, count):
        with smtplib.SMTP("127.0.0.1", self.outpost.port, timeout=30) as client:
            for i in range(count):
                client.send_message(message(i, "openapi"), "a@example.com", ["b@example.net"])

    def test_every_documented_route_answers_as_documented(self):
        self.queue_messages(2)
        # The shards publish their destinations once a second: wait for a row too.
        wait_until(lambda: (lambda s: s["error_groups"] and s["queue"]["destinations"])(
            json.loads(self.request("GET", "/api/v1/status")[2])), 30, 0.2,
            "a deferral and a destination in the status")
        listed = json.loads(self.check("GET", "/api/v1/queue/messages", 200))
        self.assertEqual(listed["matched"], 2)
        message_id = listed["parts"][0]["id"]
        finished_id = listed["parts"][1]["id"]

        self.check("GET", "/healthz", 200, key=False)
        self.check("GET", "/readyz", 200, key=False)
        self.check("GET", "/metrics", 200)
        self.check("HEAD", "/metrics", 200)
        self.check("GET", "/metrics", 401, key=False)
        self.check("GET", "/", 200, key=False)
        self.check("GET", "/index.html", 200, key=False)
        status = json.loads(self.check("GET", "/api/v1/status", 200))
        # The rows and groups the schema describes are there to be validated.
        self.assertTrue(status["queue"]["destinations"], status["queue"])
        self.assertTrue(status["error_groups"], status)
        self.check("GET", "/api/v1/status", 401, key=False)
        self.check("POST", "/api/v1/reload", 200)
        self.check("POST", "/api/v1/destinations/example.invalid/suspend?for=60", 200)
        self.check("POST", "/api/v1/destinations/example.invalid/resume", 200)
        self.check("POST", "/api/v1/destinations/example.invalid/resume", 404)
        self.check("POST", "/api/v1/destinations/example.invalid/suspend?for=0", 400)
        self.check("GET", "/api/v1/queue/summary", 200)
        self.check("GET", "/api/v1/queue/summary?format=text", 200)
        self.check("GET", "/api/v1/queue/messages?limit=1&destination=relay", 200)
        self.check("GET", "/api/v1/queue/messages?bogus=1", 400)
        self.check("GET", f"/api/v1/queue/messages/{message_id}", 200)
        self.check("GET", f"/api/v1/queue/messages/{message_id}?format=text", 200)
        self.check("GET", "/api/v1/queue/messages/ffffffffffffffff", 404)
        self.check_finished_message(finished_id)
        self.check("POST", f"/api/v1/queue/retry?id={message_id}", 200)
        self.check("POST", "/api/v1/queue/delete", 400)  # no filter, no all=1
        self.check("POST", "/api/v1/queue/delete?id=0000000000000001", 200)
        self.check("POST", "/api/v1/queue/bounce?id=0000000000000001", 200)
        self.check("GET", "/api/v1/suppressions", 200)
        address = "someone@example.net"
        self.check("PUT", f"/api/v1/suppressions/{address}?reason=test&category=manual", 200)
        self.check("POST", f"/api/v1/suppressions/{address}?reason=again", 200)
        self.check("GET", f"/api/v1/suppressions/{address}", 200)
        self.check("GET", "/api/v1/suppressions?q=someone&format=text", 200)
        self.check("DELETE", f"/api/v1/suppressions/{address}", 200)
        self.check("GET", f"/api/v1/suppressions/{address}", 404)
        self.check("GET", "/api/v1/suppressions/not-an-address", 400)

        # Every documented operation was asked for, and none answered 405.
        asked = {(method.lower(), template) for method, template, _ in self.seen}
        for template, item in self.spec["paths"].items():
            for method in METHODS:
                if method in item:
                    self.assertIn((method, template), asked,
                                  f"{method.upper()} {template} is documented but untested")
        self.assertEqual([s for s in self.seen if s[2] == 405], [])
        self.assertEqual(self.outpost.stop(), 0)

    def check_finished_message(self, message_id):
        """Bounces a queued message, then reads it back from the history."""
        bounced = json.loads(self.check("POST", f"/api/v1/queue/bounce?id={message_id}", 200))
        self.assertEqual(bounced["matched"], 1, bounced)

        def finished():
            status, _, body = self.request("GET", f"/api/v1/queue/messages/{message_id}")
            return status == 200 and all(p["finished"] for p in json.loads(body)["parts"])

        wait_until(finished, 30, 0.2, f"{message_id} in the history")
        shown = json.loads(self.check("GET", f"/api/v1/queue/messages/{message_id}", 200))
        self.assertEqual(shown["id"], message_id)
        self.assertEqual([r["state"] for p in shown["parts"] for r in p["recipients"]],
                         ["bounced"], shown)
        self.check("GET", f"/api/v1/queue/messages/{message_id}?format=text", 200)

    def test_cross_origin_requests_are_refused(self):
        # A page elsewhere, in a browser that holds the key: each POST route refuses it with
        # the documented 403, by Origin or by Sec-Fetch-Site, and does nothing.
        foreign = [{"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                   {"Origin": f"http://127.0.0.1:{self.outpost.http_port + 1}"},
                   {"Sec-Fetch-Site": "same-site", "Origin": self.base}]
        posts = ["/api/v1/reload", "/api/v1/destinations/example.invalid/suspend",
                 "/api/v1/destinations/example.invalid/resume", "/api/v1/queue/retry",
                 "/api/v1/queue/delete?all=1", "/api/v1/queue/bounce?all=1",
                 "/api/v1/suppressions/someone@example.net?reason=x"]
        for i, target in enumerate(posts):
            with self.subTest(target):
                self.check("POST", target, 403, extra=foreign[i % len(foreign)])
        self.check("PUT", "/api/v1/suppressions/someone@example.net", 403, extra=foreign[0])
        self.check("GET", "/api/v1/status", 403, key=False, extra=foreign[1])
        self.check("GET", "/api/v1/queue/summary?format=text", 403, extra=foreign[0])
        # Nothing happened; and the page's own origin (as a browser sends it) is served.
        same = {"Origin": self.base, "Sec-Fetch-Site": "same-origin"}
        self.check("GET", "/api/v1/suppressions/someone@example.net", 404, extra=same)
        status = json.loads(self.check("GET", "/api/v1/status", 200, extra=same))
        self.assertFalse([d for d in status["queue"]["destinations"] if d["suspended"]], status)
        self.assertEqual(self.outpost.stop(), 0)

    def test_undocumented_methods_are_refused(self):
        # Where the daemon refuses a method with 405, Allow lists documented methods only.
        samples = {"/metrics": "/metrics", "/api/v1/status": "/api/v1/status",
                   "/api/v1/reload": "/api/v1/reload",
                   "/api/v1/destinations/{destination}/suspend":
                       "/api/v1/destinations/example.invalid/suspend",
                   "/api/v1/suppressions": "/api/v1/suppressions",
                   "/api/v1/suppressions/{address}": "/api/v1/suppressions/a@example.net",
                   "/api/v1/queue/summary": "/api/v1/queue/summary",
                   "/api/v1/queue/messages": "/api/v1/queue/messages",
                   "/api/v1/queue/retry": "/api/v1/queue/retry"}
        for template, target in samples.items():
            documented = {m.upper() for m in METHODS if m in self.spec["paths"][template]}
            for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
                if method in documented:
                    continue
                status, headers, body = self.request(method, target)
                with self.subTest(f"{method} {target}"):
                    self.assertEqual(status, 405, body)
                    allowed = {m.strip() for m in headers.get("Allow", "").split(",")}
                    self.assertLessEqual(allowed, documented, f"{method} {target}")
        self.assertEqual(self.outpost.stop(), 0)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
