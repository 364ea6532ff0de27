#!/usr/bin/env python3
"""The deployment files of deploy/ against the real binary and the tools that read them.

  systemd   deploy/outpost.service passes `systemd-analyze verify`, carries the hardening with
            the values we mean, keeps io_uring allowed, and scores below EXPOSURE_MAX in
            `systemd-analyze security --offline=yes`; deploy/outpost.sysusers.conf makes the
            user; under strace, a daemon doing real work (SMTP with STARTTLS, HTTP injection, MX
            lookups, delivery, SIGHUP) makes only system calls and sockets the unit allows.
  Docker    deploy/Dockerfile: a build stage installing what the release preset needs and
            copying every source folder, a debian:12-slim final stage installing a package for
            each library the binary links, non-root USER, HEALTHCHECK, EXPOSE of every
            listener; the image's configuration (deploy/outpost.toml rewritten by the
            Dockerfile's sed) passes --check-config.
  k8s       deploy/k8s/*.yaml parse; ConfigMap, StatefulSet, Service, ServiceMonitor agree with
            each other and with the configuration inside the ConfigMap, which passes
            --check-config.
  Grafana   deploy/grafana/outpost.json: every panel has an id, a title and a datasource; every
            expression names only the families in FAMILIES, each used as its type allows (rate
            over counters and histogram series, gauges as they are); the running daemon's
            /metrics gives those families the same types (families it does not expose yet are
            listed, not failed).
  config    deploy/outpost.toml and deploy/local-relay.toml pass --check-config.

Run as: deploy_test.py --outpost PATH --source ROOT. The image ships the release preset's
binary: for a sanitizer build the library and system-call checks are skipped.
Needs systemd (systemd-analyze, systemd-sysusers), python3-yaml; strace, unbound and smtp-sink
(postfix) for the system-call check, promtool (prometheus) for the PromQL syntax check:
each missing one skips its check with a message.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
import tomllib
import unittest
import urllib.error
import urllib.request

import yaml

OUTPOST = None
SOURCE = None

# Every metric family the dashboard may use, with its Prometheus type: the names the daemon
# exposes, or will once the change in progress lands. Nothing else may appear in an expression.
FAMILIES = {
    "outpost_messages_received_total": "counter",
    "outpost_received_bytes_total": "counter",
    "outpost_deliveries_total": "counter",
    "outpost_queue_messages": "gauge",
    "outpost_queue_parts_quarantined": "gauge",
    "outpost_connections_open": "gauge",
    "outpost_delivery_duration_seconds": "histogram",
    "outpost_smtp_session_duration_seconds": "histogram",
    "outpost_dkim_sign_seconds": "histogram",
    "outpost_queue_commit_seconds": "histogram",
    "outpost_tls_handshakes_total": "counter",
    "outpost_bounces_total": "counter",
    "outpost_dsns_total": "counter",
    "outpost_suppressed_addresses": "gauge",
    "outpost_injection_rate_limited_total": "counter",
    "outpost_delivery_connections_total": "counter",
    "outpost_delivery_log_lines_total": "counter",
    "outpost_delivery_log_dropped_total": "counter",
    "outpost_shaping_actions_total": "counter",
    "outpost_fleet_redis_up": "gauge",
    "outpost_fleet_nodes": "gauge",
    "outpost_fleet_syncs_total": "counter",
    "outpost_fleet_outages_total": "counter",
    "process_cpu_seconds_total": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_open_fds": "gauge",
}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
DASHBOARD_ROWS = {"Throughput", "Queue", "Latency", "TLS", "Bounces & suppression", "Process",
                  "Fleet & shaping"}

# What the Dockerfile's build stage must install: the packages of scripts/packages.txt that the
# release preset's configure and build of `outpost` need (CMakeLists.txt finds GTest, GMock and
# benchmark for the test targets it defines even when only `outpost` is built; Python 3 for
# the test and tool definitions).
BUILD_PACKAGES = {
    "build-essential", "g++", "cmake", "ninja-build", "pkg-config", "python3",
    "liburing-dev", "librocksdb-dev", "libc-ares-dev", "libtomlplusplus-dev",
    "libgtest-dev", "libgmock-dev", "libbenchmark-dev", "libsimdjson-dev",
    "libhttp-parser-dev", "android-libboringssl-dev", "libcrypt-dev", "libhiredis-dev",
}
# The rest of scripts/packages.txt, which the image build does not need: a compiler cache,
# clang for the fuzz preset and the tidy/format checks, OpenSSL for the openssl preset, and
# the peers of the end-to-end tests. A package added there must be put in one of the two sets.
NOT_BUILD_PACKAGES = {
    "ccache", "clang-14", "clang-format", "clang-tidy", "libclang-rt-14-dev", "libssl-dev",
    "postfix", "swaks", "curl", "openssl", "fetchmail", "isync", "unbound", "prometheus",
    "python3-dkim", "opendkim", "opendkim-tools", "libmail-dkim-perl", "chromium", "systemd",
    "python3-yaml", "strace", "logrotate", "redis-server", "redis-tools", "fail2ban",
    "python3-jsonschema",
}
# The smarthost e2e test's SASL server (tests/e2e/smarthost_test.py).
NOT_BUILD_PACKAGES |= {"sasl2-bin", "libsasl2-modules", "libsasl2-modules-db"}
# The console test drives Debian's Chromium through Selenium (tests/e2e/console_test.py).
NOT_BUILD_PACKAGES |= {"python3-selenium", "chromium-driver"}
# Libraries every Debian image has (libc6, libstdc++6, libgcc-s1).
BASE_LIBRARIES = re.compile(
    r"^(linux-vdso|linux-gate|ld-linux.*|libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s)"
    r"\.so")
SANITIZER_LIBRARIES = re.compile(r"^lib(asan|ubsan|lsan|tsan)\.so")

# The unit's hardening: directive -> the value it must have (a set: order-free words).
UNIT_EXPECTED = {
    "Type": "simple",
    "User": "outpost",
    "Group": "outpost",
    "ExecStart": "/usr/bin/outpost run --config /etc/outpost/outpost.toml",
    "ExecReload": "/bin/kill -HUP $MAINPID",
    "KillSignal": "SIGTERM",
    "Restart": "on-failure",
    "StateDirectory": "outpost",
    "LogsDirectory": "outpost",
    "ConfigurationDirectory": "outpost",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "AmbientCapabilities": {"CAP_NET_BIND_SERVICE"},
    "CapabilityBoundingSet": {"CAP_NET_BIND_SERVICE"},
    "LimitNOFILE": "1048576",
    "RestrictAddressFamilies": {"AF_INET", "AF_INET6", "AF_UNIX"},
    "SystemCallArchitectures": "native",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "RestrictNamespaces": "yes",
    "RestrictRealtime": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "ProtectClock": "yes",
    "ProtectHostname": "yes",
    "RestrictSUIDSGID": "yes",
    "UMask": "0027",
}
IO_URING_SYSCALLS = {"io_uring_setup", "io_uring_enter", "io_uring_register"}
EXPOSURE_MAX = 3.0
# Lines of `systemd-analyze verify` that name the unit and are not its fault. None are known
# with systemd 252 for this unit; a line added here must say why it is harmless.
VERIFY_HARMLESS = []


def path(*parts):
    return os.path.join(SOURCE, *parts)


def read(*parts):
    with open(path(*parts)) as f:
        return f.read()


def check_config(text, name="outpost.toml"):
    """`outpost run --check-config` on a configuration text: (exit code, output)."""
    with tempfile.TemporaryDirectory(prefix="outpost-deploy-") as tmp:
        file = os.path.join(tmp, name)
        with open(file, "w") as f:
            f.write(text)
        out = subprocess.run([OUTPOST, "run", "--check-config", "--config", file],
                             capture_output=True, text=True, timeout=60, cwd=tmp)
        return out.returncode, (out.stdout + out.stderr).strip()


def duration_seconds(text):
    """"45s", "1min 30s", "30s", "2m", "500ms" -> seconds (systemd and Outpost spellings)."""
    units = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
    total = 0.0
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*(ms|sec|min|s|m|h|d)?", text.strip())
    if not parts:
        raise ValueError(f"not a duration: {text!r}")
    for number, unit in parts:
        total += float(number) * units[unit or "s"]
    return total


def listen_ports(config):
    """Every listener of a parsed configuration: {(section, key): [port, ...]}."""
    found = {}
    for section, key in [("submission", "listen"), ("submission", "tls_listen"),
                         ("http", "listen"), ("metrics", "listen"), ("bounce", "listen"),
                         ("imap", "listen"), ("imap", "tls_listen"), ("pop3", "listen"),
                         ("pop3", "tls_listen")]:
        defaults = {("submission", "listen"): ["127.0.0.1:2525"],
                    ("http", "listen"): ["127.0.0.1:8025"]}
        addresses = config.get(section, {}).get(key, defaults.get((section, key), []))
        found[(section, key)] = [int(a.rsplit(":", 1)[1]) for a in addresses]
    return found


def drain_timeout(config):
    return duration_seconds(config.get("delivery", {}).get("drain_timeout", "30s"))


# --- systemd --------------------------------------------------------------------------------

def parse_unit(text):
    """{section: [(key, value), ...]} with continuation lines joined; keys may repeat."""
    sections, current, pending = {}, None, ""
    for raw in text.splitlines():
        line = pending + raw.strip() if pending else raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = line.strip("[]")
            sections.setdefault(current, [])
            continue
        key, _, value = line.partition("=")
        sections[current].append((key.strip(), value.strip()))
    return sections


def unit_values(sections, section, key):
    return [v for k, v in sections.get(section, []) if k == key]


_filter_sets = {}


def syscall_set(name):
    """A syscall filter group (@system-service) expanded to syscall names, or {name}."""
    if not name.startswith("@"):
        return {name}
    if name not in _filter_sets:
        out = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager", name],
                             capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            raise AssertionError(f"systemd-analyze syscall-filter {name}: {out.stderr}")
        names = set()
        for line in out.stdout.splitlines()[1:]:  # the first line is the group's own name
            word = line.strip()
            if not word or word.startswith("#"):
                continue
            names |= syscall_set(word) if word.startswith("@") else {word}
        _filter_sets[name] = names
    return _filter_sets[name]


def unit_syscalls(sections):
    """(allowed, denied) system calls of the unit's SystemCallFilter= lines."""
    allowed, denied = set(), set()
    for value in unit_values(sections, "Service", "SystemCallFilter"):
        deny = value.startswith("~")
        for word in value.lstrip("~").split():
            (denied if deny else allowed).update(syscall_set(word))
    return allowed, denied


