// Text form of ids.
#include "base/strong_id.h"

namespace mta {

std::string to_hex(MessageId id) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(16, '0');
  std::uint64_t v = id.value();
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = digits[v & 0xfU];
    v >>= 4U;
  }
  return out;
}

}  // namespace mta
