// The messages the load generator sends and what the sink reads back from them: build_message
// writes an RFC 5322 message of an exact size with a unique Message-ID; find_message_id and
// recipient_domain are the sink's parsers for counting distinct messages and domains.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mta::loadgen {

struct MessageSpec {
  std::uint64_t index = 0;  // unique within the run: the Message-ID is <index.tag@bench.outpost>
  std::string_view tag;     // the run's tag, so two runs into one sink stay distinct
  std::string_view from;
  std::string_view to;    // the first recipient, for the To header
  std::string_view date;  // an RFC 5322 date-time, computed once per run
  std::uint64_t size_bytes = 0;
};

// Replaces `out` with the message: header fields, a blank line, then 78-column lines of
// text up to exactly size_bytes (CRLF line ends, a final CRLF). When size_bytes is smaller
// than the header block plus one empty body line, the message is that minimum instead.
// No body line starts with '.', so dot-stuffing does not change the size on the wire.
void build_message(const MessageSpec& spec, std::string& out);

// The value of the first `name` field of the header block (up to the first empty line),
// without surrounding whitespace; nullopt when absent or empty. The field name is matched
// case-insensitively (RFC 5322 §1.2.2); a folded value is returned up to its first fold.
std::optional<std::string_view> find_header(std::string_view message, std::string_view name);
inline std::optional<std::string_view> find_message_id(std::string_view message) {
  return find_header(message, "message-id");
}

// The domain of an address ("user@Example.COM" -> "example.com", lowercased); "" when the
// address has no '@'.
std::string recipient_domain(std::string_view address);

}  // namespace mta::loadgen
