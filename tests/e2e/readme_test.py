"""The README's walkthrough, run as written: every code block marked `<!-- readme-test -->` in
README.md, in order, in one bash session in a scratch directory (so shell variables carry
over), with `outpost` on the PATH as the built binary. `scripts/run ARGS` stands for the
daemon's start in its own shell: the test stops the one before (SIGINT, as Ctrl-C does) and
starts `outpost run ARGS` in the background. A line `# → TEXT` under a command says what its
output contains (`…` matches anything, a 16-digit hex id any id); the command is retried for a
few seconds until it does (delivery is asynchronous), then the test fails naming it. A
16-digit hex id in a command stands for the last id an earlier command printed. Every command
must exit 0. The walkthrough's fixed loopback ports (2500, 2525, 8025) must be free, else the
test is skipped. Run as: readme_test.py --outpost PATH."""
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from harness import run_tests

OUTPOST = None
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PORTS = (2500, 2525, 8025)
ID = re.compile(r"\b[0-9a-f]{16}\b")
TRIES = 40  # 0.25 s apart: ten seconds for an expectation to come true

PRELUDE = r'''
set -u
export PATH="$BIN:$PATH"
LAST_ID=""
run_no=0
start_outpost() {
  if [ -f outpost.pid ]; then
    kill -INT "$(cat outpost.pid)" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$(cat outpost.pid)" 2>/dev/null || break; sleep 0.1; done
  fi
  run_no=$((run_no + 1))
  outpost run "$@" > "outpost.$run_no.log" 2>&1 &
  echo $! > outpost.pid
  for _ in $(seq 200); do
    grep -q "outpost running" "outpost.$run_no.log" && return 0
    kill -0 "$(cat outpost.pid)" 2>/dev/null || break
    sleep 0.1
  done
  echo "@@FAIL outpost did not start:"; cat "outpost.$run_no.log"; exit 1
}
note_id() {
  local found
  found=$(printf '%s\n' "$1" | grep -oE '\b[0-9a-f]{16}\b' | tail -n 1 || true)
  if [ -n "$found" ]; then LAST_ID=$found; fi
}
'''


def blocks(readme):
    """[(language, [lines])] of the marked blocks, in order."""
    found = []
    lines = readme.splitlines()
    for i, line in enumerate(lines):
        if line.strip() != "<!-- readme-test -->":
            continue
        fence = lines[i + 1]
        language = fence.strip("`").strip()
        end = next(j for j in range(i + 2, len(lines)) if lines[j].startswith("```"))
        found.append((language, lines[i + 2:end]))
    return found


def expectation(text):
    """A PCRE for grep -P from the README's `# → TEXT`."""
    pattern = ""
    for piece in re.split(r"(…|\b[0-9a-f]{16}\b)", text.strip()):
        if piece == "…":
            pattern += ".*"
        elif ID.fullmatch(piece):
            pattern += "[0-9a-f]{16}"
        else:
            pattern += re.escape(piece)
    return pattern


def complete(command):
    """False while a quotation is still open (a JSON body over several lines)."""
    try:
        shlex.split(command, comments=True)
        return True
    except ValueError:
        return False


def commands(lines):
    """[(command, [expectations])]: continuation lines and open quotations joined, `# → `
    lines attached to the command above, other comments dropped."""
    out = []
    pending = ""
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("# → "):
            out[-1][1].append(stripped[len("# → "):])
            continue
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        pending += line + "\n"
        if line.endswith("\\") or not complete(pending):
            continue
        out.append((pending.rstrip("\n"), []))
        pending = ""
    return out


