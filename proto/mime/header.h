// RFC 5322 message-format helpers shared by the DSN builder and by anything that writes or
// inspects header fields: the header block of a message, the date-time format, and folding of
// over-long lines. Pure functions over bytes; the caller supplies every time value.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/clock.h"

namespace mta::mime {

// RFC 5322 §2.1.1: a line is at most 998 octets, excluding CRLF, and SHOULD be at most 78.
inline constexpr std::size_t kLineBytesMax = 998;
inline constexpr std::size_t kLineBytesPreferred = 78;

// The header block of an RFC 5322 message: everything up to and including the first empty
// line (CRLF or bare LF endings, mixed freely); the whole input if there is no empty line.
// Bounded: never longer than `bytes_max`. When the block does not fit, it is cut after the
// last complete line that fits (or at `bytes_max` if not even one line fits), so a truncated
// block has no empty line at its end.
std::string_view header_block(std::string_view message, std::size_t bytes_max = 64 * 1024);

// RFC 5322 §3.3 date-time in UTC, e.g. "Mon, 23 Nov 2026 10:37:45 +0000". Sub-second parts
// are dropped (rounded toward the past).
std::string rfc5322_date(Clock::WallTime time);

// Appends `line` (no CR or LF in it) to `out` as one or more CRLF-terminated physical lines.
// Folds (RFC 5322 §2.2.3) by breaking before a space or tab so that lines stay within
// `width` octets where the text allows it; such a break never leaves a whitespace-only line.
// A run with no whitespace longer than kLineBytesMax is cut hard and the continuation line
// starts with an inserted space, so no physical line ever exceeds kLineBytesMax. Unfolding
// (removing the CRLFs) gives back `line`, plus one space per hard cut.
void append_folded(std::string& out, std::string_view line,
                   std::size_t width = kLineBytesPreferred);

}  // namespace mta::mime
