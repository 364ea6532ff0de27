// The DATA encoder. It copies runs of ordinary bytes in one go and only stops at CR, LF and at
// a '.' that starts a line, so a 4 KiB message costs one append per line.
#include "proto/smtp/dot_stuffing.h"

#include <cstring>

namespace mta::smtp {

void append_dot_stuffed(std::string_view message, std::string& out) {
  // Worst case growth is one byte per line end or dot; reserve for the common case only.
  out.reserve(out.size() + message.size() + message.size() / 64 + 5);
  bool line_start = true;
  std::size_t pos = 0;
  const std::size_t size = message.size();
  while (pos < size) {
    if (line_start && message[pos] == '.') out += '.';
    // The run of bytes up to the next CR or LF. memchr is vectorized; looking for CR only up
    // to the next LF keeps the whole scan linear even when a message has no CR at all.
    const char* run = message.data() + pos;
    const auto* lf = static_cast<const char*>(std::memchr(run, '\n', size - pos));
    std::size_t lf_pos = lf == nullptr ? size : static_cast<std::size_t>(lf - message.data());
    const auto* cr = static_cast<const char*>(std::memchr(run, '\r', lf_pos - pos));
    std::size_t end = cr == nullptr ? lf_pos : static_cast<std::size_t>(cr - message.data());
    out.append(message.data() + pos, end - pos);
    if (end == size) {
      pos = end;
      line_start = false;
      break;
    }
    // CRLF, bare CR and bare LF all end the line with CRLF.
    out += "\r\n";
    if (message[end] == '\r' && end + 1 < size && message[end + 1] == '\n') {
      pos = end + 2;
    } else {
      pos = end + 1;
    }
    line_start = true;
  }
  if (!line_start) out += "\r\n";
  out += ".\r\n";
}

}  // namespace mta::smtp
