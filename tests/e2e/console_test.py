"""End-to-end live console in a real browser: the daemon delivers over MX records from a real
DNS server (unbound) to smtp-sink (sink.test), a scripted peer that defers (picky.test, and
later.test behind the same MX host) and rejects (other.test), and a second scripted peer that
holds each transaction for SLOW_SECONDS (slow.test). While the slow peer holds connections,
Debian's headless Chromium, driven by Selenium (python3-selenium, chromium-driver), loads the
console at 1400x900 and at 390x844 and the test checks what an operator must read there:

- slow.test's row counts open connections (the MX pool's, where the traffic is), not 0;
- six identical deferrals of picky.test are one row with the count 6, and later.test's deferral
  and other.test's bounce are still there;
- the chart has a labelled time axis spanning the last hour and a msgs/min axis, and still shows
  the delivered messages after a reload (the hour is kept in the daemon);
- Suspend on picky.test's row suspends it (the API says so), while a POST from another origin
  (curl with a foreign Origin, and a fetch from a page elsewhere in the same browser) is refused
  and suspends nothing.

Screenshots go to the test's temp dir (and to $CONSOLE_SHOTS, when set, to look at them).
Skipped when Selenium or chromedriver is missing.
Run as: console_test.py --outpost PATH."""
import os
import re
import shutil
import sys
import time

from dns_server import DnsServer
from harness import run_tests, Outpost, Sink, wait_until, DaemonTest
from scripted_peer import ScriptedPeer
import status_page_test as page

try:
    from selenium import webdriver
except ImportError:  # Debian's python3-selenium, under another interpreter's path
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        from selenium import webdriver
    except ImportError:
        webdriver = None
if webdriver is not None:
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.common.exceptions import StaleElementReferenceException

OUTPOST = None
CHROMEDRIVER = shutil.which("chromedriver")
KEY = "console-k3y"
SLOW_SECONDS = 25
SIZES = {"wide": (1400, 900), "narrow": (390, 844)}


def browser(workdir):
    """Headless Chromium under chromedriver, its own profile in `workdir`."""
    options = webdriver.ChromeOptions()
    options.binary_location = page.CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                f"--user-data-dir={os.path.join(workdir, 'chromium-profile')}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return driver


class Page:
    """The console in a Selenium driver: texts as the user reads them."""

    def __init__(self, driver):
        self.driver = driver

    def text(self, element_id):
        """An element's text as shown, read in one script (the page redraws as it polls)."""
        text = self.driver.execute_script(
            "const e = document.getElementById(arguments[0]);"
            "return e ? (e.innerText ?? e.textContent) : null;", element_id)
        if text is None:
            raise AssertionError(f"no element id={element_id!r} on the page")
        return " ".join(text.split())

    def rows(self, table_id):
        """Each tbody row's cell texts (textContent: a narrow screen's labels are CSS)."""
        return self.driver.execute_script(
            "return [...document.getElementById(arguments[0]).tBodies[0].rows].map("
            "(tr) => [...tr.cells].map((td) => td.textContent.trim().replace(/\\s+/g, ' ')));",
            table_id)

    def row(self, table_id, first_word):
        for row in self.rows(table_id):
            if row and row[0].split(" ")[0] == first_word:
                return row
        return None

    def resize(self, size):
        """The page's viewport to `size` exactly (a window's size includes its frame)."""
        width, height = size
        self.driver.set_window_size(width, height)
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500})

    def wait_live(self):
        wait_until(lambda: self.text("status").startswith("live"), 20, 0.2, "the console live")

    def screenshot(self, path):
        self.driver.save_screenshot(path)
        with open(path, "rb") as f:
            return page.decode_png(f.read())


