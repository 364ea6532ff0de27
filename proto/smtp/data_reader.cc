// DataReader: a four-state machine over DATA bytes (line start, ".", ".\r", inside a line).
// Inside a line it jumps to the next LF with memchr and copies whole runs, so the per-byte cost
// is paid only at line starts. Limits turn into flags; reading always continues to the "."
// line so that the session stays in step with the client (RFC 5321 §4.2.5: the reply comes
// after the end of data).
#include "proto/smtp/data_reader.h"

#include <algorithm>
#include <cstring>

#include "base/assert.h"

namespace mta::smtp {

DataReader::DataReader(std::size_t message_bytes_max, std::size_t text_line_bytes_max)
    : message_bytes_max_(message_bytes_max), text_line_bytes_max_(text_line_bytes_max) {}

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

void DataReader::append(std::string_view bytes) {
  if (too_large_ || line_too_long_ || bytes.empty()) {
    return;  // nothing will be delivered
  }
  const std::size_t needed = body_.size() + bytes.size();
  if (needed > message_bytes_max_) {
    too_large_ = true;
    std::string().swap(body_);  // give the memory back now, not at the end of data
    return;
  }
  if (needed > body_.capacity()) {
    // Grow geometrically but never beyond the limit, so memory stays below message_bytes_max.
    body_.reserve(std::min(message_bytes_max_, std::max(needed, 2 * body_.capacity())));
  }
  body_.append(bytes);
}

void DataReader::end_line(std::size_t byte_count) {
  line_bytes_ += byte_count;
  if (line_bytes_ > text_line_bytes_max_ && !line_too_long_) {
    line_too_long_ = true;
    std::string().swap(body_);
  }
}

std::size_t DataReader::feed(std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size() && outcome_ == DataOutcome::reading) {
    const char c = bytes[i];
    switch (state_) {
      case State::line_start:
        line_bytes_ = 0;
        if (c == '.') {
          state_ = State::dot;
          end_line(1);
          ++i;
        } else {
          state_ = State::in_line;
        }
        break;
      case State::dot:
        if (c == '\n') {
          ++i;
          outcome_ = outcome() == DataOutcome::reading ? DataOutcome::ok : outcome();
        } else if (c == '\r') {
          state_ = State::dot_cr;
          end_line(1);
          ++i;
        } else {
          state_ = State::in_line;  // the stuffed dot is dropped; c is ordinary text
        }
        break;
      case State::dot_cr:
        if (c == '\n') {
          ++i;
          outcome_ = outcome() == DataOutcome::reading ? DataOutcome::ok : outcome();
        } else {
          append("\r");  // ".\rx": the dot goes, the bare CR is text
          state_ = State::in_line;
        }
        break;
      case State::in_line: {
        const std::string_view rest = bytes.substr(i);
        const void* lf = std::memchr(rest.data(), '\n', rest.size());
        const std::size_t run =
            lf == nullptr
                ? rest.size()
                : static_cast<std::size_t>(static_cast<const char*>(lf) - rest.data()) + 1;
        append(rest.substr(0, run));
        end_line(run);
        if (lf != nullptr) {
          state_ = State::line_start;
        }
        i += run;
        break;
      }
    }
  }
  return i;
}

}  // namespace mta::smtp
