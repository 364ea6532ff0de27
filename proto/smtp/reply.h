// SMTP server replies (RFC 5321 §4.2) with RFC 3463 enhanced status codes, and ReplyParser,
// the incremental parser that turns bytes from a server into complete (multi-line) replies.
// The parser buffers at most one partial line; what a reply means is the session's business.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mta::smtp {

// RFC 3463 status code "class.subject.detail", e.g. 4.7.1. class is 2, 4 or 5; subject and
// detail are 1 to 3 digits each.
struct EnhancedCode {
  std::uint8_t klass = 0;
  std::uint16_t subject = 0;
  std::uint16_t detail = 0;

  std::string to_string() const;
  // The whole of `text` must be a code; "2.0.0 Ok" is not (use parse_prefix for that).
  static std::optional<EnhancedCode> parse(std::string_view text);
  // A code at the start of `text`, followed by a space or the end of the text. On success
  // `consumed` is the length of the code plus the one space after it, if any.
  static std::optional<EnhancedCode> parse_prefix(std::string_view text, std::size_t& consumed);

  friend auto operator<=>(const EnhancedCode&, const EnhancedCode&) = default;
  friend bool operator==(const EnhancedCode&, const EnhancedCode&) = default;
};

struct Reply {
  int code = 0;                          // three digits, first one 2..5
  std::optional<EnhancedCode> enhanced;  // from the first line, when present
  // Text after "NNN-"/"NNN " on each line, without the enhanced code on the lines carrying one.
  std::vector<std::string> lines;

  bool positive() const { return code >= 200 && code < 300; }
  bool intermediate() const { return code >= 300 && code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500 && code < 600; }
  std::string text() const;       // lines joined with "; ", for logs and DSNs
  std::string to_string() const;  // one-line summary, e.g. "451 4.3.0 text"

  friend bool operator==(const Reply&, const Reply&) = default;
};

struct ReplyLimits {
  std::size_t line_bytes_max = 4096;  // one line including its CRLF (RFC 5321 asks for 512)
  std::size_t lines_max = 128;        // lines in one multi-line reply
};

// Incremental multi-line reply parser. Feed bytes as they arrive, split anywhere; pop complete
// replies with next(). Accepts "250 text", "250 " and "250" alone, CRLF and bare LF line ends.
// A line over line_bytes_max, a bad code, mixed codes within one reply, or more than lines_max
// lines is an error; the parser then stays failed (replies completed before the error can
// still be popped). Owned by one session; not thread-safe.
class ReplyParser {
 public:
  explicit ReplyParser(ReplyLimits limits = {});

  Result<void> feed(std::string_view bytes);
  std::optional<Reply> next();
  bool failed() const { return failed_.has_value(); }

 private:
  Result<void> fail(Error error);
  Result<void> parse_line(std::string_view line);

  ReplyLimits limits_;
  std::string partial_;  // bytes of an unterminated line, never more than line_bytes_max
  Reply current_;        // the multi-line reply being assembled (code 0 when none)
  std::deque<Reply> ready_;
  std::optional<Error> failed_;
};

}  // namespace mta::smtp