def unit_copy(tmp):
    """The unit in `tmp`, with ExecStart pointing at the binary under test."""
    text = read("deploy", "outpost.service")
    text, count = re.subn(r"^ExecStart=/usr/bin/outpost ", f"ExecStart={OUTPOST} ", text,
                          flags=re.M)
    if count != 1:
        raise AssertionError("deploy/outpost.service: no single ExecStart=/usr/bin/outpost line")
    file = os.path.join(tmp, "outpost.service")
    with open(file, "w") as f:
        f.write(text)
    return file


class SystemdTest(unittest.TestCase):
    def setUp(self):
        self.sections = parse_unit(read("deploy", "outpost.service"))

    def test_unit_verifies(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze not installed")
        with tempfile.TemporaryDirectory(prefix="outpost-unit-") as tmp:
            file = unit_copy(tmp)
            out = subprocess.run(["systemd-analyze", "verify", "--man=no", file],
                                 capture_output=True, text=True, timeout=60, cwd=tmp)
            output = out.stdout + out.stderr
            bad = [line for line in output.splitlines()
                   if "outpost.service" in line
                   and not any(re.search(h, line) for h in VERIFY_HARMLESS)]
            self.assertEqual(bad, [], "systemd-analyze verify:\n" + output)
            self.assertEqual(out.returncode, 0, "systemd-analyze verify:\n" + output)

    def test_hardening_directives(self):
        service = dict(self.sections.get("Service", []))
        for key, want in UNIT_EXPECTED.items():
            values = unit_values(self.sections, "Service", key)
            self.assertEqual(len(values), 1, f"[Service] {key}= must be set once: {values}")
            got = set(values[0].split()) if isinstance(want, set) else values[0]
            self.assertEqual(got, want, f"[Service] {key}=")
        # A static user (outpost.sysusers.conf): the spool keeps one owner across restarts.
        self.assertIn(service.get("DynamicUser", "no"), ("no", "false"))
        # TimeoutStopSec a little above the drain timeout of the reference configuration.
        drain = drain_timeout(tomllib.loads(read("deploy", "outpost.toml")))
        stop = duration_seconds(service["TimeoutStopSec"])
        self.assertTrue(drain < stop <= drain + 60,
                        f"TimeoutStopSec={service['TimeoutStopSec']} vs drain_timeout {drain}s")
        self.assertEqual(self.sections.get("Install"), [("WantedBy", "multi-user.target")])
        # systemd leaves ConfigurationDirectory= owned by root: a mode without "other" read
        # and search would lock the service out of its own configuration.
        mode = service.get("ConfigurationDirectoryMode", "0755")
        self.assertEqual(int(mode, 8) & 0o005, 0o005, f"ConfigurationDirectoryMode={mode}")

    def test_io_uring_allowed(self):
        if not unit_values(self.sections, "Service", "SystemCallFilter"):
            return  # no filter: nothing blocks io_uring
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze not installed")
        words = " ".join(unit_values(self.sections, "Service", "SystemCallFilter")).split()
        allowed, denied = unit_syscalls(self.sections)
        self.assertFalse(IO_URING_SYSCALLS & denied, "a SystemCallFilter=~ denies io_uring")
        if allowed:  # an allow list: io_uring named explicitly, not only through a group
            self.assertTrue(IO_URING_SYSCALLS <= set(words),
                            "SystemCallFilter= must name io_uring_setup/enter/register")
            self.assertTrue(IO_URING_SYSCALLS <= allowed)

    def test_security_exposure(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze not installed")
        with tempfile.TemporaryDirectory(prefix="outpost-unit-") as tmp:
            file = unit_copy(tmp)
            out = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                                  file], capture_output=True, text=True, timeout=60, cwd=tmp)
            if out.returncode != 0 and "offline" in out.stderr:
                self.skipTest("systemd-analyze security has no --offline: " + out.stderr)
            match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", out.stdout)
            self.assertIsNotNone(match, out.stdout + out.stderr)
            score = float(match.group(1))
            print(f"\nsystemd-analyze security: exposure {score} (must be < {EXPOSURE_MAX})",
                  file=sys.stderr)
            self.assertLess(score, EXPOSURE_MAX, out.stdout)

    def test_sysusers_makes_the_user(self):
        text = read("deploy", "outpost.sysusers.conf")
        user = unit_values(self.sections, "Service", "User")[0]
        self.assertRegex(text, rf"(?m)^u\s+{user}\s")
        if not shutil.which("systemd-sysusers"):
            self.skipTest("systemd-sysusers not installed")
        with tempfile.TemporaryDirectory(prefix="outpost-sysusers-") as root:
            os.makedirs(os.path.join(root, "etc"))
            out = subprocess.run(["systemd-sysusers", "--dry-run", f"--root={root}",
                                  path("deploy", "outpost.sysusers.conf")],
                                 capture_output=True, text=True, timeout=60)
            output = out.stdout + out.stderr
            self.assertEqual(out.returncode, 0, output)
            self.assertIn(f"Creating user '{user}'", output)
            self.assertIn(f"Creating group '{user}'", output)