class ConsoleTest(DaemonTest):
    def setUp(self):
        super().setUp()
        if webdriver is None or CHROMEDRIVER is None or page.CHROMIUM is None:
            self.skipTest("needs python3-selenium, chromium and chromium-driver")
        self.sink = self.started(Sink(self.workdir))
        # Scripted peers on other loopback addresses, the sink's port: MX delivery dials one.
        self.picky = self.started(ScriptedPeer(defer_seconds=3600, host="127.0.0.3",
                                               port=self.sink.port))
        self.slow = self.started(ScriptedPeer(slow_seconds=SLOW_SECONDS, host="127.0.0.4",
                                              port=self.sink.port))
        self.dns = self.started(DnsServer(self.workdir, [
            "sink.test. 300 IN MX 10 mx.sink.test.",
            "mx.sink.test. 300 IN A 127.0.0.1",
            "picky.test. 300 IN MX 10 mx.picky.test.",
            "later.test. 300 IN MX 10 mx.picky.test.",
            "other.test. 300 IN MX 10 mx.picky.test.",
            "mx.picky.test. 300 IN A 127.0.0.3",
            "slow.test. 300 IN MX 10 mx.slow.test.",
            "mx.slow.test. 300 IN A 127.0.0.4",
        ]))
        self.outpost = self.started(Outpost(OUTPOST, self.workdir, 0, {
            "http": {"listen": '["127.0.0.1:0"]', "admin_key": f'"{KEY}"'},
            "delivery": {"relay": '""', "remote_port": str(self.sink.port),
                         "reply_timeout": '"2m"', "idle_timeout": '"60s"'},
            "dns": {"servers": f'["127.0.0.1:{self.dns.port}"]', "timeout": '"500ms"'},
            "queue": {"retry_initial": '"1h"', "retry_max_delay": '"1h"'},
            "bounce": {"domain": '"bounces.outpost.test"'},
        }))
        self.outpost.start()
        self.base = f"http://127.0.0.1:{self.outpost.http_port}"
        self.driver = None

    def tearDown(self):
        if self.driver is not None:
            self.driver.quit()  # chromedriver and the browser it started
        super().tearDown()

    def status(self):
        return page.get_status(self.base, KEY)

    def destination(self, name):
        for d in self.status()["queue"]["destinations"]:
            if d["destination"] == name:
                return d
        return None

    def shot(self, console, name, scroll_to=None):
        """A screenshot of the viewport (scrolled to the element `scroll_to`, or the top)."""
        self.driver.execute_script(
            "const e = arguments[0] && document.getElementById(arguments[0]);"
            "if (e) e.scrollIntoView(); else window.scrollTo(0, 0);", scroll_to)
        path = os.path.join(self.workdir, f"console-{name}{'-' + scroll_to if scroll_to else ''}.png")
        width, height, rows = console.screenshot(path)
        if os.environ.get("CONSOLE_SHOTS"):
            os.makedirs(os.environ["CONSOLE_SHOTS"], exist_ok=True)
            shutil.copy(path, os.environ["CONSOLE_SHOTS"])
        self.assertEqual((width, height), SIZES[name])
        ink = page.ink_fraction(width, height, rows)
        self.assertGreater(ink, 0.02, f"the {name} screenshot is (nearly) blank")
        self.assertLess(ink, 0.9, f"the {name} screenshot is (nearly) one colour")

    def click(self, selector):
        """Clicks the one element `selector` finds. The page redraws its tables every 2 s, so
        an element found just before may be replaced by the time it is clicked: find again."""
        for _ in range(5):
            found = self.driver.find_elements(By.CSS_SELECTOR, selector)
            self.assertEqual(len(found), 1, selector)
            try:
                found[0].click()
                return
            except StaleElementReferenceException:
                continue
        self.fail(f"{selector} was replaced five times in a row")

    def workload(self):
        """30 to the sink, 6 deferred at picky.test, 1 at later.test, 2 bounced at other.test;
        then 6 to slow.test, held by the slow peer."""
        recipients = ([f"user{i}@sink.test" for i in range(30)] +
                      [f"defer{i}@picky.test" for i in range(6)] +
                      ["defer@later.test", "reject1@other.test", "reject2@other.test"])
        page.send_each(self.outpost.port, recipients)
        wait_until(lambda: len(self.sink.files()) >= 30, 30, 0.1, "30 messages at the sink")

        def settled():
            t = self.status()["totals"]
            return t["delivered"] >= 30 and t["deferred"] >= 7 and t["bounced"] >= 2
        wait_until(settled, 30, 0.2, "the status to count the workload")
        page.send_each(self.outpost.port, [f"slow{i}@slow.test" for i in range(6)])
        wait_until(lambda: len(self.slow.slow_started) >= 2, 20, 0.1, "slow transactions")

    def check_connections(self, console):
        """slow.test, whose mail is on its MX pool's connections, counts them."""
        api = self.destination("slow.test")
        self.assertIsNotNone(api, self.status()["queue"])
        self.assertGreater(api["connections"], 0, api)
        self.assertEqual(api["state"], "delivering")
        wait_until(lambda: console.row("queue-table", "slow.test") is not None, 10, 0.2,
                   "slow.test on the page")
        row = console.row("queue-table", "slow.test")
        open_now = int(re.match(r"(\d+)", row[3]).group(1))
        self.assertGreater(open_now, 0, f"connections of slow.test on the page: {row}")
        self.assertGreater(self.slow.open_now, 0, "the slow peer still holds them")
        self.assertIn("delivering", row[7])

    def check_groups(self, console):
        """Six identical deferrals are one row; the other destinations' errors stay."""
        rows = [row[:5] for row in console.rows("errors")]
        self.assertIn(["picky.test", "deferred", "451 4.3.2", "try again later", "6"], rows)
        self.assertIn(["later.test", "deferred", "451 4.3.2", "try again later", "1"], rows)
        self.assertIn(["other.test", "bounced", "550 5.1.1", "<address>: user unknown", "2"],
                      rows)
        self.assertEqual(sum(1 for row in rows if row[0] == "picky.test"), 1, rows)

    def check_chart(self, console):
        """Axes labelled with units, a time axis over the last hour, the workload counted."""
        self.assertEqual(console.text("x-axis-label"), "time (local), last 60 min")
        self.assertEqual(console.text("y-axis-label"), "msgs/min")
        # Read in one script: the chart is redrawn at every poll.
        ticks, y_ticks, points = self.driver.execute_script(
            "const texts = (s) => [...document.querySelectorAll(s)].map((e) => e.textContent);"
            "const line = document.querySelectorAll('polyline.series.delivered');"
            "return [texts('text.time-tick'), texts('text.tick:not(.time-tick)'),"
            "        [...line].map((e) => e.getAttribute('points'))];")
        self.assertGreaterEqual(len(ticks), 5, ticks)
        minutes = [int(t[:2]) * 60 + int(t[3:5]) for t in ticks]
        span = (minutes[-1] - minutes[0]) % (24 * 60)
        self.assertGreaterEqual(span, 40, ticks)
        self.assertLessEqual(span, 60, ticks)
        self.assertIn("0", y_ticks)
        delivered = re.search(r"([\d,]+) delivered", console.text("chart-span"))
        self.assertIsNotNone(delivered, console.text("chart-span"))
        self.assertGreaterEqual(int(delivered.group(1).replace(",", "")), 30)
        self.assertEqual(len(points), 1)
        self.assertEqual(len(points[0].split()), 360)

    def check_cross_origin_refused(self):
        """A POST from elsewhere suspends nothing, key or not."""
        url = self.base + "/api/v1/destinations/later.test/suspend"
        code, head, body = page.curl(url, "-X", "POST", "-H", f"Authorization: Bearer {KEY}",
                                     "-H", "Origin: http://evil.example")
        self.assertEqual(code, 403, body)
        self.assertNotRegex(head, r"(?im)^access-control-allow")
        code, _, body = page.curl(url, "-X", "POST", "-H", "Origin: http://evil.example",
                                  "-H", "Content-Type: application/x-www-form-urlencoded",
                                  "--data", "x=1")
        self.assertEqual(code, 403, body)
        code, _, body = page.curl(url, "-X", "POST", "-H", f"Authorization: Bearer {KEY}",
                                  "-H", "Sec-Fetch-Site: cross-site")
        self.assertEqual(code, 403, body)
        # A page of another origin in the same browser, with the key: the preflight is refused.
        self.driver.get("data:text/html,<title>elsewhere</title>")
        outcome = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch(arguments[0], {method: 'POST', headers: {Authorization: 'Bearer ' + "
            "arguments[1]}}).then((r) => done('answered ' + r.status), (e) => done('refused'));",
            url, KEY)
        self.assertEqual(outcome, "refused")
        self.assertFalse(self.destination("later.test")["suspended"])

    def test_console_in_a_browser(self):
        self.workload()
        self.driver = browser(self.workdir)
        console = Page(self.driver)
        console.resize(SIZES["wide"])
        self.driver.get(f"{self.base}/#key={KEY}")
        console.wait_live()
        self.check_connections(console)
        self.check_groups(console)
        self.check_chart(console)
        # Rates over 10 s, said in whole seconds (not "9.012969379 s").
        self.assertRegex(console.text("rate-window"), r"^\(over the last \d+s\)$",
                         self.status()["rates"])
        self.shot(console, "wide")
        self.shot(console, "wide", "queue-heading")

        # The hour is the daemon's: a reload draws it again at once.
        self.driver.refresh()
        console.wait_live()
        self.check_chart(console)

        console.resize(SIZES["narrow"])
        time.sleep(0.5)  # a resize redraws the chart
        overflow = self.driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth;")
        self.assertLessEqual(overflow, 0, "the narrow page scrolls sideways")
        self.check_groups(console)
        self.check_chart(console)
        self.shot(console, "narrow")
        self.shot(console, "narrow", "queue-heading")
        self.shot(console, "narrow", "errors-heading")

        # Suspend from the page, with the key it holds.
        console.resize(SIZES["wide"])
        self.click('button[data-destination="picky.test"][data-action="suspend"]')
        wait_until(lambda: console.text("action-status").startswith("picky.test suspended"), 10,
                   0.2, "the page to report the suspension")
        # The shards publish once a second.
        wait_until(lambda: self.destination("picky.test")["suspended"], 10, 0.2,
                   "picky.test suspended in the status")
        d = self.destination("picky.test")
        self.assertEqual((d["state"], d["state_reason"]), ("suspended", "operator"))
        wait_until(lambda: "suspended" in (console.row("queue-table", "picky.test") or [""] * 8)[7],
                   10, 0.2, "picky.test's row to read suspended")
        self.assertIsNotNone(self.driver.find_elements(
            By.CSS_SELECTOR, 'button[data-destination="picky.test"][data-action="resume"]'))
        self.assertFalse(self.destination("later.test")["suspended"])

        self.check_cross_origin_refused()
        self.driver.quit()
        self.driver = None
        self.assertEqual(self.outpost.stop(timeout=SLOW_SECONDS + 30), 0)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
