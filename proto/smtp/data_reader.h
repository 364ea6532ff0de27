// DataReader: reads one DATA body (RFC 5321 §4.1.1.4, §4.5.2) from a byte stream split
// anywhere, removes dot-stuffing and stops after the end-of-data line. It enforces the message
// size and text line limits without ever holding more than message_bytes_max of body; what
// happens after a limit is broken (the reply) is the server session's business.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mta::smtp {

enum class DataOutcome {
  reading,        // the end-of-data line has not arrived yet
  ok,             // a complete body within the limits
  too_large,      // the body exceeded message_bytes_max; it was discarded as it arrived
  line_too_long,  // a line exceeded text_line_bytes_max; the body is not to be delivered
};

// One use per DATA command: construct after the 354, feed() until done(), take_body().
// The end of data is a line holding only "." — ".\r\n", or ".\n" since bare LF line ends are
// accepted (they are kept in the body as received and count toward the line length). A line
// starting with "." has that dot removed ("..x" -> ".x", ".\rx" -> "\rx").
class DataReader {
 public:
  DataReader(std::size_t message_bytes_max, std::size_t text_line_bytes_max);

  // Consumes bytes up to and including the end-of-data line and returns how many it took;
  // bytes after the terminator (pipelined commands) are left to the caller.
  std::size_t feed(std::string_view bytes);

  bool done() const { return outcome_ != DataOutcome::reading; }
  // While reading, the limit broken so far, if any; after done(), the final outcome.
  DataOutcome outcome() const;
  // Bytes of body held right now (never above message_bytes_max).
  std::size_t body_bytes() const { return body_.size(); }
  // The dot-unstuffed body with its line ends as received; empty unless outcome() is ok.
  std::string take_body();

 private:
  enum class State { line_start, dot, dot_cr, in_line };

  void append(std::string_view bytes);
  void end_line(std::size_t byte_count);

  std::size_t message_bytes_max_;
  std::size_t text_line_bytes_max_;
  State state_ = State::line_start;
  std::size_t line_bytes_ = 0;  // bytes of the current line as received, dot and CR included
  bool too_large_ = false;
  bool line_too_long_ = false;
  DataOutcome outcome_ = DataOutcome::reading;
  std::string body_;
};

}  // namespace mta::smtp