# --- Dockerfile ---------------------------------------------------------------------------

def dockerfile_instructions(text):
    """[(INSTRUCTION, arguments)] with continuations joined and comment lines dropped (also
    inside a continued instruction, as Docker does)."""
    instructions, pending = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and pending == ""):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        line = (pending + stripped).strip()
        pending = ""
        if line:
            word, _, rest = line.partition(" ")
            instructions.append((word.upper(), rest.strip()))
    return instructions


def dockerfile_stages(text):
    """[{"from": image, "name": alias, "instructions": [...]}] per FROM."""
    stages = []
    for word, rest in dockerfile_instructions(text):
        if word == "FROM":
            parts = [p for p in rest.split() if not p.startswith("--")]
            stages.append({"from": parts[0], "name": parts[2] if len(parts) > 2 else None,
                           "instructions": []})
        elif stages:
            stages[-1]["instructions"].append((word, rest))
    return stages


def apt_packages(stage):
    """Every package named by `apt-get install` in a stage's RUN instructions."""
    packages = set()
    for word, rest in stage["instructions"]:
        if word != "RUN":
            continue
        for command in re.split(r"&&|;|\|\|", rest):
            tokens = shlex.split(command)
            if len(tokens) >= 2 and tokens[0] in ("apt-get", "apt") and "install" in tokens:
                packages |= {t for t in tokens[tokens.index("install") + 1:]
                             if not t.startswith("-")}
    return packages


def exec_form(rest):
    return json.loads(rest) if rest.startswith("[") else shlex.split(rest)


def image_config(stage):
    """The configuration the image carries: deploy/outpost.toml with the stage's sed edits
    applied the way sed applies them (each expression once per line). Each edit must match
    exactly one line of deploy/outpost.toml, so a change there cannot silently undo it."""
    copied = [rest for word, rest in stage["instructions"]
              if word == "COPY" and rest.split()[-1] == "/etc/outpost/outpost.toml"]
    if copied != ["deploy/outpost.toml /etc/outpost/outpost.toml"]:
        raise AssertionError(f"the final stage must COPY deploy/outpost.toml: {copied}")
    lines = read("deploy", "outpost.toml").splitlines(keepends=True)
    for word, rest in stage["instructions"]:
        if word != "RUN" or "sed " not in rest:
            continue
        for command in rest.split("&&"):
            tokens = shlex.split(command)
            if not tokens or tokens[0] != "sed":
                continue
            if tokens[-1] != "/etc/outpost/outpost.toml" or "-i" not in tokens:
                raise AssertionError(f"a sed the test cannot follow: {command}")
            expressions = [tokens[i + 1] for i, t in enumerate(tokens) if t == "-e"]
            for expression in expressions:
                match = re.fullmatch(r"s\|([^|]*)\|([^|]*)\|", expression)
                if not match or re.search(r"[&\\]", match.group(2)) \
                        or re.search(r"\\[^.\[\]]", match.group(1)):
                    raise AssertionError(f"keep sed to s|regex|text| with \\. \\[ \\] only: "
                                         f"{expression}")
                pattern = re.compile(match.group(1))
                hits = [i for i, line in enumerate(lines) if pattern.search(line)]
                if len(hits) != 1:
                    raise AssertionError(f"sed {expression} matches {len(hits)} lines of "
                                         "deploy/outpost.toml, not 1")
                lines[hits[0]] = pattern.sub(match.group(2), lines[hits[0]], count=1)
    return "".join(lines)


