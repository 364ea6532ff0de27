"""End-to-end live console: the daemon (with an [http] admin_key) delivers a known workload
over MX records from a real DNS server (unbound): 30 messages to smtp-sink, 4 recipients a
scripted peer defers with 451, 2 it rejects with 550 (their DSNs land in the bounce mailbox),
and one later message to a recipient the bounces suppressed. Then GET /api/v1/status (curl)
must report exactly that (per destination: parts, recipients waiting, state, last error; the
deferrals and bounces grouped with counts; an hour of throughput in 10 s buckets), and GET /
serves the console page, which Debian's headless Chromium renders from the daemon: its DOM
(--dump-dom) shows the workload's numbers, the grouped errors, the queue and the chart's
labelled axes; with a wrong key it shows only the key form; its screenshot (--screenshot,
decoded here with zlib) is not blank and a chart line is drawn. console_test.py drives the
page in a browser (connections under a slow receiver, actions, two window sizes).

check_api(), check_console() and check_key_form() take a base URL (and key), so they run
against any server that speaks the status contract, e.g. a stub while working on the page:
    import unittest, status_page_test as t
    t.check_console(unittest.TestCase(), "http://127.0.0.1:8765", "KEY", "/tmp/somewhere")
Chromium runs are skipped only when `chromium` is not on PATH.
Run as: status_page_test.py --outpost PATH."""
import datetime
import html.parser
import json
import os
import re
import shutil
import signal
import smtplib
import struct
import subprocess
import sys
import tempfile
import zlib

from dns_server import DnsServer
from harness import run_tests, Outpost, Sink, wait_until, DaemonTest
from scripted_peer import ScriptedPeer

OUTPOST = None
CHROMIUM = shutil.which("chromium")
KEY = "console-s3cret"
TITLE = "Outpost live console"
SENDER = "news@example.com"
STATUS_KEYS = {"version", "node", "started_at", "uptime_seconds", "shards", "ready", "draining",
               "rates", "totals", "queue", "error_groups", "throughput", "bounce_categories",
               "recent_deferrals", "recent_bounces"}
DESTINATION_KEYS = {"destination", "kind", "pool", "parts", "in_flight", "recipients_waiting",
                    "connections", "connections_max", "delivered_per_second",
                    "oldest_received_at", "oldest_age_seconds", "next_attempt_at", "state",
                    "state_reason", "suspended", "suspended_until", "throttled", "last_error",
                    "last_error_at"}
GROUP_KEYS = {"destination", "outcome", "code", "enhanced_code", "reply", "example", "count",
              "first_seen", "last_seen"}
# The sparkline's stroke colours (app/status_page.html: --delivered, --received), light and
# dark schemes. With equal rates (0 and 0 once the workload is over) delivered covers received.
LINE_COLOURS = [(0x1f, 0x9d, 0x55), (0x48, 0xc7, 0x7e), (0x2f, 0x6f, 0xd6), (0x6b, 0x9c, 0xf0)]


