// UTF-8 well-formedness (RFC 3629). The exposition format requires label values and help text
// to be UTF-8; values that come from peers (destination domains) are checked before they are
// admitted, and the renderer replaces any ill-formed byte it still meets with U+FFFD.
#pragma once

#include <cstddef>
#include <string_view>

namespace mta::metrics {

// Length of the well-formed UTF-8 sequence starting at bytes[at], or 0 if it is ill-formed
// (overlong, surrogate, past U+10FFFF, truncated). at must be below bytes.size().
std::size_t utf8_sequence_length(std::string_view bytes, std::size_t at);

bool valid_utf8(std::string_view bytes);

}  // namespace mta::metrics
