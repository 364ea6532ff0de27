// Parsing of the values the bench command line takes: byte sizes ("4096", "4k", "100KiB",
// "1M"), durations ("20s", "500ms", "2m", "250us") and counts. Binary multiples throughout:
// a "4 KiB message" is 4096 bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "base/result.h"

namespace mta::loadgen {

// size = 1*DIGIT [ "k" / "K" / "KiB" / "m" / "M" / "MiB" ] ; multiples of 1024
Result<std::uint64_t> parse_bytes(std::string_view text);
// duration = 1*DIGIT [ "." 1*DIGIT ] [ "us" / "ms" / "s" / "m" / "h" / "d" ] ; bare: seconds
// Every value base/duration.h takes (the configuration's "250ms", "30s", "5m", "2h", "1d")
// means the same here; fractions and "us" are the bench's own.
Result<std::chrono::nanoseconds> parse_duration(std::string_view text);
// count = 1*DIGIT
Result<std::uint64_t> parse_count(std::string_view text);

}  // namespace mta::loadgen
