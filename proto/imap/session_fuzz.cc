// Fuzzes Session over a MemoryBackend holding a few messages (plain, multipart, DSN, nested
// message/rfc822). The first byte picks the read size and options (TLS, STARTTLS, small
// limits); the rest is client input. Logins fail, succeed or are refused (a locked-out
// address) when the password's length is 0, 1 or 2 mod 3; a
// STARTTLS "handshake" succeeds. A second session on the same backend polls and runs NOOP
// between reads, so cross-session updates run too. Checks: no crash (MTA_ASSERT inside), held
// memory and unsent output stay within fixed bounds, output always ends in CRLF.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/assert.h"
#include "proto/imap/memory_backend.h"
#include "proto/imap/session.h"

namespace {

constexpr std::string_view kMessages[] = {
    "From: a@b.example\r\nTo: c@d.example\r\nSubject: hi\r\nDate: 1 Jan 2024 00:00:00 +0000\r\n"
    "\r\nhello\r\n",
    "From: =?UTF-8?Q?J=C3=BCrgen?= <j@x.example>\r\nContent-Type: multipart/alternative; "
    "boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n"
    "\r\naGVsbG8=\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--b--\r\n",
    "From: MAILER-DAEMON@x.example\r\nContent-Type: multipart/report; "
    "report-type=delivery-status; boundary=r\r\n\r\n--r\r\n\r\nfailed\r\n--r\r\nContent-Type: "
    "message/delivery-status\r\n\r\nStatus: 5.1.1\r\n--r\r\nContent-Type: message/rfc822\r\n\r\n"
    "Subject: inner\r\n\r\nbody\r\n--r--\r\n",
};

void drain(mta::imap::Session& session, std::size_t output_max) {
  for (int round = 0; round < 64; ++round) {
    bool progress = false;
    while (std::optional<mta::imap::SessionEvent> event = session.next_event()) {
      progress = true;
      if (const auto* auth = std::get_if<mta::imap::AuthRequested>(&*event)) {
        MTA_ASSERT(session.awaiting_decision());
        // Success, a failure, or a locked-out address (NO [UNAVAILABLE]).
        if (auth->password.size() % 3 == 2) {
          session.refuse_auth();
        } else {
          session.complete_auth(auth->password.size() % 3 == 1);
        }
      } else if (std::holds_alternative<mta::imap::StartTlsRequested>(*event)) {
        session.tls_started();
      } else {
        MTA_ASSERT(session.ended());
      }
    }
    const std::string_view out = session.bytes_to_send();
    MTA_ASSERT(out.size() <= output_max);
    if (!out.empty()) {
      MTA_ASSERT(out.ends_with("\r\n"));  // responses are queued whole
      progress = true;
      session.on_sent(out.size());
    }
    if (!progress) break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t flags = data[0];
  const std::size_t read_bytes = 1 + (flags & 63);
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  mta::imap::MemoryBackend backend;
  for (std::string_view message : kMessages) {
    (void)backend.append("INBOX", {}, 1700000000, message);
  }
  (void)backend.create_folder("Archive");
  mta::imap::SessionOptions options;
  options.hostname = "fuzz.test";
  options.tls = (flags & 64) != 0;
  options.starttls = (flags & 128) != 0;
  options.plaintext_login = true;
  options.limits.command.line_bytes_max = 4096;
  options.limits.command.literal_bytes_max = 1024;
  options.limits.command.append_bytes_max = 8192;
  options.limits.command.arguments_max = 256;
  options.limits.pending_input_bytes_max = 4096;
  options.limits.output_bytes_soft_max = 16384;
  options.limits.errors_max = 100;
  mta::imap::Session session(options, backend);
  mta::imap::Session observer(options, backend);
  observer.on_bytes("o LOGIN u p\r\no SELECT INBOX\r\n");
  // Responses are a small multiple of the command and the folder size; one message's
  // response is at most a few copies of it (BODY[] and RFC822 of the largest message).
  const std::size_t output_max = options.limits.output_bytes_soft_max + 256 * 1024;
  drain(observer, output_max);
  while (!input.empty()) {
    const std::size_t n = std::min(read_bytes, input.size());
    session.on_bytes(input.substr(0, n));
    input.remove_prefix(n);
    drain(session, output_max);
    MTA_ASSERT(session.buffered_bytes() <= options.limits.command.line_bytes_max +
                                               options.limits.command.append_bytes_max +
                                               options.limits.pending_input_bytes_max + output_max);
    observer.poll();
    observer.on_bytes("o NOOP\r\n");
    drain(observer, output_max);
  }
  return 0;
}
