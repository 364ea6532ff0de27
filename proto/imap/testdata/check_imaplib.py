#!/usr/bin/env python3
"""Drives imap_stdio_example with Python's imaplib (an independent client implementation)
and checks what it parses: capabilities, LOGIN, SELECT, SEARCH, FETCH (BODY.PEEK[], ENVELOPE,
BODYSTRUCTURE, FLAGS), STORE, COPY with COPYUID, APPEND with APPENDUID, EXPUNGE, LIST, STATUS,
IDLE by hand, and LOGOUT. Usage: check_imaplib.py path/to/imap_stdio_example"""
import email
import imaplib
import sys

binary = sys.argv[1]
m = imaplib.IMAP4_stream(binary)
assert "IMAP4REV1" in m.capabilities, m.capabilities
assert "UIDPLUS" in m.capabilities and "IDLE" in m.capabilities, m.capabilities

try:
    m.login("bounces", "wrong")
    raise SystemExit("login with a wrong password succeeded")
except imaplib.IMAP4.error:
    pass
typ, data = m.login("bounces", "secret")
assert typ == "OK", (typ, data)

typ, data = m.list()
assert typ == "OK" and any(b'"/" INBOX' in line for line in data), data
typ, data = m.select("INBOX")
assert typ == "OK" and data == [b"2"], (typ, data)

typ, data = m.search(None, "FROM", "MAILER-DAEMON")
assert data == [b"1"], data
typ, data = m.uid("SEARCH", "CHARSET", "UTF-8", "BODY", "unsubscribe")
assert data == [b"2"], data
typ, data = m.search("UTF-8", "FROM", '"J\u00fcrgen"'.encode())
assert data == [b"2"], data

typ, data = m.fetch("1", "(BODY.PEEK[])")
msg = email.message_from_bytes(data[0][1])
assert msg.get_content_type() == "multipart/report", msg.get_content_type()
parts = [p.get_content_type() for p in msg.walk()]
# (Python parses each delivery-status block as a further part.)
assert parts[:3] == ["multipart/report", "text/plain", "message/delivery-status"], parts

typ, data = m.fetch("1:2", "(UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)")
assert typ == "OK" and len(data) == 2, data
assert b'"MESSAGE" "DELIVERY-STATUS"' in data[0] and b'"REPORT"' in data[0], data[0]
assert b"(\\Recent)" in data[0], data[0]

typ, data = m.fetch("2", "(BODY[HEADER.FIELDS (SUBJECT)])")
assert data[0][1] == b"Subject: Re: news\r\n\r\n", data
typ, data = m.fetch("2", "(FLAGS)")
assert b"\\Seen" in data[0], data

typ, data = m.create("Processed")
assert typ == "OK", data
typ, data = m.copy("1", "Processed")
assert typ == "OK" and data[0].startswith(b"[COPYUID "), data
typ, data = m.status("Processed", "(MESSAGES UIDNEXT)")
assert data == [b"Processed (MESSAGES 1 UIDNEXT 2)"], data

typ, data = m.append("Processed", "(\\Seen)", imaplib.Time2Internaldate(1700000000),
                     b"Subject: appended\r\n\r\nbody\r\n")
assert typ == "OK" and data[0].startswith(b"[APPENDUID "), data

typ, data = m.store("1", "+FLAGS", "(\\Deleted)")
assert typ == "OK" and b"\\Deleted" in data[0], data
typ, data = m.expunge()
assert typ == "OK" and data == [b"1"], data
typ, data = m.search(None, "ALL")
assert data == [b"1"], data

# IDLE by hand (imaplib gains idle() only in Python 3.14).
tag = m._new_tag()
m.send(tag + b" IDLE\r\n")
assert m.readline().startswith(b"+ idling"), "no IDLE continuation"
m.send(b"DONE\r\n")
line = m.readline()
assert line.startswith(tag + b" OK"), line

typ, data = m.logout()
assert typ == "BYE", (typ, data)
print("imaplib check passed")