def ldd_libraries(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError("ldd failed: " + out.stderr)
    libraries = []
    for line in out.stdout.splitlines():
        match = re.match(r"\s*(\S+)(?:\s+=>\s+(\S+))?", line)
        if match:
            libraries.append((match.group(1), match.group(2)))
    return libraries


def debian_package(file):
    """The package owning a file, trying its resolved path and the /usr-merged twin."""
    real = os.path.realpath(file)
    candidates = [file, real]
    for p in (file, real):
        if p.startswith("/usr/lib/"):
            candidates.append(p[len("/usr"):])
        elif p.startswith("/lib/"):
            candidates.append("/usr" + p)
    for candidate in candidates:
        out = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True,
                             timeout=60)
        if out.returncode == 0:
            return out.stdout.split(":")[0].strip()
    return None


class DockerfileTest(unittest.TestCase):
    def setUp(self):
        self.stages = dockerfile_stages(read("deploy", "Dockerfile"))
        self.assertGreaterEqual(len(self.stages), 2, "a build stage and a runtime stage")
        self.build, self.final = self.stages[0], self.stages[-1]

    def instructions(self, stage, word):
        return [rest for w, rest in stage["instructions"] if w == word]

    def test_stages(self):
        self.assertRegex(self.build["from"], r"^debian:(12|bookworm)(@sha256:[0-9a-f]+)?$")
        self.assertRegex(self.final["from"], r"^debian:(12|bookworm)-slim(@sha256:[0-9a-f]+)?$")
        runs = " ".join(self.instructions(self.build, "RUN"))
        self.assertIn("cmake --preset release", runs)
        self.assertRegex(runs, r"cmake --build --preset release --target outpost\b")
        copied = [r for r in self.instructions(self.final, "COPY") if r.startswith("--from=")]
        self.assertTrue(any(r.split()[-1] == "/usr/bin/outpost" for r in copied), copied)

    def test_final_stage(self):
        users = self.instructions(self.final, "USER")
        self.assertTrue(users, "no USER in the final stage")
        self.assertNotIn(users[-1].split(":")[0], ("root", "0"))
        self.assertEqual(exec_form(self.instructions(self.final, "ENTRYPOINT")[-1]),
                         ["/usr/bin/outpost", "run"])
        self.assertEqual(exec_form(self.instructions(self.final, "CMD")[-1]),
                         ["--config", "/etc/outpost/outpost.toml"])
        volumes = " ".join(self.instructions(self.final, "VOLUME")).split()
        self.assertIn("/var/lib/outpost", volumes)
        # The image's configuration: valid, its spool on the volume, its listeners exposed and
        # on every address, the health check on its HTTP port.
        text = image_config(self.final)
        code, output = check_config(text)
        self.assertEqual(code, 0, "the image's outpost.toml: " + output)
        config = tomllib.loads(text)
        spool = config["spool"]["path"]
        self.assertTrue(any(spool == v or spool.startswith(v + "/") for v in volumes),
                        f"spool {spool} is not on a VOLUME {volumes}")
        exposed = {int(p.split("/")[0]) for p in " ".join(
            self.instructions(self.final, "EXPOSE")).split()}
        self.assertTrue({25, 587, 465, 8025, 9100} <= exposed, exposed)
        for (section, key), ports in listen_ports(config).items():
            self.assertTrue(set(ports) <= exposed, f"[{section}] {key} {ports} not EXPOSEd")
            for address in config.get(section, {}).get(key, []):
                self.assertTrue(address.startswith(("0.0.0.0:", "[::]:")),
                                f"[{section}] {key} {address}: unreachable from outside")
        checks = self.instructions(self.final, "HEALTHCHECK")
        self.assertEqual(len(checks), 1, "one HEALTHCHECK")
        self.assertIn("/healthz", checks[0])
        http_port = listen_ports(config)[("http", "listen")][0]
        self.assertRegex(checks[0], rf"127\.0\.0\.1[:/]{http_port}\b")

    def test_runtime_libraries_installed(self):
        libraries = ldd_libraries(OUTPOST)
        if any(SANITIZER_LIBRARIES.match(name) for name, _ in libraries):
            # A Debug+ASan build links what the image's release build does not (gflags, the
            # sanitizer runtimes): it says nothing about the image.
            self.skipTest("a sanitizer build: the image ships the release preset's binary")
        installed = apt_packages(self.final)
        missing = []
        for name, file in libraries:
            if BASE_LIBRARIES.match(name) or file is None:
                continue
            package = debian_package(file)
            self.assertIsNotNone(package, f"no Debian package owns {file} ({name})")
            if package not in installed:
                missing.append(f"{name} ({package})")
        self.assertEqual(missing, [], "the final stage does not install these; installs "
                         f"{sorted(installed)}")

    def test_build_packages(self):
        listed = {line.strip() for line in read("scripts", "packages.txt").splitlines()
                  if line.strip() and not line.startswith("#")}
        unclassified = listed - BUILD_PACKAGES - NOT_BUILD_PACKAGES
        self.assertEqual(unclassified, set(), "scripts/packages.txt has packages this test "
                         "does not know: add each to BUILD_PACKAGES (and the Dockerfile) or "
                         "NOT_BUILD_PACKAGES")
        self.assertEqual(BUILD_PACKAGES - listed, set(), "BUILD_PACKAGES not in packages.txt")
        installed = apt_packages(self.build)
        self.assertEqual(BUILD_PACKAGES - installed, set(), "the build stage misses these")
        self.assertEqual(installed & NOT_BUILD_PACKAGES, set(), "test-only packages in the build")

    def test_build_copies_every_source_folder(self):
        copies = self.instructions(self.build, "COPY")
        copied = set()
        for rest in copies:
            parts = [p for p in shlex.split(rest) if not p.startswith("--")]
            copied |= {p.rstrip("/") for p in parts[:-1]}
        if "." in copied:
            return
        root = read("CMakeLists.txt")
        needed = set(re.findall(r"^add_subdirectory\((\w+)\)", root, re.M))
        needed |= {"cmake", "CMakeLists.txt", "CMakePresets.json"}
        self.assertEqual(needed - copied, set(), "the build stage does not COPY these")

    def test_dockerignore_keeps_build_out(self):
        ignore = read("deploy", "Dockerfile.dockerignore").split()
        for entry in (".git", "build"):
            self.assertIn(entry, ignore)


