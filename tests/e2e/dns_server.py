"""A real DNS server for the tests: unbound on 127.0.0.1:<free port> serving the test's records.

    server = DnsServer(workdir, ["example.test. 300 IN MX 10 mx.example.test.",
                                 "mx.example.test. 300 IN A 127.0.0.1"],
                       refuse=["refused.test"])
    ... outpost dns mx example.test --server 127.0.0.1:<server.port> ...
    server.query_count("example.test", "MX")  # queries seen in unbound's log
    server.stop()

Each record is a zone-file line with an explicit TTL. Every top-level domain the records use
becomes a static local zone (names not listed are NXDOMAIN) with an SOA whose MINIMUM is
`negative_ttl`, so negative answers carry it (RFC 2308). Zones in `refuse` answer REFUSED.
unbound runs in the foreground (-d) without chroot or remote control, is ended by PID, and
logs every query (log-queries), which is how tests count them.
"""
import os
import shutil
import socket
import subprocess
import time


def _free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unbound():
    for candidate in (shutil.which("unbound"), "/usr/sbin/unbound", "/usr/local/sbin/unbound"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("unbound not found: install the Debian package unbound")


class DnsServer:
    def __init__(self, workdir, records, refuse=(), negative_ttl=60, start_timeout=10.0):
        self.workdir = os.path.join(str(workdir), "unbound")
        os.makedirs(self.workdir, exist_ok=True)
        self.log_path = os.path.join(self.workdir, "unbound.log")
        zones = sorted({r.split()[0].rstrip(".").split(".")[-1] for r in records} |
                       {z.rstrip(".").split(".")[-1] for z in refuse})
        lines = [
            "server:",
            "  interface: 127.0.0.1",
            "  port: {port}",
            # Never share a port: with SO_REUSEPORT (unbound's default) a second server that
            # happened to pick the same free port would silently take half of the queries.
            "  so-reuseport: no",
            "  do-ip6: no",
            "  num-threads: 1",
            '  username: ""',
            '  chroot: ""',
            f'  directory: "{self.workdir}"',
            '  pidfile: ""',
            "  use-syslog: no",
            f'  logfile: "{self.log_path}"',
            "  verbosity: 1",
            "  log-queries: yes",
            '  module-config: "iterator"',
            "  access-control: 127.0.0.0/8 allow",
        ]
        for zone in zones:
            lines.append(f'  local-zone: "{zone}." static')
            if not any(r.split()[0].rstrip(".") == zone and " SOA " in r for r in records):
                lines.append(f'  local-data: "{zone}. 3600 IN SOA ns.{zone}. admin.{zone}. '
                             f'1 3600 600 86400 {negative_ttl}"')
        for record in records:
            # unbound takes a record with quoted strings in it (TXT) inside single quotes.
            quote = "'" if '"' in record else '"'
            lines.append(f"  local-data: {quote}{record}{quote}")
        for zone in refuse:
            lines.append(f'  local-zone: "{zone.rstrip(".")}." refuse')
        lines += ["remote-control:", "  control-enable: no"]
        self.conf_path = os.path.join(self.workdir, "unbound.conf")
        template = "\n".join(lines) + "\n"
        # A free port can be taken between choosing it and binding it: try another one then.
        for attempt in range(3):
            self.port = _free_udp_port()
            with open(self.conf_path, "w") as f:
                f.write(template.replace("{port}", str(self.port)))
            if self._start(start_timeout, last=attempt == 2):
                return

    def _start(self, start_timeout, last):
        """True once unbound serves; False when it exited and another port may be tried."""
        self.process = subprocess.Popen([_unbound(), "-d", "-c", self.conf_path],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + start_timeout
        while "start of service" not in self._log():
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() + self._log()
                self.process.stderr.close()
                if not last and "bind" in error.lower():
                    return False
                raise RuntimeError("unbound exited: " + error)
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("unbound did not start: " + self._log())
            time.sleep(0.05)
        return True

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def _log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def query_count(self, name, rtype=None):
        """Queries unbound logged for `name` (and `rtype`, e.g. "MX", "A", "AAAA", if given)."""
        name = name.rstrip(".").lower() + "."
        count = 0
        for line in self._log().splitlines():
            # "[1700000000] unbound[12:0] info: 127.0.0.1 example.test. MX IN"
            fields = line.split()
            if len(fields) >= 3 and fields[-1] == "IN" and fields[-3].lower() == name:
                if rtype is None or fields[-2] == rtype:
                    count += 1
        return count

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
