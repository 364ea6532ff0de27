// Durations as people write them in configuration and rule files.
#pragma once

#include <string_view>

#include "base/clock.h"
#include "base/result.h"

namespace mta {

// "250ms", "30s", "5m", "2h", "1d"; a bare integer is seconds. Fails with invalid_argument.
Result<Clock::Duration> parse_duration(std::string_view text);

// A command-line option's duration: what parse_duration takes, except that a bare integer is
// in `bare_unit`, the unit the option counted in before it took durations (milliseconds for
// `outpost dns mx --timeout`), so old scripts keep their meaning. Help texts show a unit.
Result<Clock::Duration> parse_duration_option(std::string_view text, Clock::Duration bare_unit);

}  // namespace mta
