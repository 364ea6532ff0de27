// DataReader: a five-state machine over body bytes (line start, ".", ".\r", inside a line, CR).
// Inside a line it jumps to the next LF with memchr, looks for a CR only before it, and copies
// a whole CRLF-terminated run at once, so the per-byte cost is paid only at line starts and
// at bare line ends. Limits turn into flags; reading always continues to the end of the body
// so that the session stays in step with the client (RFC 5321 §4.2.5, RFC 3030 §2: the reply
// comes after the end of data or of the chunk).
#include "proto/smtp/data_reader.h"

#include <algorithm>
#include <cstring>

#include "base/assert.h"

namespace mta::smtp {

DataReader::DataReader(BodyFraming framing, std::size_t message_bytes_max,
                       std::size_t text_line_bytes_max)
    : framing_(framing),
      message_bytes_max_(message_bytes_max),
      text_line_bytes_max_(text_line_bytes_max),
      state_(framing == BodyFraming::data ? State::line_start : State::in_line) {}

DataOutcome DataReader::outcome() const {
  if (outcome_ != DataOutcome::reading) {
    return outcome_;
  }
  if (too_large_) {
    return DataOutcome::too_large;
  }
  if (line_too_long_) {
    return DataOutcome::line_too_long;
  }
  return DataOutcome::reading;
}

std::string DataReader::take_body() {
  MTA_ASSERT(done());
  return std::move(body_);
}

void DataReader::append(std::string_view text) {
  if (too_large_ || line_too_long_ || text.empty()) {
    return;  // nothing will be delivered
  }
  const std::size_t needed = body_.size() + text.size();
  if (needed > message_bytes_max_) {
    too_large_ = true;
    std::string().swap(body_);  // give the memory back now, not at the end of data
    return;
  }
  if (needed > body_.capacity()) {
    // Grow geometrically but never beyond the limit, so memory stays below message_bytes_max.
    body_.reserve(std::min(message_bytes_max_, std::max(needed, 2 * body_.capacity())));
  }
  body_.append(text);
}

void DataReader::count(std::size_t received_bytes) {
  line_bytes_ += received_bytes;
  if (line_bytes_ > text_line_bytes_max_ && !line_too_long_) {
    line_too_long_ = true;
    std::string().swap(body_);
  }
}

// Ends the current line in the body with CRLF; `repaired` when the client sent a bare LF or CR.
void DataReader::end_line(bool repaired) {
  append("\r\n");
  if (repaired) {
    ++repaired_;
  }
  line_bytes_ = 0;
}

void DataReader::finish() {
  outcome_ = outcome() == DataOutcome::reading ? DataOutcome::ok : outcome();
}

std::size_t DataReader::feed(std::string_view bytes) {
  MTA_ASSERT(framing_ == BodyFraming::data);
  return scan(bytes);
}

void DataReader::feed_chunk(std::string_view octets) {
  MTA_ASSERT(framing_ == BodyFraming::chunks);
  MTA_ASSERT(!done());
  const std::size_t used = scan(octets);
  MTA_ASSERT(used == octets.size());  // only finish_chunks() ends a chunked body
}

void DataReader::finish_chunks() {
  MTA_ASSERT(framing_ == BodyFraming::chunks);
  MTA_ASSERT(!done());
  if (state_ == State::cr) {
    count(1);
    end_line(/*repaired=*/true);
  } else if (line_bytes_ > 0) {
    count(2);
    end_line(/*repaired=*/false);
  }
  finish();
}

std::size_t DataReader::scan(std::string_view bytes) {
  const State after_crlf = framing_ == BodyFraming::data ? State::line_start : State::in_line;
  std::size_t i = 0;
  while (i < bytes.size() && outcome_ == DataOutcome::reading) {
    const char c = bytes[i];
    switch (state_) {
      case State::line_start:
        if (c == '.') {
          count(1);
          state_ = State::dot;
          ++i;
        } else {
          state_ = State::in_line;
        }
        break;
      case State::dot:
        if (c == '\r') {
          count(1);
          state_ = State::dot_cr;
          ++i;
        } else if (c == '\n') {  // ".\n" is a "." line, never the end
          count(2);
          ++i;
          append(".");
          end_line(/*repaired=*/true);
          state_ = State::in_line;
        } else {
          state_ = State::in_line;  // the stuffed dot is dropped; c is ordinary text
        }
        break;
      case State::dot_cr:
        if (c == '\n') {  // CRLF "." CRLF
          ++i;
          finish();
        } else {  // ".\r" then c: a "." line with a bare CR; c starts a literal line
          count(1);
          append(".");
          end_line(/*repaired=*/true);
          state_ = State::in_line;
        }
        break;
      case State::cr:
        if (c == '\n') {
          count(1);
          ++i;
          end_line(/*repaired=*/false);
          state_ = after_crlf;
        } else {  // c is not consumed: it starts the next (literal) line
          count(1);
          end_line(/*repaired=*/true);
          state_ = State::in_line;
        }
        break;
      case State::in_line: {
        const char* run = bytes.data() + i;
        const std::size_t left = bytes.size() - i;
        const auto* lf = static_cast<const char*>(std::memchr(run, '\n', left));
        const std::size_t lf_at = lf == nullptr ? left : static_cast<std::size_t>(lf - run);
        const auto* cr = static_cast<const char*>(std::memchr(run, '\r', lf_at));
        if (cr == nullptr && lf == nullptr) {  // the line goes on in the next piece
          append(std::string_view(run, left));
          count(left);
          i += left;
        } else if (cr == nullptr) {  // text, then a bare LF
          append(std::string_view(run, lf_at));
          count(lf_at + 2);
          i += lf_at + 1;
          end_line(/*repaired=*/true);
        } else if (cr + 1 == lf) {  // text CRLF, the common case: one copy
          append(std::string_view(run, lf_at + 1));
          count(lf_at + 1);
          i += lf_at + 1;
          line_bytes_ = 0;
          state_ = after_crlf;
        } else {  // text, then a CR whose next byte may be in the next piece
          const auto cr_at = static_cast<std::size_t>(cr - run);
          append(std::string_view(run, cr_at));
          count(cr_at + 1);
          i += cr_at + 1;
          state_ = State::cr;
        }
        break;
      }
    }
  }
  return i;
}

}  // namespace mta::smtp
