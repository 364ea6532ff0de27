// Fuzzes Session over a MemoryMaildrop with a whole client conversation. The first byte picks
// options (STLS offered, plaintext login allowed, TLS "succeeds", small limits, maildrop locked
// elsewhere, commit and read failures, implicit TLS), the second the read size (low 6 bits) and
// the write size (high 2 bits); the rest is client input fed in pieces. Logins succeed for users
// starting with "a" and are refused (a locked-out address) for users starting with "r". Checks: no
// crash; held memory stays within fixed bounds; after each drain the output ends at a line end; the
// maildrop is unlocked at the end and has lost exactly the messages that a QUIT reported deleted.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/assert.h"
#include "proto/pop3/memory_maildrop.h"
#include "proto/pop3/session.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[0];
  const std::size_t read_bytes = 1 + data[1] % 64;
  static constexpr std::size_t kWrites[] = {1 << 20, 1, 7, 100};
  const std::size_t write_bytes = kWrites[data[1] >> 6];
  std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

  mta::pop3::MemoryMailbox mailbox;
  mailbox.messages = {
      {"uid-1", "Subject: one\r\n\r\nbody\r\n.dot\r\n"},
      {"uid-2", ".\r\n..\r\n"},
      {"uid-3", "Subject: no body"},
      {"uid-4", ""},
      {"uid-5", "A: b\r\n\r\n\r\n.\r\nx\r\n"},
  };
  const std::size_t initial = mailbox.messages.size();
  const bool prelocked = (flags & 16) != 0;
  mailbox.locked = prelocked;
  mailbox.fail_commit = (flags & 32) != 0;
  mailbox.fail_reads = (flags & 64) != 0;

  mta::pop3::SessionOptions options;
  options.hostname = "fuzz.test";
  options.apop_banner = "<1.2@fuzz.test>";
  options.stls = (flags & 1) != 0;
  options.plaintext_auth_allowed = (flags & 2) != 0;
  options.tls = (flags & 128) != 0;
  const bool tls_succeeds = (flags & 4) != 0;
  if (flags & 8) {
    options.limits.command_line_bytes_max = 32;
    options.limits.pending_input_bytes_max = 16;
    options.limits.output_chunk_bytes = 3;
    options.limits.errors_max = 3;
    options.limits.auth_failures_max = 1;
  }
  const mta::pop3::SessionLimits& limits = options.limits;
  // Replies are at most about 40 octets per octet of command line (CAPA, LIST), plus one
  // chunk of a message and a few reply lines.
  const std::size_t output_max =
      64 * (read_bytes + limits.pending_input_bytes_max) + limits.output_chunk_bytes + 512;
  const std::size_t held_max =
      limits.command_line_bytes_max + limits.pending_input_bytes_max + output_max;

  std::size_t reported_deleted = 0;
  bool ended_seen = false;
  {
    mta::pop3::Session session(options);
    bool output_ends_line = true;
    const auto drain = [&] {
      for (;;) {
        bool progressed = false;
        while (std::optional<mta::pop3::Event> event = session.next_event()) {
          progressed = true;
          if (const auto* auth = std::get_if<mta::pop3::AuthRequested>(&*event)) {
            MTA_ASSERT(session.awaiting_auth());
            MTA_ASSERT(auth->user.find_first_of(std::string_view("\r\n\0", 3)) ==
                       std::string::npos);
            if (auth->user.starts_with("r")) {
              session.refuse_auth();  // a locked-out address: -ERR [SYS/TEMP]
            } else {
              session.complete_auth(auth->user.starts_with("a")
                                        ? std::make_unique<mta::pop3::MemoryMaildrop>(mailbox)
                                        : nullptr);
            }
          } else if (std::holds_alternative<mta::pop3::StartTlsRequested>(*event)) {
            MTA_ASSERT(options.stls && !session.tls());
            if (tls_succeeds) session.tls_started();
          } else {
            const auto& ended = std::get<mta::pop3::SessionEnded>(*event);
            MTA_ASSERT(!ended_seen);
            MTA_ASSERT(session.ended());
            ended_seen = true;
            reported_deleted = ended.messages_deleted;
          }
        }
        const std::string_view out = session.bytes_to_send();
        if (!out.empty()) {
          progressed = true;
          const std::size_t count = std::min(write_bytes, out.size());
          output_ends_line = out[count - 1] == '\n';
          session.on_sent(count);
        }
        if (!progressed) return;
      }
    };
    drain();
    while (!input.empty()) {
      const std::size_t n = std::min(read_bytes, input.size());
      session.on_bytes(input.substr(0, n));
      input.remove_prefix(n);
      MTA_ASSERT(session.buffered_bytes() <= held_max);
      MTA_ASSERT(session.bytes_to_send().size() <= output_max);
      drain();
      MTA_ASSERT(output_ends_line);
    }
  }
  MTA_ASSERT(mailbox.locked == prelocked);
  MTA_ASSERT(mailbox.messages.size() == initial - reported_deleted);
  return 0;
}
