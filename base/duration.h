// Durations as people write them in configuration and rule files.
#pragma once

#include <string_view>

#include "base/clock.h"
#include "base/result.h"

namespace mta {

// "250ms", "30s", "5m", "2h", "1d"; a bare integer is seconds. Fails with invalid_argument.
Result<Clock::Duration> parse_duration(std::string_view text);

}  // namespace mta
