#!/usr/bin/env python3
"""Independent check of build_dsn's output: reads the DSN that dsn_example prints on stdin,
parses it with Python's email package (policy.default) and asserts its RFC 6522 / RFC 3464
structure, the per-recipient Action and Status, and the attached original header block.
Exits non-zero with a message on the first failed check (run by ctest as dsn_python_check)."""

import email
import email.policy
import sys

# Must match the fixed input in proto/mime/dsn_example.cc.
WANT_RECIPIENTS = [
    ("rfc822; alice@example.net", "failed", "5.1.1", "dns; mx1.example.net"),
    ("rfc822; bob@example.com", "failed", "5.0.0", "dns; mx.example.com"),
]


def fail(message):
    print("check_dsn: FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def main():
    raw = sys.stdin.buffer.read()
    check(raw, "no input")

    # Wire format: CRLF only, 7-bit, no line over 998 octets (RFC 5322 §2.1.1).
    check(all(b < 0x80 for b in raw), "output is not 7-bit")
    check(raw.endswith(b"\r\n"), "output does not end with CRLF")
    check(b"\n" not in raw.replace(b"\r\n", b""), "bare LF in output")
    check(b"\r" not in raw.replace(b"\r\n", b""), "bare CR in output")
    lines = raw.split(b"\r\n")
    check(max(len(line) for line in lines) <= 998, "line over 998 octets")

    msg = email.message_from_bytes(raw, policy=email.policy.default)
    check(not msg.defects, "top-level defects: %r" % msg.defects)
    check(msg.get_content_type() == "multipart/report", "type " + msg.get_content_type())
    check(msg.get_param("report-type") == "delivery-status", "report-type param")
    check(msg["Auto-Submitted"] == "auto-replied", "Auto-Submitted")
    check(msg["Subject"] == "Undelivered Mail Returned to Sender", "Subject " + str(msg["Subject"]))
    check(msg["To"].addresses[0].addr_spec == "sender@example.org", "To")
    check(msg["From"].addresses[0].addr_spec == "MAILER-DAEMON@mx.outpost.example", "From")
    check(msg["Date"].datetime.isoformat() == "2026-11-23T10:37:45+00:00", "Date " + msg["Date"])
    check(msg["Message-ID"] == "<dsn-00000000deadbeef@mx.outpost.example>", "Message-ID")

    parts = msg.get_payload()
    types = [part.get_content_type() for part in parts]
    check(types == ["text/plain", "message/delivery-status", "text/rfc822-headers"],
          "part types %r" % types)
    for part in parts:
        check(not part.defects, "part defects %r" % part.defects)

    text = parts[0].get_content()
    for recipient in ("alice@example.net", "bob@example.com"):
        check(recipient in text, "explanation does not name " + recipient)

    # message/delivery-status: the email package turns each blank-line-separated block into
    # one header-only sub-message; the first is the per-message block.
    blocks = parts[1].get_payload()
    check(len(blocks) == 1 + len(WANT_RECIPIENTS), "%d delivery-status blocks" % len(blocks))
    check(blocks[0]["Reporting-MTA"] == "dns; mx.outpost.example", "Reporting-MTA")
    check(blocks[0]["X-Outpost-Queue-ID"] == "00000000deadbeef", "X-Outpost-Queue-ID")
    check(blocks[0]["Arrival-Date"] is not None, "Arrival-Date")
    for block, (recipient, action, status, remote) in zip(blocks[1:], WANT_RECIPIENTS):
        check(block["Final-Recipient"] == recipient, "Final-Recipient " + str(block["Final-Recipient"]))
        check(block["Action"] == action, "%s: Action %s" % (recipient, block["Action"]))
        check(block["Status"] == status, "%s: Status %s" % (recipient, block["Status"]))
        check(block["Remote-MTA"] == remote, "%s: Remote-MTA" % recipient)
        check(block["Last-Attempt-Date"] is not None, "%s: Last-Attempt-Date" % recipient)
        diagnostic = str(block["Diagnostic-Code"])
        check(diagnostic.startswith("smtp; 5"), "%s: Diagnostic-Code %s" % (recipient, diagnostic))
    # Bob's long reply was folded on the wire; unfolded it is whole again, its non-ASCII
    # octets replaced by '?'.
    bob = str(blocks[2]["Diagnostic-Code"])
    check("policy ?? see https://postmaster.example.com/" in bob, "Bob's diagnostic: " + bob)
    check(bob.endswith("more explanation text from the remote server"), "Bob's diagnostic end")

    headers = parts[2].get_content()
    check("Subject: Quarterly report" in headers, "original Subject missing")
    check("Message-ID: <original-1234@example.org>" in headers, "original Message-ID missing")
    check("This body must not be attached." not in raw.decode("ascii"), "original body attached")

    print("check_dsn: ok (%d octets, %d recipients)" % (len(raw), len(WANT_RECIPIENTS)))


if __name__ == "__main__":
    main()