# --- Kubernetes -------------------------------------------------------------------------------

class KubernetesTest(unittest.TestCase):
    def setUp(self):
        directory = path("deploy", "k8s")
        self.docs = []
        for name in sorted(os.listdir(directory)):
            if name.endswith((".yaml", ".yml")):
                with open(os.path.join(directory, name)) as f:
                    for doc in yaml.safe_load_all(f):
                        if doc is not None:
                            self.docs.append((name, doc))
        self.assertTrue(self.docs, "no manifests in deploy/k8s")

    def kind(self, kind, name="outpost"):
        """The documents of that kind for `name` (app.kubernetes.io/name): outpost's own, or
        fleet mode's outpost-redis."""
        return [doc for _, doc in self.docs if doc["kind"] == kind and
                doc["metadata"].get("labels", {}).get("app.kubernetes.io/name") == name]

    def one(self, kind):
        found = self.kind(kind)
        self.assertEqual(len(found), 1, f"one {kind}")
        return found[0]

    def outpost_config(self):
        data = self.one("ConfigMap")["data"]
        self.assertIn("outpost.toml", data)
        return data["outpost.toml"]

    def container(self):
        containers = self.one("StatefulSet")["spec"]["template"]["spec"]["containers"]
        self.assertEqual(len(containers), 1)
        return containers[0]

    def container_port(self, port):
        """A probe's or Service's port (a number or a container port's name) as a number."""
        ports = self.container()["ports"]
        if isinstance(port, int):
            self.assertIn(port, [p["containerPort"] for p in ports])
            return port
        named = [p["containerPort"] for p in ports if p.get("name") == port]
        self.assertEqual(len(named), 1, f"container port named {port}")
        return named[0]

    def test_documents(self):
        for name, doc in self.docs:
            self.assertIn("apiVersion", doc, name)
            self.assertIn("name", doc["metadata"], name)
            self.assertNotIn("namespace", doc["metadata"], f"{name}: namespace-less")
        kinds = {doc["kind"] for _, doc in self.docs}
        self.assertTrue({"ConfigMap", "StatefulSet", "Service", "ServiceMonitor"} <= kinds, kinds)
        self.assertEqual(self.one("ServiceMonitor")["apiVersion"], "monitoring.coreos.com/v1")

    def test_fleet_redis(self):
        """[cluster] redis names the Redis Service and its port; that Service selects the
        Redis pods, and they keep nothing on disk (leases only) and run locked down."""
        config = tomllib.loads(self.outpost_config())
        host, port = config["cluster"]["redis"].rsplit(":", 1)
        [service] = self.kind("Service", "outpost-redis")
        self.assertEqual(service["metadata"]["name"], host)
        [deployment] = self.kind("Deployment", "outpost-redis")
        pod = deployment["spec"]["template"]
        self.assertTrue(service["spec"]["selector"].items() <= pod["metadata"]["labels"].items())
        [container] = pod["spec"]["containers"]
        [service_port] = service["spec"]["ports"]
        self.assertEqual(service_port["port"], int(port))
        named = {p["name"]: p["containerPort"] for p in container["ports"]}
        self.assertEqual(named[service_port["targetPort"]], 6379)
        args = container["args"]
        self.assertEqual(args[args.index("--save") + 1], "")
        self.assertEqual(args[args.index("--appendonly") + 1], "no")
        self.assertIs(container["securityContext"]["readOnlyRootFilesystem"], True)
        self.assertEqual(config["cluster"].get("nodes_expected"),
                         self.one("StatefulSet")["spec"]["replicas"])
        self.assertNotIn("node", config["cluster"], "node must default to each pod's name")

    def test_config_passes_check(self):
        code, output = check_config(self.outpost_config())
        self.assertEqual(code, 0, "the ConfigMap's outpost.toml: " + output)

    def test_statefulset_matches_config(self):
        config = tomllib.loads(self.outpost_config())
        ports = listen_ports(config)
        container = self.container()
        container_ports = {p["containerPort"] for p in container["ports"]}
        for (section, key), numbers in ports.items():
            self.assertTrue(set(numbers) <= container_ports, f"[{section}] {key} {numbers}")
        http_ports = ports[("http", "listen")]
        for probe, want in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"),
                            ("startupProbe", "/healthz")]:
            if probe == "startupProbe" and probe not in container:
                continue
            get = container[probe]["httpGet"]
            self.assertEqual(get["path"], want, probe)
            self.assertIn(self.container_port(get["port"]), http_ports,
                          f"{probe} is not on the [http] listener")
        # The spool on the volume claim; the ConfigMap where --config reads it.
        spec = self.one("StatefulSet")["spec"]
        claims = {c["metadata"]["name"] for c in spec["volumeClaimTemplates"]}
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        spool = config["spool"]["path"]
        self.assertTrue(any(mounts.get(c) in (spool, os.path.dirname(spool)) for c in claims),
                        f"spool {spool} vs claim mounts {mounts}")
        args = container.get("args", [])
        config_path = args[args.index("--config") + 1]
        volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
        config_volumes = [n for n, v in volumes.items()
                          if v.get("configMap", {}).get("name")
                          == self.one("ConfigMap")["metadata"]["name"]]
        self.assertEqual(len(config_volumes), 1)
        self.assertEqual(os.path.join(mounts[config_volumes[0]], "outpost.toml"), config_path)
        self.assertGreater(spec["template"]["spec"]["terminationGracePeriodSeconds"],
                           drain_timeout(config))

    def test_security_context(self):
        pod = self.one("StatefulSet")["spec"]["template"]["spec"]
        container = self.container()
        context = container["securityContext"]
        self.assertTrue(context.get("runAsNonRoot") or pod["securityContext"].get("runAsNonRoot"))
        self.assertIs(context["readOnlyRootFilesystem"], True)
        self.assertIs(context["allowPrivilegeEscalation"], False)
        self.assertEqual(context["capabilities"]["drop"], ["ALL"])
        self.assertEqual(context["capabilities"]["add"], ["NET_BIND_SERVICE"])
        # RuntimeDefault blocks io_uring (Docker and containerd profiles since 2023).
        seccomp = context.get("seccompProfile") or pod["securityContext"].get("seccompProfile")
        self.assertIn(seccomp["type"], ("Unconfined", "Localhost"))
        self.assertIn("requests", container["resources"])
        self.assertIn("limits", container["resources"])
        # runAsUser is the image's user (Kubernetes cannot check a named USER is non-root).
        uid = re.search(r"useradd\b.*--uid (\d+)", read("deploy", "Dockerfile"))
        user = context.get("runAsUser", pod["securityContext"].get("runAsUser"))
        self.assertIsNotNone(uid)
        self.assertEqual(user, int(uid.group(1)))

    def test_services(self):
        template = self.one("StatefulSet")["spec"]["template"]
        labels = template["metadata"]["labels"]
        services = self.kind("Service")
        for service in services:
            selector = service["spec"]["selector"]
            self.assertTrue(selector.items() <= labels.items(), service["metadata"]["name"])
            for port in service["spec"]["ports"]:
                self.container_port(port.get("targetPort", port["port"]))
        headless = [s for s in services if s["spec"].get("clusterIP") == "None"]
        self.assertEqual(len(headless), 1, "one headless Service")
        self.assertEqual(self.one("StatefulSet")["spec"]["serviceName"],
                         headless[0]["metadata"]["name"])
        config = tomllib.loads(self.outpost_config())
        ports = listen_ports(config)
        client = [s for s in services if s["spec"].get("clusterIP") != "None"]
        self.assertEqual(len(client), 1, "one client Service")
        targets = {self.container_port(p.get("targetPort", p["port"]))
                   for p in client[0]["spec"]["ports"]}
        self.assertTrue(set(ports[("submission", "listen")]) <= targets, "submission ports")
        self.assertTrue(set(ports[("http", "listen")]) <= targets, "HTTP API port")
        # The ServiceMonitor's endpoint: a Service it selects, a port there that reaches the
        # metrics listener (or [http] when [metrics] listen is empty), at /metrics.
        monitor = self.one("ServiceMonitor")
        metrics_ports = ports[("metrics", "listen")] or ports[("http", "listen")]
        want = monitor["spec"]["selector"]["matchLabels"]
        selected = [s for s in services if want.items() <= s["metadata"]["labels"].items()]
        self.assertTrue(selected, "the ServiceMonitor selects no Service")
        for endpoint in monitor["spec"]["endpoints"]:
            self.assertEqual(endpoint.get("path", "/metrics"), "/metrics")
            reached = {self.container_port(p.get("targetPort", p["port"]))
                       for s in selected for p in s["spec"]["ports"]
                       if p.get("name") == endpoint["port"]}
            self.assertTrue(reached and reached <= set(metrics_ports),
                            f"endpoint port {endpoint['port']} -> {reached}, metrics on "
                            f"{metrics_ports}")
            # Beside the admin API, /metrics wants the admin key.
            if not ports[("metrics", "listen")]:
                self.assertIn("authorization", endpoint, "/metrics needs the admin key there")


