// UTF-8 well-formedness per RFC 3629, written out byte by byte so it needs no locale.
#include "metrics/utf8.h"

#include "base/assert.h"

namespace mta::metrics {

std::size_t utf8_sequence_length(std::string_view bytes, std::size_t at) {
  // RFC 3629 section 4:
  //   UTF8-1 = %x00-7F
  //   UTF8-2 = %xC2-DF UTF8-tail
  //   UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
  //            %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
  //   UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
  //            %xF4 %x80-8F 2( UTF8-tail )
  //   UTF8-tail = %x80-BF
  MTA_ASSERT(at < bytes.size());
  const auto in = [&](std::size_t i, unsigned char low, unsigned char high) {
    if (i >= bytes.size()) return false;
    const auto c = static_cast<unsigned char>(bytes[i]);
    return c >= low && c <= high;
  };
  const auto c = static_cast<unsigned char>(bytes[at]);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return in(at + 1, 0x80, 0xBF) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    const unsigned char low = c == 0xE0 ? 0xA0 : 0x80;
    const unsigned char high = c == 0xED ? 0x9F : 0xBF;
    return in(at + 1, low, high) && in(at + 2, 0x80, 0xBF) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned char low = c == 0xF0 ? 0x90 : 0x80;
    const unsigned char high = c == 0xF4 ? 0x8F : 0xBF;
    return in(at + 1, low, high) && in(at + 2, 0x80, 0xBF) && in(at + 3, 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

bool valid_utf8(std::string_view bytes) {
  for (std::size_t at = 0; at < bytes.size();) {
    const std::size_t length = utf8_sequence_length(bytes, at);
    if (length == 0) return false;
    at += length;
  }
  return true;
}

}  // namespace mta::metrics