def bash_for(number, command, expected):
    """The bash lines that run one README command as the test's rules say."""
    quoted = shlex.quote(command)
    say = f'echo "@@CMD {number}: "{quoted}'
    if command.startswith("scripts/run"):
        return f"{say}\nstart_outpost {command[len('scripts/run'):].strip()}\n"
    command = ID.sub("$LAST_ID", command)
    if command.rstrip().endswith("&"):
        # A server of the walkthrough: its pid is kept, to end it by.
        command = command.rstrip()[:-1].rstrip()
        return (f"{say}\n{command} > background.{number}.log 2>&1 &\n"
                f"echo $! >> background.pids\nsleep 0.5\n")
    if re.match(r"^[A-Za-z_][A-Za-z_0-9]*=", command):  # an assignment: this shell keeps it
        return f"{say}\n{command} || {{ echo '@@FAIL {number} exited non-zero'; exit 1; }}\n"
    checks = " && ".join(f"printf '%s\\n' \"$out\" | grep -qP {shlex.quote(expectation(e))}"
                         for e in expected) or "true"
    tries = TRIES if expected else 1
    return f'''{say}
for try in $(seq {tries}); do
  out=$({{ {command}
}} 2>&1); rc=$?
  if [ $rc -eq 0 ] && {checks}; then break; fi
  sleep 0.25
done
printf '%s\\n' "$out"
note_id "$out"
[ $rc -eq 0 ] || {{ echo "@@FAIL {number} exited $rc"; exit 1; }}
{checks} || {{ echo "@@FAIL {number} printed something else than the README says"; exit 1; }}
'''


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def ports_free():
    for port in PORTS:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


class ReadmeTest(unittest.TestCase):
    def test_walkthrough_runs_as_written(self):
        if not ports_free():
            self.skipTest(f"the walkthrough's ports {PORTS} are in use")
        with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
            marked = blocks(f.read())
        self.assertGreaterEqual(len(marked), 6, "marked blocks of the README")
        work = tempfile.mkdtemp(prefix="outpost-readme-")
        os.chmod(work, 0o755)
        sink = os.path.join(work, "sink")
        try:
            os.makedirs(os.path.join(work, "deploy"))
            shutil.copy(os.path.join(ROOT, "deploy", "local-relay.toml"),
                        os.path.join(work, "deploy"))
            bin_dir = os.path.join(work, "bin")
            os.makedirs(bin_dir)
            os.symlink(OUTPOST, os.path.join(bin_dir, "outpost"))
            script = PRELUDE
            number = 0
            for language, lines in marked:
                if language == "python":
                    number += 1
                    path = os.path.join(work, f"block{number}.py")
                    with open(path, "w") as f:
                        f.write("\n".join(lines) + "\n")
                    script += bash_for(number, f"python3 {path}", [])
                    continue
                self.assertEqual(language, "sh")
                for command, expected in commands(lines):
                    number += 1
                    command = command.replace("/tmp/sink", sink)
                    if os.geteuid() != 0:
                        command = command.replace("-u nobody ", "")
                    script += bash_for(number, command, expected)
            script += 'echo "@@DONE"\n'
            with open(os.path.join(work, "walkthrough.sh"), "w") as f:
                f.write(script)
            env = dict(os.environ, BIN=bin_dir, HOME=work)
            try:
                run = subprocess.run(["bash", "walkthrough.sh"], cwd=work, env=env,
                                     capture_output=True, text=True, timeout=240)
                output = run.stdout + run.stderr
            finally:
                self.stop_all(work)
            logs = "".join(read(os.path.join(work, name)) for name in sorted(os.listdir(work))
                           if name.startswith("outpost.") and name.endswith(".log"))
            self.assertIn("@@DONE", output, output[-6000:] + "\n--- outpost logs:\n" +
                          logs[-4000:])
            # What the README says besides its commands: the delivery log line, the sink.
            self.assertRegex(logs, r"delivery [0-9a-f]{16}\.0 <you@example.net>: 250 2\.0\.0 Ok "
                                   r"\[tls none\]")
            self.assertGreaterEqual(len(os.listdir(sink)), 3)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def stop_all(self, work):
        """Ends what the walkthrough started, by the pids it kept: Outpost as Ctrl-C does."""
        pids = []
        path = os.path.join(work, "outpost.pid")
        if os.path.exists(path):
            pids.append((int(read(path)), signal.SIGINT))
        path = os.path.join(work, "background.pids")
        if os.path.exists(path):
            pids += [(int(p), signal.SIGTERM) for p in read(path).split()]
        for pid, sig in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                continue
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
