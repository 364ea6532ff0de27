// Fuzzes ServerSession with a whole client conversation (DATA and BDAT; CHUNKING is offered).
// The first byte picks limits and options, the next the read size (low 6 bits), STARTTLS on
// (bit 7) and whether TLS then "succeeds" (bit 6: never, so everything after is discarded);
// the rest is client input fed in pieces. Output is drained after every read and messages are
// completed as they come (alternating 250 and 451); AUTH (offered after TLS) fails, succeeds or
// is refused as from a locked-out address when the first response's length is 0, 1 or 2 mod 3.
// Checks: no crash, held memory and unsent output stay within fixed bounds, and every message body
// is CRLF-only and ends with CRLF (or is empty).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/assert.h"
#include "proto/smtp/server_session.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[0];
  const std::size_t read_bytes = 1 + data[1] % 64;
  std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

  mta::smtp::ServerOptions options;
  options.hostname = "fuzz.test";
  options.limits.message_bytes_max = (flags & 1) ? 64 : 4096;
  options.limits.text_line_bytes_max = (flags & 2) ? 16 : 1000;
  options.limits.command_line_bytes_max = (flags & 4) ? 32 : 512;
  options.limits.recipients_max = (flags & 8) ? 2 : 100;
  options.limits.errors_max = (flags & 16) ? 3 : 20;
  options.limits.pending_input_bytes_max = (flags & 32) ? 8 : 1024;
  options.enhanced_status_codes = (flags & 64) == 0;
  options.pipelining = (flags & 128) == 0;
  options.starttls = (data[1] & 128) != 0;
  options.auth_mechanisms = {"PLAIN", "LOGIN"};  // offered once TLS "succeeded"
  const bool tls_succeeds = (data[1] & 64) == 0;
  mta::smtp::ServerSession session(options);
  if (flags & 1) {
    session.check_recipient = [](std::string_view to) -> std::optional<std::string> {
      if (to.starts_with("x")) return "550 5.1.1 No";
      return std::nullopt;
    };
    session.check_sender = [](std::string_view from) -> std::optional<std::string> {
      if (from.starts_with("r")) return "451 4.7.1 Sender rate limit exceeded";
      return std::nullopt;
    };
  }

  // Replies are under 200 bytes per command line and a command line is at least one byte;
  // completing a message may answer everything held meanwhile.
  const std::size_t output_max = 200 * (read_bytes + options.limits.pending_input_bytes_max) + 512;
  const std::size_t held_max = options.limits.message_bytes_max +
                               options.limits.command_line_bytes_max +
                               options.limits.pending_input_bytes_max + output_max;
  std::size_t messages = 0;
  bool ended_seen = false;
  while (!input.empty()) {
    const std::size_t n = std::min(read_bytes, input.size());
    session.on_bytes(input.substr(0, n));
    input.remove_prefix(n);
    MTA_ASSERT(session.buffered_bytes() <= held_max);
    while (std::optional<mta::smtp::ServerEvent> event = session.next_event()) {
      if (const auto* message = std::get_if<mta::smtp::MessageReceived>(&*event)) {
        MTA_ASSERT(message->body.size() <= options.limits.message_bytes_max);
        const std::string_view body = message->body;
        MTA_ASSERT(body.empty() || body.ends_with("\r\n"));
        for (std::size_t i = 0; i < body.size(); ++i) {
          if (body[i] == '\r') MTA_ASSERT(i + 1 < body.size() && body[i + 1] == '\n');
          if (body[i] == '\n') MTA_ASSERT(i > 0 && body[i - 1] == '\r');
        }
        MTA_ASSERT(!message->recipients.empty());
        MTA_ASSERT(session.awaiting_decision());
        session.complete_message(++messages % 2 ? "250 2.0.0 Ok: queued" : "451 4.3.0 Error");
      } else if (const auto* auth = std::get_if<mta::smtp::AuthRequested>(&*event)) {
        MTA_ASSERT(session.tls() && !auth->responses.empty());
        MTA_ASSERT(session.awaiting_decision());
        // Success, bad credentials, or a locked-out address (454), by the response's length.
        switch (auth->responses[0].size() % 3) {
          case 0:
            session.complete_auth(std::nullopt);
            break;
          case 1:
            session.complete_auth("u");
            break;
          default:
            session.refuse_auth();
        }
      } else if (std::holds_alternative<mta::smtp::StartTlsRequested>(*event)) {
        MTA_ASSERT(options.starttls && !session.tls());
        if (tls_succeeds) session.tls_started();
      } else {
        MTA_ASSERT(!ended_seen);
        MTA_ASSERT(session.ended());
        ended_seen = true;
      }
    }
    MTA_ASSERT(session.bytes_to_send().size() <= output_max);
    session.on_sent(session.bytes_to_send().size());
  }
  return 0;
}
