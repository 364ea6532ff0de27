// DataReader: reads one message body, either a DATA body (RFC 5321 §4.1.1.4, §4.5.2) from a
// byte stream split anywhere, removing dot-stuffing and stopping after the end-of-data line, or
// the chunks of a BDAT transaction (RFC 3030) taken as raw octets. Either way the body comes
// out CRLF-only, repairing bare LF and bare CR line ends, within the message size and text line
// limits and without ever holding more than message_bytes_max; what happens after a limit is
// broken (the reply) is the server session's business.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mta::smtp {

enum class DataOutcome {
  reading,        // the end-of-data line (or the LAST chunk) has not arrived yet
  ok,             // a complete body within the limits
  too_large,      // the body exceeded message_bytes_max; it was discarded as it arrived
  line_too_long,  // a line exceeded text_line_bytes_max; the body is not to be delivered
};

// How the body arrives; fixed for the reader's life.
enum class BodyFraming {
  data,    // after DATA's 354: dot-stuffed lines up to CRLF "." CRLF
  chunks,  // BDAT chunks: exactly the octets sent, no dots, the end is the LAST chunk
};

// One use per DATA command or per BDAT transaction: construct, feed() (DATA) or
// feed_chunk()... finish_chunks() (BDAT) until done(), then take_body().
//
// Line ends (the SMTP smuggling class, CVE-2023-51766): only CRLF ends a line as the client
// meant it. A bare LF, or a CR not followed by LF, is repaired into CRLF in the body and
// counted, but never ends the message: DATA ends only at CRLF "." CRLF (its first line counts
// as following the DATA line's CRLF). In DATA, a line that starts after a repaired line end
// is taken literally (no dot is removed from it), so "x\n.\n" is the two lines "x" and ".", and
// a "." line that ends in a bare line end (".\n", ".\rx") stays a "." line; the outbound
// client dot-stuffs such lines again. So "x\n.\r\n" has not ended either: such a client waits
// for a CRLF "." CRLF or the caller's timeout (as with Postfix's smtpd_forbid_bare_newline =
// normalize). A CR at the end of a piece waits for the next byte. A line starting with "."
// after CRLF has that dot removed ("..x" -> ".x").
//
// Limits: the size is that of the body as held (after unstuffing and repair). A line's length
// counts its octets as received, a stuffed dot included, with its line end counted as the two
// octets of the CRLF it becomes, against text_line_bytes_max (so the body never holds a longer
// line), for DATA and BDAT alike, since BINARYMIME is not offered.
class DataReader {
 public:
  DataReader(BodyFraming framing, std::size_t message_bytes_max, std::size_t text_line_bytes_max);

  // DATA: consumes bytes up to and including the end-of-data line and returns how many it
  // took; bytes after the terminator (pipelined commands) are left to the caller.
  std::size_t feed(std::string_view bytes);
  // BDAT: all octets of (part of) a chunk. The caller counts the chunk's size.
  void feed_chunk(std::string_view octets);
  // BDAT LAST has been read whole: a CR held at the end becomes CRLF, and a last line without a
  // line end gets CRLF (not counted as a repair), so that every body ends with a line end.
  void finish_chunks();

  bool done() const { return outcome_ != DataOutcome::reading; }
  // While reading, the limit broken so far, if any; after done(), the final outcome.
  DataOutcome outcome() const;
  // Bytes of body held right now (never above message_bytes_max).
  std::size_t body_bytes() const { return body_.size(); }
  // Bare LF and bare CR line ends turned into CRLF so far.
  std::size_t bare_line_endings_repaired() const { return repaired_; }
  // The body, CRLF-only; empty unless outcome() is ok.
  std::string take_body();

 private:
  enum class State {
    line_start,  // DATA: after CRLF, where "." may stuff or end
    dot,         // DATA: "." at line_start
    dot_cr,      // DATA: "." CR at line_start
    in_line,     // inside a line (or at the start of a literal one)
    cr,          // a CR whose next byte decides between CRLF and a bare CR
  };

  std::size_t scan(std::string_view bytes);
  void append(std::string_view text);
  void end_line(bool repaired);
  void count(std::size_t received_bytes);
  void finish();

  BodyFraming framing_;
  std::size_t message_bytes_max_;
  std::size_t text_line_bytes_max_;
  State state_;
  std::size_t line_bytes_ = 0;  // bytes of the current line as received, dot and CR included
  std::size_t repaired_ = 0;
  bool too_large_ = false;
  bool line_too_long_ = false;
  DataOutcome outcome_ = DataOutcome::reading;
  std::string body_;
};

}  // namespace mta::smtp
