// Serves one IMAP session over stdin/stdout against a MemoryBackend holding two sample
// bounces, so real clients can talk to the core without the engine: Python's
// imaplib.IMAP4_stream runs it as a subprocess (ctest imap_python_check,
// testdata/check_imaplib.py), and `socat TCP-LISTEN:1143,reuseaddr EXEC:./imap_stdio_example`
// serves curl or mbsync. User "bounces", password "secret". Blocking I/O is fine here: this is a
// test tool.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>

#include "proto/imap/memory_backend.h"
#include "proto/imap/session.h"

namespace {

constexpr std::string_view kBounce =
    "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
    "To: bounces+4f2a=example.com@outpost.example\r\n"
    "Subject: Undelivered Mail Returned to Sender\r\n"
    "Date: Tue, 14 Nov 2023 10:00:00 +0100\r\n"
    "Message-ID: <bounce.1@mx.example.net>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n"
    "\r\n"
    "--B\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Your message could not be delivered to rcpt@example.org.\r\n"
    "--B\r\n"
    "Content-Type: message/delivery-status\r\n"
    "\r\n"
    "Reporting-MTA: dns; mx.example.net\r\n"
    "\r\n"
    "Final-Recipient: rfc822; rcpt@example.org\r\n"
    "Action: failed\r\n"
    "Status: 5.1.1\r\n"
    "--B--\r\n";

constexpr std::string_view kReply =
    "From: =?UTF-8?Q?J=C3=BCrgen?= <juergen@example.de>\r\n"
    "To: list@outpost.example\r\n"
    "Subject: Re: news\r\n"
    "Date: 2 Jan 2024 08:30:00 -0500\r\n"
    "\r\n"
    "Please unsubscribe me.\r\n";

bool write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(1, bytes.data(), bytes.size());
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

int main() {
  mta::imap::MemoryBackend backend;
  (void)backend.append("INBOX", {}, 1699956000, kBounce);
  (void)backend.append("INBOX", {}, 1704202200, kReply);
  mta::imap::SessionOptions options;
  options.hostname = "stdio.test";
  options.tls = true;  // as if: the pipe is private
  mta::imap::Session session(options, backend);
  char buffer[65536];
  for (;;) {
    while (std::optional<mta::imap::SessionEvent> event = session.next_event()) {
      if (const auto* auth = std::get_if<mta::imap::AuthRequested>(&*event)) {
        session.complete_auth(auth->user == "bounces" && auth->password == "secret");
      }
    }
    while (!session.bytes_to_send().empty()) {
      const std::string_view out = session.bytes_to_send();
      if (!write_all(out)) return 1;
      session.on_sent(out.size());
    }
    if (session.ended()) return 0;
    const ssize_t n = ::read(0, buffer, sizeof buffer);
    if (n <= 0) return 0;
    session.on_bytes(std::string_view(buffer, static_cast<std::size_t>(n)));
    session.poll();
  }
}
