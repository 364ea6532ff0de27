"""A real Redis server for the tests: redis-server on 127.0.0.1:<free port>, no persistence,
in the foreground, ended by PID.

    redis = RedisServer(workdir)      # started
    redis.kill()                      # SIGKILL: an outage
    redis.start()                     # again, on the same port
    redis.cli("HGETALL", "outpost:lease:relay")
    redis.stop()
"""
import os
import signal
import socket
import subprocess
import time


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, workdir, start_timeout=10.0):
        self.workdir = os.path.join(str(workdir), "redis")
        os.makedirs(self.workdir, exist_ok=True)
        self.port = _free_port()
        self.start_timeout = start_timeout
        self.proc = None
        self.start()

    @property
    def endpoint(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        self.log = open(os.path.join(self.workdir, "redis.log"), "ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.workdir, "--daemonize", "no"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            try:
                if self.cli("PING") == "PONG":
                    return
            except (OSError, subprocess.SubprocessError):
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer")

    def cli(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True,
                             text=True, timeout=10, check=True)
        return out.stdout.strip()

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()

    def stop(self):
        self.kill()
