// Fuzzes CommandReader and parse_command with a client byte stream. The first byte picks the
// read size, small or default limits and whether the client has logged in. Checks: no crash;
// the reader never holds more than its limits allow (before login, never the octets of a
// literal other than LOGIN's); every framed command either parses or fails with a one-line
// BAD text; a parsed command's tag is what command_tag() finds, and parsing is deterministic.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/assert.h"
#include "proto/imap/command.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t read_bytes = 1 + data[0] % 64;
  mta::imap::CommandLimits limits;
  if (data[0] & 64) {
    limits.line_bytes_max = 64;
    limits.literal_bytes_max = 32;
    limits.append_bytes_max = 128;
    limits.nesting_max = 4;
    limits.arguments_max = 16;
  }
  const bool line_mode = (data[0] & 128) != 0;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  mta::imap::CommandReader reader(limits);
  reader.set_line_mode(line_mode);
  // Bit 5 (also part of the read size): the client has logged in; else the preauth_* limits.
  const bool authenticated = (data[0] & 32) != 0;
  reader.set_authenticated(authenticated);
  const std::size_t held_max =
      authenticated ? limits.line_bytes_max + limits.append_bytes_max + 2
                    : std::min(limits.line_bytes_max, limits.preauth_line_bytes_max) +
                          limits.preauth_literal_bytes_max + 2;
  while (!input.empty()) {
    std::string_view piece = input.substr(0, std::min(read_bytes, input.size()));
    input.remove_prefix(piece.size());
    while (!piece.empty()) {
      const std::size_t used = reader.feed(piece);
      MTA_ASSERT(used <= piece.size());
      piece.remove_prefix(used);
      MTA_ASSERT(reader.buffered_bytes() <= held_max);
      std::optional<mta::imap::ReaderEvent> event = reader.take();
      if (!event) {
        MTA_ASSERT(piece.empty());
        continue;
      }
      if (auto* complete = std::get_if<mta::imap::CommandComplete>(&*event)) {
        const mta::Result<mta::imap::Command> parsed =
            mta::imap::parse_command(complete->text, limits);
        const mta::Result<mta::imap::Command> again =
            mta::imap::parse_command(complete->text, limits);
        MTA_ASSERT(parsed.has_value() == again.has_value());
        if (parsed) {
          MTA_ASSERT(*parsed == *again);
          MTA_ASSERT(parsed->tag == mta::imap::command_tag(complete->text));
          MTA_ASSERT(parsed->search.size() <= limits.arguments_max);
        } else {
          const std::string& detail = parsed.error().detail;
          MTA_ASSERT(!detail.empty());
          MTA_ASSERT(detail.find_first_of("\r\n") == std::string::npos);
        }
      } else if (auto* refused = std::get_if<mta::imap::CommandRefused>(&*event)) {
        MTA_ASSERT(!refused->tag.empty());
        MTA_ASSERT(!refused->close || !authenticated);
        MTA_ASSERT(refused->tag.find_first_of(" \r\n") == std::string::npos);
      }
    }
  }
  return 0;
}