# --- Grafana --------------------------------------------------------------------------------

RATE_CALL = re.compile(r"\b(rate|irate|increase)\s*\(")
NAME = re.compile(r"\b(outpost_[a-z_]+|process_[a-z_]+)")


def family_of(name):
    """(family, suffix) of a series name used in an expression."""
    for suffix in HISTOGRAM_SUFFIXES:
        base = name[: -len(suffix)]
        if name.endswith(suffix) and FAMILIES.get(base) == "histogram":
            return base, suffix
    return name, ""


def name_uses(expr):
    """[(series name, inside rate/irate/increase)] of a PromQL expression."""
    spans = []
    for match in RATE_CALL.finditer(expr):
        depth, at = 1, match.end()
        while depth and at < len(expr):
            depth += {"(": 1, ")": -1}.get(expr[at], 0)
            at += 1
        spans.append((match.end(), at))
    # Label values and matchers ("...") are not names.
    stripped = re.sub(r'"[^"]*"', lambda m: " " * len(m.group(0)), expr)
    return [(m.group(1), any(a <= m.start() < b for a, b in spans))
            for m in NAME.finditer(stripped)]


def all_panels(dashboard):
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_exprs(dashboard):
    """Every PromQL text: the panels' targets and the query variables."""
    exprs = [(panel["title"], t["expr"]) for panel in all_panels(dashboard)
             for t in panel.get("targets", []) if "expr" in t]
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable["query"]
            exprs.append((f"${variable['name']}",
                          query["query"] if isinstance(query, dict) else query))
    return exprs