def curl(url, *args):
    """(status, headers text, body) of one request."""
    out = subprocess.run(["curl", "-s", "-S", "-D", "-", "--max-time", "20", *args, url],
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise AssertionError(f"curl {url} failed: {out.stderr}")
    head, _, body = out.stdout.replace("\r\n", "\n").partition("\n\n")
    return int(head.split()[1]), head, body


def send_each(port, recipients):
    """One message per recipient over one SMTP session to the daemon at `port`."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for i, rcpt in enumerate(recipients):
            client.sendmail(SENDER, [rcpt], f"Subject: console {i}\r\nMessage-ID: "
                            f"<console-{i}-{rcpt}>\r\n\r\nbody {i}\r\n")


def get_status(base_url, key):
    code, _, body = curl(base_url + "/api/v1/status", "-H", f"Authorization: Bearer {key}")
    if code != 200:
        raise AssertionError(f"GET /api/v1/status answered {code}: {body[:300]}")
    return json.loads(body)


# --- the DOM Chromium dumps, as a small tree -------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Element:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def elements(self):
        for c in self.children:
            if isinstance(c, Element):
                yield c
                yield from c.elements()

    def find(self, tag):
        return [e for e in self.elements() if e.tag == tag]


class _TreeBuilder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Element("#document", {}, None)

    def handle_starttag(self, tag, attrs):
        element = Element(tag, attrs, self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


class Dom:
    def __init__(self, text):
        builder = _TreeBuilder()
        builder.feed(text)
        builder.close()
        self.root = builder.root
        self.ids = {e.attrs["id"]: e for e in self.root.elements() if "id" in e.attrs}

    def element(self, element_id):
        if element_id not in self.ids:
            raise AssertionError(f"no element id={element_id!r} in the DOM (is the console "
                                 f"page served at /?): {self.root.text()[:300]!r}")
        return self.ids[element_id]

    def text(self, element_id):
        return " ".join(self.element(element_id).text().split())

    def shown(self, element_id):
        """False when the element or one of its ancestors has the hidden attribute."""
        node = self.element(element_id)
        while node is not None:
            if "hidden" in node.attrs:
                return False
            node = node.parent
        return True

    def rows(self, table_id):
        """The cell texts of each row of a table's tbody."""
        bodies = self.element(table_id).find("tbody")
        if not bodies:
            raise AssertionError(f"table {table_id} has no tbody")
        return [[" ".join(td.text().split()) for td in tr.find("td")]
                for tr in bodies[0].find("tr")]


def digits(text):
    return re.sub(r"\D", "", text)


# --- PNG, decoded with zlib -----------------------------------------------------------------

def decode_png(data):
    """(width, height, rows): rows[y] is a bytes of RGB triples. 8-bit RGB or RGBA only,
    not interlaced (what Chromium writes)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise AssertionError("not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        if zlib.crc32(kind + chunk) != crc:
            raise AssertionError(f"bad CRC in chunk {kind}")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        raise AssertionError(f"unsupported PNG: depth {depth} colour type {colour}")
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompress(b"".join(idat))
    if len(raw) != height * (stride + 1):
        raise AssertionError("PNG data has the wrong size")
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif kind == 2:
            for i in range(stride):
                line[i] = (line[i] + previous[i]) & 0xFF
        elif kind == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b, c = previous[i], previous[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        elif kind != 0:
            raise AssertionError(f"bad PNG filter {kind}")
        previous = line
        rows.append(bytes(line) if channels == 3 else
                    bytes(v for i, v in enumerate(line) if i % 4 != 3))
    return width, height, rows


def ink_fraction(width, height, rows):
    """The share of pixels that differ from the background (the most common colour)."""
    counts = {}
    for row in rows[::4]:
        for x in range(0, width * 3, 12):
            counts[row[x:x + 3]] = counts.get(row[x:x + 3], 0) + 1
    bg = max(counts, key=counts.get)
    differing = sum(1 for row in rows for x in range(0, width * 3, 3)
                    if abs(row[x] - bg[0]) + abs(row[x + 1] - bg[1]) + abs(row[x + 2] - bg[2]) > 40)
    return differing / (width * height)


def longest_stroke(width, rows, colours, tolerance=48, gap=4):
    """The widest run of columns (gaps up to `gap` allowed) holding a pixel of one of
    `colours`: a line across the chart is hundreds of columns wide, a legend swatch 14."""
    columns = set()
    for row in rows:
        for x in range(width):
            r, g, b = row[3 * x:3 * x + 3]
            if any(abs(r - c[0]) + abs(g - c[1]) + abs(b - c[2]) <= tolerance for c in colours):
                columns.add(x)
    best, start, last = 0, None, None
    for x in sorted(columns):
        if last is None or x - last > gap + 1:
            start = x
        last = x
        best = max(best, last - start + 1)
    return best


# --- Chromium ---------------------------------------------------------------------------------

def chromium(url, workdir, *extra, timeout=60):
    """Runs headless Chromium once (its own profile, its own process group, killed by that
    group's id on a timeout and afterwards); its stdout and the page's console messages."""
    profile = tempfile.mkdtemp(prefix="chromium-", dir=workdir)
    proc = subprocess.Popen([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
                             f"--user-data-dir={profile}", "--window-size=1280,1000",
                             "--virtual-time-budget=6000", "--enable-logging=stderr", "--v=0",
                             *extra, url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError(f"chromium did not finish within {timeout}s: {url}")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # helpers it may have left behind
        except ProcessLookupError:
            pass
    if proc.returncode != 0:
        raise AssertionError(f"chromium exited {proc.returncode}: {err.decode()[-2000:]}")
    console = [line for line in err.decode(errors="replace").splitlines() if ":CONSOLE" in line]
    return out.decode(), console


def rfc3339(test, text):
    test.assertRegex(text, r"^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$")
    return datetime.datetime.fromisoformat(text.upper().replace("Z", "+00:00"))


def check_api(test, base_url, key):
    """GET /api/v1/status refuses a missing or wrong key and answers the contract to the right
    one; GET / serves the page without a key. Returns the status."""
    for args in ((), ("-H", "Authorization: Bearer not-the-key")):
        code, _, body = curl(base_url + "/api/v1/status", *args)
        test.assertEqual(code, 401, body)
    code, head, body = curl(base_url + "/api/v1/status", "-H", f"Authorization: Bearer {key}")
    test.assertEqual(code, 200, body)
    test.assertRegex(head, r"(?im)^content-type: application/json")
    status = json.loads(body)
    # The contract's keys must be there (more would not hurt the page).
    test.assertEqual(STATUS_KEYS - set(status), set(), "keys missing from the contract")
    test.assertLessEqual({"window_seconds", "received_per_second", "delivered_per_second",
                          "deferred_per_second", "bounced_per_second"}, set(status["rates"]))
    test.assertLessEqual({"received", "delivered", "deferred", "bounced", "suppressed"},
                         set(status["totals"]))
    test.assertLessEqual({"parts", "destinations"}, set(status["queue"]))
    test.assertLessEqual(len(status["queue"]["destinations"]), 50)
    for d in status["queue"]["destinations"]:
        test.assertLessEqual(DESTINATION_KEYS, set(d))
        test.assertIn(d["kind"], ("domain", "pool", "relay"))
        for key in ("suspended_until", "next_attempt_at", "oldest_received_at", "last_error_at"):
            if d[key] is not None:
                rfc3339(test, d[key])
    parts = [d["parts"] for d in status["queue"]["destinations"]]
    test.assertEqual(parts, sorted(parts, reverse=True), "destinations by parts, most first")
    # The last 20 one by one, for API clients (the page shows the groups).
    for name in ("recent_deferrals", "recent_bounces"):
        test.assertLessEqual(len(status[name]), 20)
        for e in status[name]:
            test.assertLessEqual({"time", "destination", "recipient", "reply"}, set(e))
        times = [rfc3339(test, e["time"]) for e in status[name]]
        test.assertEqual(times, sorted(times, reverse=True), f"{name} newest first")
    test.assertLessEqual(len(status["error_groups"]), 100)
    for g in status["error_groups"]:
        test.assertLessEqual(GROUP_KEYS, set(g))
        test.assertIn(g["outcome"], ("deferred", "bounced"))
        test.assertGreaterEqual(g["count"], 1)
        test.assertLessEqual(rfc3339(test, g["first_seen"]), rfc3339(test, g["last_seen"]))
    last_seen = [rfc3339(test, g["last_seen"]) for g in status["error_groups"]]
    test.assertEqual(last_seen, sorted(last_seen, reverse=True), "groups, most recent first")
    hour = status["throughput"]
    test.assertEqual(hour["bucket_seconds"], 10)
    for series in ("received", "delivered", "deferred", "bounced"):
        test.assertEqual(len(hour[series]), 360, series)
    span = rfc3339(test, hour["end"]) - rfc3339(test, hour["start"])
    # 359 whole buckets and the current one, begun up to 10 s ago.
    test.assertGreaterEqual(span.total_seconds(), 3590)
    test.assertLessEqual(span.total_seconds(), 3600)
    for c in status["bounce_categories"]:
        test.assertLessEqual({"category", "count"}, set(c))
    code, head, body = curl(base_url + "/")
    test.assertEqual(code, 200, body[:300])
    test.assertRegex(head, r"(?im)^content-type: text/html")
    test.assertIn(f"<title>{TITLE}</title>", body)
    return status


def check_console(test, base_url, key, workdir):
    """Renders the console from `base_url` with `key` in the hash, and checks the DOM against
    the status the server answers right after (whatever does not move between two polls:
    totals, queue rows, recent replies, categories) and the screenshot for ink and a drawn
    sparkline. Returns (Dom, status, ink fraction) for the caller's own assertions."""
    if CHROMIUM is None:
        test.skipTest("chromium is not installed")
    url = f"{base_url}/#key={key}"
    page, console = chromium(url, workdir, "--dump-dom")
    dom = Dom(page)
    status = get_status(base_url, key)
    test.assertEqual([line for line in console if "Uncaught" in line or "Failed" in line], [],
                     "errors in the page's console")
    test.assertRegex(dom.text("status"), r"^live · updated \d\d:\d\d:\d\d$")
    test.assertTrue(dom.shown("data"))
    test.assertFalse(dom.shown("key-form"))
    test.assertEqual(dom.text("node"), status["node"])
    test.assertEqual(dom.text("version"), status["version"])
    test.assertIn(dom.text("state"), ("ready", "draining", "not ready"))
    for what in ("received", "delivered", "deferred", "bounced"):
        test.assertRegex(dom.text(f"{what}-rate"), r"^\d+(\.\d)?$")
    for what in ("received", "delivered", "deferred", "bounced", "suppressed"):
        test.assertEqual(digits(dom.text(f"total-{what}")), str(status["totals"][what]), what)
    # Rows with parts (a row of idle connections only comes and goes with the idle timeout).
    test.assertEqual([(row[0].split()[0], row[1]) for row in dom.rows("queue-table")
                      if row[1] != "0"],
                     [(d["destination"], str(d["parts"])) for d in status["queue"]["destinations"]
                      if d["parts"]])
    test.assertEqual(dom.shown("queue-table-empty"), not status["queue"]["destinations"])
    test.assertEqual([(row[0], row[1], row[3], digits(row[4])) for row in dom.rows("errors")],
                     [(g["destination"], g["outcome"], " ".join(g["reply"].split()),
                       str(g["count"])) for g in status["error_groups"]], "error groups")
    test.assertEqual([row[:2] for row in dom.rows("categories")],
                     [[c["category"], str(c["count"])] for c in status["bounce_categories"]])
    chart = dom.element("throughput-chart")
    test.assertEqual(chart.tag, "svg")
    test.assertEqual(dom.text("x-axis-label"), "time (local), last 60 min")
    test.assertEqual(dom.text("y-axis-label"), "msgs/min")
    test.assertRegex(dom.text("chart-span"), r"^Last 60 min \(10 s buckets")

    shot = os.path.join(workdir, "console.png")
    chromium(url, workdir, f"--screenshot={shot}", "--hide-scrollbars")
    with open(shot, "rb") as f:
        width, height, rows = decode_png(f.read())
    test.assertEqual((width, height), (1280, 1000))
    ink = ink_fraction(width, height, rows)
    test.assertGreater(ink, 0.02, "the screenshot is (nearly) blank")
    test.assertLess(ink, 0.9, "the screenshot is (nearly) one colour that is not the page's")
    # A line across the chart, not only the legend's swatches or the "ready" badge.
    test.assertGreater(longest_stroke(width, rows, LINE_COLOURS), width // 3,
                       "no sparkline drawn in the screenshot")
    return dom, status, ink


def check_key_form(test, base_url, workdir, key="not-the-key"):
    """With a refused key (or none: key=None) the page shows the key form and no data."""
    if CHROMIUM is None:
        test.skipTest("chromium is not installed")
    dom = Dom(chromium(base_url + "/" + (f"#key={key}" if key else ""), workdir, "--dump-dom")[0])
    test.assertTrue(dom.shown("key-form"))
    test.assertTrue(dom.shown("key-input"))
    label = [e for e in dom.root.find("label") if e.attrs.get("for") == "key-input"]
    test.assertEqual(len(label), 1, "the key input has a label")
    test.assertFalse(dom.shown("data"))
    test.assertEqual(dom.text("node"), "")
    test.assertRegex(dom.text("status"), r"(?i)unauthori[sz]ed|refused|key")
    for table in ("queue-table", "errors", "categories"):
        test.assertEqual(dom.rows(table), [], table)
    return dom


class StatusPageTest(DaemonTest):
    def setUp(self):
        super().setUp()
        self.sink = self.started(Sink(self.workdir))
        # The same port as the sink on another loopback address: MX delivery dials one port.
        self.peer = self.started(ScriptedPeer(defer_seconds=3600, host="127.0.0.3",
                                              port=self.sink.port))
        self.dns = self.started(DnsServer(self.workdir, [
            "sink.test. 300 IN MX 10 mx.sink.test.",
            "mx.sink.test. 300 IN A 127.0.0.1",
            "picky.test. 300 IN MX 10 mx.picky.test.",
            "later.test. 300 IN MX 10 mx.picky.test.",
            "mx.picky.test. 300 IN A 127.0.0.3",
        ]))
        self.outpost = self.started(Outpost(OUTPOST, self.workdir, 0, {
            "http": {"listen": '["127.0.0.1:0"]', "admin_key": f'"{KEY}"'},
            "delivery": {"relay": '""', "remote_port": str(self.sink.port)},
            "dns": {"servers": f'["127.0.0.1:{self.dns.port}"]', "timeout": '"500ms"'},
            # The deferred parts stay in the queue for the whole test.
            "queue": {"retry_initial": '"1h"', "retry_max_delay": '"1h"'},
            # DSNs for the VERP return paths go into the bounce mailbox, not to the sender.
            "bounce": {"domain": '"bounces.outpost.test"'},
        }))
        self.outpost.start()
        self.base = f"http://127.0.0.1:{self.outpost.http_port}"

    def send(self, recipients):
        send_each(self.outpost.port, recipients)

    def status(self):
        return get_status(self.base, KEY)

    def workload(self):
        """30 delivered, 4 deferred (3 to picky.test, 1 to later.test), 2 bounced, then 1
        suppressed; returns the settled status."""
        self.send([f"user{i}@sink.test" for i in range(30)] +
                  ["defer1@picky.test", "defer2@picky.test", "defer3@picky.test",
                   "defer4@later.test", "reject1@picky.test", "reject2@picky.test"])
        wait_until(lambda: len(self.sink.files()) >= 30, 30, 0.1, "30 messages at the sink")

        def settled():
            t = self.status()["totals"]
            return t["delivered"] >= 30 and t["deferred"] >= 4 and t["bounced"] >= 2
        wait_until(settled, 30, 0.2, "the status to count the workload")
        # Both hard bounces suppress their recipient; the next message to one is not attempted.
        for rcpt in ("reject1@picky.test", "reject2@picky.test"):
            wait_until(lambda: curl(f"http://127.0.0.1:{self.outpost.http_port}"
                                    f"/api/v1/suppressions/{rcpt}",
                                    "-H", f"Authorization: Bearer {KEY}")[0] == 200,
                       30, 0.2, f"{rcpt} suppressed")
        rcpt_attempts = len(self.peer.rcpt_log)
        self.send(["reject1@picky.test"])
        wait_until(lambda: self.status()["totals"]["suppressed"] >= 1, 30, 0.2,
                   "the suppressed count")
        self.assertEqual(len(self.peer.rcpt_log), rcpt_attempts)
        return self.status()

    def test_status_api_counts_a_known_workload(self):
        status = self.workload()
        checked = check_api(self, self.base, KEY)
        self.assertEqual(checked["totals"], status["totals"])
        self.assertEqual(status["node"], "outpost.test")
        self.assertEqual(status["shards"], 2)
        self.assertTrue(status["ready"])
        self.assertFalse(status["draining"])
        self.assertGreater(status["uptime_seconds"], 0)
        self.assertEqual(status["totals"], {"received": 37, "delivered": 30, "deferred": 4,
                                            "bounced": 2, "suppressed": 1})
        self.assertEqual(len(self.sink.message_ids()), 30)
        self.assertEqual(self.peer.received(), [])
        queue = status["queue"]
        self.assertEqual(queue["parts"], 4)
        domains = [d for d in queue["destinations"] if d["kind"] == "domain"]
        self.assertEqual([(d["destination"], d["parts"]) for d in domains],
                         [("picky.test", 3), ("later.test", 1)])
        for d in queue["destinations"]:
            self.assertGreaterEqual(d["connections"], 0)
            self.assertIn(d["suspended"], (True, False))
            if not d["suspended"]:
                self.assertIsNone(d["suspended_until"])
        # Waiting after one 451 each, for an hour (retry_initial), with the peer's reply.
        self.assertEqual([(d["recipients_waiting"], d["state"]) for d in domains],
                         [(3, "waiting"), (1, "waiting")])
        self.assertRegex(domains[0]["last_error"],
                         r"^(451 4\.3\.2 try again later|550 5\.1\.1 <reject\d@picky\.test>)")
        self.assertEqual(domains[1]["last_error"], "451 4.3.2 try again later")
        for d in domains:
            self.assertIsNotNone(d["next_attempt_at"])
            self.assertIsNotNone(d["oldest_received_at"])
        self.assertEqual(sorted(e["recipient"] for e in status["recent_deferrals"]),
                         ["defer1@picky.test", "defer2@picky.test", "defer3@picky.test",
                          "defer4@later.test"])
        # Three identical deferrals of picky.test are one group; later.test has its own.
        groups = {(g["destination"], g["outcome"], g["enhanced_code"], g["reply"]): g["count"]
                  for g in status["error_groups"]}
        self.assertEqual(groups.get(("picky.test", "deferred", "4.3.2", "try again later")), 3,
                         groups)
        self.assertEqual(groups.get(("later.test", "deferred", "4.3.2", "try again later")), 1,
                         groups)
        # The peer's two 550s, addresses normalized; the suppressed recipient is not an attempt.
        self.assertEqual(groups.get(("picky.test", "bounced", "5.1.1",
                                     "<address>: user unknown")), 2, groups)
        self.assertLessEqual(sum(c["count"] for c in status["bounce_categories"]), 2)
        rates = status["rates"]
        self.assertGreater(rates["window_seconds"], 0)
        for name, value in rates.items():
            self.assertGreaterEqual(value, 0, name)
        self.assertEqual(self.outpost.stop(), 0)

    def test_console_shows_the_workload(self):
        if CHROMIUM is None:
            self.skipTest("chromium is not installed")
        self.workload()
        dom, _, ink = check_console(self, self.base, KEY, self.workdir)
        print(f"\nscreenshot: {ink:.1%} of the pixels differ from the background", file=sys.stderr)
        self.assertEqual(dom.text("node"), "outpost.test")
        self.assertEqual(digits(dom.text("total-delivered")), str(len(self.sink.message_ids())))
        self.assertEqual(digits(dom.text("total-delivered")), "30")
        domains = [row for row in dom.rows("queue-table") if row[0].split()[0].endswith(".test")
                   and "MX pool" not in row[0]]
        self.assertEqual([(row[0].split()[0], row[1]) for row in domains],
                         [("picky.test", "3"), ("later.test", "1")])
        self.assertFalse(dom.shown("queue-table-empty"))
        errors = dom.rows("errors")
        self.assertIn(["picky.test", "deferred", "451 4.3.2", "try again later", "3"],
                      [row[:5] for row in errors])
        # The normalized reply holds <address>: it must read as text, not turn into markup.
        self.assertIn(["picky.test", "bounced", "550 5.1.1", "<address>: user unknown", "2"],
                      [row[:5] for row in errors])
        self.assertNotIn("address", [e.tag for e in dom.root.elements()])
        self.assertEqual(self.outpost.stop(), 0)

    def test_console_asks_for_the_key(self):
        if CHROMIUM is None:
            self.skipTest("chromium is not installed")
        self.send(["user1@sink.test"])
        wait_until(lambda: len(self.sink.files()) >= 1, 30, 0.1, "the message at the sink")
        check_key_form(self, self.base, self.workdir)
        check_key_form(self, self.base, self.workdir, key=None)
        self.assertEqual(self.outpost.stop(), 0)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
