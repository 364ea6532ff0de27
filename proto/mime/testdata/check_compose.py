#!/usr/bin/env python3
"""Independent check of compose(): runs compose_example (path in argv[1]) twice, once for the
message and once with --expect for the fields it was composed from (JSON), parses the message
with Python's email package (policy.default) and asserts the structure, the decoded headers,
bodies, filenames and attachment bytes equal the input. Exits non-zero with a message on the
first failed check (run by ctest as compose_python_check)."""

import email
import email.policy
import email.utils
import json
import subprocess
import sys


def fail(message):
    print("check_compose: FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def mailboxes(header):
    return [(a.display_name, a.addr_spec) for a in header.addresses]


def expected_mailboxes(values):
    return [email.utils.parseaddr(v) for v in values]


def lf(text):
    return text.replace("\r\n", "\n")


def main():
    example = sys.argv[1]
    raw = subprocess.run([example], check=True, stdout=subprocess.PIPE).stdout
    want = json.loads(subprocess.run([example, "--expect"], check=True,
                                     stdout=subprocess.PIPE).stdout.decode("utf-8"))

    # Wire format: CRLF only, 7-bit, no line over 998 octets (RFC 5322 §2.1.1).
    check(raw, "no output")
    check(all(b < 0x80 for b in raw), "output is not 7-bit")
    check(raw.endswith(b"\r\n"), "output does not end with CRLF")
    check(b"\n" not in raw.replace(b"\r\n", b""), "bare LF in output")
    check(b"\r" not in raw.replace(b"\r\n", b""), "bare CR in output")
    check(max(len(line) for line in raw.split(b"\r\n")) <= 998, "line over 998 octets")
    header_lines = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    check(max(len(line) for line in header_lines) <= 78, "header line over 78 octets")

    msg = email.message_from_bytes(raw, policy=email.policy.default)
    for part in msg.walk():
        check(not part.defects, "defects in %s: %r" % (part.get_content_type(), part.defects))

    # Structure: mixed[alternative[plain, html], attachment, attachment].
    check(msg.get_content_type() == "multipart/mixed", "top type " + msg.get_content_type())
    parts = msg.get_payload()
    types = [p.get_content_type() for p in parts]
    check(types == ["multipart/alternative"] + [a["content_type"] for a in want["attachments"]],
          "mixed part types %r" % types)
    alternatives = parts[0].get_payload()
    check([p.get_content_type() for p in alternatives] == ["text/plain", "text/html"],
          "alternative part types")
    plain, html = alternatives
    check(plain.get_content_charset() == "utf-8", "text/plain charset")
    check(lf(plain.get_content()) == want["text"], "text body: %r" % plain.get_content())
    check(lf(html.get_content()) == want["html"], "html body: %r" % html.get_content())

    # Headers, decoded.
    check(str(msg["Subject"]) == want["subject"], "Subject %r" % str(msg["Subject"]))
    check(mailboxes(msg["From"]) == expected_mailboxes([want["from"]]),
          "From %r" % mailboxes(msg["From"]))
    check(mailboxes(msg["To"]) == expected_mailboxes(want["to"]), "To %r" % mailboxes(msg["To"]))
    check(mailboxes(msg["Cc"]) == expected_mailboxes(want["cc"]), "Cc %r" % mailboxes(msg["Cc"]))
    check(mailboxes(msg["Reply-To"]) == expected_mailboxes([want["reply_to"]]), "Reply-To")
    check(msg["Message-ID"] == want["message_id"], "Message-ID")
    check(msg["Date"].datetime.isoformat() == "2026-11-23T10:37:00+00:00", "Date " + msg["Date"])
    check(msg["MIME-Version"] == "1.0", "MIME-Version")
    check(msg.get_all("Bcc") is None, "Bcc present")
    for name, value in want["headers"]:
        check(str(msg[name]) == value, "%s: %r" % (name, str(msg[name])))

    # Attachments: filename, type and exact bytes.
    for part, attachment in zip(parts[1:], want["attachments"]):
        check(part.get_content_disposition() == "attachment", "disposition")
        check(part.get_filename() == attachment["filename"],
              "filename %r" % part.get_filename())
        check(part["Content-Transfer-Encoding"] == "base64", "attachment encoding")
        check(part.get_payload(decode=True) == bytes.fromhex(attachment["content_hex"]),
              "content of " + attachment["filename"])

    print("check_compose: ok (%d octets, %d parts)" % (len(raw), len(list(msg.walk()))))


if __name__ == "__main__":
    main()