class GrafanaTest(unittest.TestCase):
    def setUp(self):
        self.dashboard = json.loads(read("deploy", "grafana", "outpost.json"))

    def test_panels(self):
        d = self.dashboard
        self.assertGreaterEqual(d["schemaVersion"], 36)
        variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
        inputs = {i["name"] for i in d.get("__inputs", [])}
        self.assertTrue(variables.get("datasource", {}).get("type") == "datasource"
                        or "DS_PROMETHEUS" in inputs)
        ids = [p.get("id") for p in all_panels(d)]
        self.assertNotIn(None, ids)
        self.assertEqual(len(ids), len(set(ids)), "panel ids repeat")
        for panel in all_panels(d):
            self.assertTrue(panel.get("title"), f"panel {panel['id']} has no title")
            source = panel.get("datasource")
            uid = source.get("uid", "") if isinstance(source, dict) else source or ""
            self.assertRegex(uid, r"^\$\{?(datasource|DS_PROMETHEUS)\}?$",
                             f"panel {panel['title']}: datasource")
            if panel["type"] != "row":
                self.assertTrue(panel.get("targets"), f"panel {panel['title']}: no query")
        rows = {p["title"] for p in d["panels"] if p["type"] == "row"}
        self.assertTrue(DASHBOARD_ROWS <= rows, rows)

    def test_expressions_use_known_families_by_type(self):
        used, errors = set(), []
        for title, expr in dashboard_exprs(self.dashboard):
            uses = name_uses(expr)
            if not uses:
                errors.append(f"{title}: no metric in {expr}")
            for name, rated in uses:
                family, suffix = family_of(name)
                kind = FAMILIES.get(family)
                used.add(family)
                if kind is None:
                    errors.append(f"{title}: {name} is not a known family")
                elif expr.startswith("label_values("):
                    continue  # a variable's label lookup: any series selector will do
                elif kind == "counter" and not rated:
                    errors.append(f"{title}: counter {name} outside rate()/increase()")
                elif kind == "gauge" and rated:
                    errors.append(f"{title}: gauge {name} under rate()")
                elif kind == "histogram" and (not suffix or not rated):
                    errors.append(f"{title}: histogram {name}: rate() of _bucket/_sum/_count")
            if "histogram_quantile" in expr:
                if not re.search(r"by\s*\([^)]*\ble\b", expr) or "_bucket" not in expr:
                    errors.append(f"{title}: histogram_quantile needs _bucket by (le)")
        self.assertEqual(errors, [])
        self.assertEqual(set(FAMILIES) - used, set(), "families the dashboard does not show")

    def test_promql_syntax(self):
        promtool = shutil.which("promtool")
        if not promtool:
            self.skipTest("promtool not installed (Debian package prometheus)")
        rules = []
        for i, (_, expr) in enumerate(dashboard_exprs(self.dashboard)):
            if expr.startswith("label_values("):
                continue  # Grafana's, not PromQL
            text = (expr.replace("$__rate_interval", "5m").replace("$job", ".*")
                    .replace("$instance", ".*"))
            rules.append({"record": f"outpost:check:{i}", "expr": text})
        with tempfile.TemporaryDirectory(prefix="outpost-promql-") as tmp:
            file = os.path.join(tmp, "rules.yml")
            with open(file, "w") as f:
                yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
            out = subprocess.run([promtool, "check", "rules", file], capture_output=True,
                                 text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)


# --- configurations ----------------------------------------------------------------------

class ConfigTest(unittest.TestCase):
    def test_reference_configs_pass_check(self):
        for name in ("outpost.toml", "local-relay.toml"):
            code, output = check_config(read("deploy", name))
            self.assertEqual(code, 0, f"deploy/{name}: {output}")


class LogrotateTest(unittest.TestCase):
    def test_logrotate_file_parses_and_reloads(self):
        logrotate = shutil.which("logrotate") or "/usr/sbin/logrotate"
        if not os.path.exists(logrotate):
            self.skipTest("logrotate is not installed")
        text = read("deploy", "outpost.logrotate")
        self.assertIn("/var/log/outpost/delivery.jsonl", text)
        self.assertRegex(text, r"postrotate\s+systemctl reload outpost\.service")
        # The daemon reopens: copytruncate would lose the lines written between copy and truncate.
        self.assertNotRegex(text, r"(?m)^\s*copytruncate")
        with tempfile.TemporaryDirectory() as tmp:
            log = os.path.join(tmp, "delivery.jsonl")
            with open(log, "w") as f:
                f.write("{}\n")
            # The same file, pointed at a scratch log, owned by root, reloading nothing.
            conf = os.path.join(tmp, "outpost")
            with open(conf, "w") as f:
                f.write(text.replace("/var/log/outpost/delivery.jsonl", log)
                        .replace("outpost outpost", "root root")
                        .replace("systemctl reload outpost.service", "true"))
            done = subprocess.run([logrotate, "-f", "-s", os.path.join(tmp, "state"), conf],
                                  capture_output=True, text=True, timeout=30)
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
            self.assertTrue(os.path.exists(log + ".1"), os.listdir(tmp))  # delaycompress
            self.assertEqual(os.path.getsize(log), 0)  # `create` made a new one


# --- the running daemon --------------------------------------------------------------------

def harness():
    sys.path.insert(0, path("tests", "e2e"))
    import harness as module  # noqa: E402 (tests/e2e/harness.py)
    return module


