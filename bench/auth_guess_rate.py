#!/usr/bin/env python3
"""Password guessing rate against a real daemon: CONNECTIONS clients (from one 127.x address,
or each from its own with --addresses) send wrong passwords over submission AUTH PLAIN or IMAP
LOGIN for SECONDS, reconnecting whenever the server ends the session. Prints, per second, the
guesses the server checked (535 / NO [AUTHENTICATIONFAILED]) and the ones it refused unchecked
(454 4.7.0 / NO [UNAVAILABLE]).

  python3 bench/auth_guess_rate.py --outpost build/release/app/outpost --protocol smtp \\
      --connections 200 --seconds 20 [--addresses]
"""
import argparse
import asyncio
import base64
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from harness import Outpost, TempDir, free_port  # noqa: E402


async def guesser(protocol, port, source, deadline, counts):
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port,
                                                           local_addr=(source, 0))
        except OSError:
            counts["connect_errors"] += 1
            await asyncio.sleep(0.1)
            continue
        try:
            await reader.readline()  # greeting
            if protocol == "smtp":
                writer.write(b"EHLO guesser\r\n")
                while not (await reader.readline()).startswith(b"250 "):
                    pass
            tag = 0
            while time.monotonic() < deadline:
                tag += 1
                if protocol == "smtp":
                    writer.write(b"AUTH PLAIN " + base64.b64encode(b"\0app\0guess%d" % tag) +
                                 b"\r\n")
                else:
                    writer.write(b"a%d LOGIN reader guess%d\r\n" % (tag, tag))
                line = await reader.readline()
                while protocol == "imap" and line.startswith(b"* "):
                    line = await reader.readline()
                if not line:
                    break
                if b"454 4.7.0" in line or b"[UNAVAILABLE]" in line:
                    counts["refused"] += 1
                elif line.startswith(b"535") or b"[AUTHENTICATIONFAILED]" in line:
                    counts["checked"] += 1
                else:
                    break  # 421, BYE: the session is over
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def run(args, port):
    counts = {"checked": 0, "refused": 0, "connect_errors": 0}
    deadline = time.monotonic() + args.seconds
    sources = [f"127.0.{2 + i // 250}.{1 + i % 250}" if args.addresses else "127.0.0.2"
               for i in range(args.connections)]
    await asyncio.gather(*(guesser(args.protocol, port, source, deadline, counts)
                           for source in sources))
    return counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--outpost", required=True)
    parser.add_argument("--protocol", choices=["smtp", "imap"], default="smtp")
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--addresses", action="store_true",
                        help="each connection from its own 127.x address")
    args = parser.parse_args()
    hashed = subprocess.run([args.outpost, "passwd"], input="s3cret\n", capture_output=True,
                            text=True, check=True).stdout.strip()
    with TempDir() as workdir:
        outpost = Outpost(args.outpost, workdir, free_port(), {
            "submission": {"listen": '["127.0.0.1:0"]', "trusted_networks": "[]",
                           "auth_without_tls": "true"},
            "[submission.user]": {"name": '"app"', "password_hash": f"'{hashed}'"},
            "[mailbox.user]": {"name": '"reader"', "password_hash": f"'{hashed}'"},
            "imap": {"listen": '"127.0.0.1:0"', "login_without_tls": "true"},
        })
        outpost.start()
        try:
            if args.protocol == "smtp":
                port = outpost.port
            else:
                import re
                port = int(re.search(r"imap listening on 127\.0\.0\.1:(\d+)",
                                     outpost.output()).group(1))
            counts = asyncio.run(run(args, port))
        finally:
            outpost.stop()
    print(f"{args.protocol}: {args.connections} connections from "
          f"{'as many addresses' if args.addresses else 'one address'}, {args.seconds:g} s: "
          f"{counts['checked']} guesses checked ({counts['checked'] / args.seconds:.1f}/s), "
          f"{counts['refused']} refused unchecked, {counts['connect_errors']} connect errors")


if __name__ == "__main__":
    main()