def http_get(port, route, timeout=10, key=None):
    """(status, body); `key`: the admin key (/metrics beside the admin API needs it)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{route}")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def exposition_types(body):
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", body, re.M))


class LiveDaemonTest(unittest.TestCase):
    """The daemon as the unit, the image and the probes assume it: /metrics families of the
    types the dashboard uses, SIGHUP keeps it running, SIGTERM exits 0."""

    def test_metrics_types_and_signals(self):
        h = harness()
        with tempfile.TemporaryDirectory(prefix="outpost-deploy-") as workdir:
            daemon = h.Outpost(OUTPOST, workdir, h.free_port())  # a relay nobody answers
            daemon.start()
            try:
                status, body = http_get(daemon.http_port, "/metrics", key=daemon.admin_key())
                self.assertEqual(status, 200)
                types = exposition_types(body)
                missing, wrong = [], []
                for family, kind in FAMILIES.items():
                    if family not in types:
                        missing.append(family)
                    elif types[family] != kind:
                        wrong.append(f"{family}: /metrics says {types[family]}, "
                                     f"the dashboard treats it as a {kind}")
                if missing:
                    print("\nnote: families the dashboard uses that this build does not expose "
                          "yet:\n  " + "\n  ".join(missing), file=sys.stderr)
                self.assertEqual(wrong, [])
                for route in ("/healthz", "/readyz"):
                    status, _ = http_get(daemon.http_port, route)
                    if status != 200:
                        print(f"note: GET {route} answers {status} in this build; the "
                              "HEALTHCHECK and the Kubernetes probes need 200", file=sys.stderr)
                os.kill(daemon.proc.pid, signal.SIGHUP)  # ExecReload=
                time.sleep(0.5)
                self.assertIsNone(daemon.proc.poll(), "SIGHUP ended the daemon")
                self.assertEqual(
                    http_get(daemon.http_port, "/metrics", key=daemon.admin_key())[0], 200)
            finally:
                code = daemon.stop()
            self.assertEqual(code, 0, "SIGTERM must drain and exit 0 (Restart=on-failure)\n"
                             + daemon.output())


class SyscallTest(unittest.TestCase):
    """Everything the daemon calls while it works is allowed by the unit's SystemCallFilter=
    and RestrictAddressFamilies= (strace sees what seccomp would: io_uring's own operations
    are not system calls of the process, for either)."""

    def test_daemon_stays_inside_the_unit_filter(self):
        for tool in ("strace", "systemd-analyze"):
            if not shutil.which(tool):
                self.skipTest(f"{tool} not installed")
        if any(SANITIZER_LIBRARIES.match(name) for name, _ in ldd_libraries(OUTPOST)):
            self.skipTest("a sanitizer build makes system calls the release binary does not")
        h = harness()
        from dns_server import DnsServer  # tests/e2e/dns_server.py (unbound)
        if not (shutil.which("unbound") or os.path.exists("/usr/sbin/unbound")) \
                or not os.path.exists(h.SMTP_SINK):
            self.skipTest("unbound and smtp-sink (postfix) are needed for real delivery")
        sections = parse_unit(read("deploy", "outpost.service"))
        allowed, denied = unit_syscalls(sections)
        families = set(unit_values(sections, "Service", "RestrictAddressFamilies")[0].split())
        with h.TempDir() as workdir:
            sink = h.Sink(workdir)
            dns = DnsServer(workdir, ["example.test. 300 IN MX 10 mx.example.test.",
                                      "mx.example.test. 300 IN A 127.0.0.1"])
            daemon = h.Outpost(OUTPOST, workdir, 0, {
                "delivery": {"relay": '""', "remote_port": str(sink.port),
                             "reconnect_delay": '"200ms"', "connect_timeout": '"2s"',
                             "idle_timeout": '"2s"'},
                "dns": {"servers": f'["127.0.0.1:{dns.port}"]', "timeout": '"500ms"'},
            })
            trace = os.path.join(workdir, "strace.out")
            daemon.log_path = os.path.join(workdir, "outpost.log")
            with open(daemon.log_path, "wb") as log:
                tracer = subprocess.Popen(["strace", "-f", "-qq", "-o", trace, OUTPOST, "run",
                                           "--config", daemon.config],
                                          stdout=log, stderr=subprocess.STDOUT)
            daemon.proc = tracer  # what the harness's log reader polls
            daemon_pid = None
            try:
                port = int(h.wait_until(daemon._port_from_log, 30, what="outpost to listen"))
                http_port = int(re.search(r"http listening on 127\.0\.0\.1:(\d+)",
                                          daemon.output()).group(1))
                children = f"/proc/{tracer.pid}/task/{tracer.pid}/children"
                with open(children) as f:
                    daemon_pid = int(f.read().split()[0])
                with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                    client.starttls(context=h.insecure_tls_context())
                    client.send_message(h.message(1, "deploy"), "a@example.com",
                                        ["b@example.test"])
                request = urllib.request.Request(
                    f"http://127.0.0.1:{http_port}/v1/messages", method="POST",
                    headers={"Content-Type": "application/json"},
                    data=json.dumps({"from": "a@example.com", "to": ["c@example.test"],
                                     "subject": "deploy", "text": "hi"}).encode())
                with urllib.request.urlopen(request, timeout=30) as response:
                    self.assertEqual(response.status, 202)
                h.wait_until(lambda: len(sink.files()) >= 2, 30, 0.1, "2 messages at the sink")
                self.assertEqual(http_get(http_port, "/metrics", key=daemon.admin_key())[0], 200)
                os.kill(daemon_pid, signal.SIGHUP)
                time.sleep(0.5)
            finally:
                if daemon_pid is not None:
                    os.kill(daemon_pid, signal.SIGTERM)
                try:
                    tracer.wait(45)
                except subprocess.TimeoutExpired:
                    if daemon_pid is not None:
                        os.kill(daemon_pid, signal.SIGKILL)
                    tracer.kill()
                    tracer.wait()
                dns.stop()
                dns.process.stderr.close()
                sink.stop()
            self.assertEqual(tracer.returncode, 0, daemon.output())
            called, sockets = set(), set()
            with open(trace, errors="replace") as f:
                for line in f:
                    match = re.match(r"^\d+\s+(?:<\.\.\. )?([a-z_][a-z0-9_]*)(?:\(| resumed>)",
                                     line)
                    if match:
                        called.add(match.group(1))
                    sockets |= set(re.findall(r"\bsocket\((AF_[A-Z0-9]+)", line))
            self.assertIn("io_uring_setup", called, "strace saw no io_uring: a wrong trace?")
            print(f"\nsystem calls of the daemon at work: {len(called)}; socket families: "
                  f"{sorted(sockets)}", file=sys.stderr)
            if allowed:
                self.assertEqual(sorted(called - allowed), [], "not in SystemCallFilter=")
            self.assertEqual(sorted(called & denied), [], "denied by SystemCallFilter=~")
            self.assertEqual(sorted(sockets - families), [], "not in RestrictAddressFamilies=")


def main():
    global OUTPOST, SOURCE
    parser = argparse.ArgumentParser()
    parser.add_argument("--outpost", required=True, help="the outpost binary")
    parser.add_argument("--source", required=True, help="the repository root")
    args, rest = parser.parse_known_args()
    OUTPOST = os.path.abspath(args.outpost)
    SOURCE = os.path.abspath(args.source)
    unittest.main(argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
