// Wall-clock times as RFC 3339 text in UTC, the form every JSON answer and log line uses.
#pragma once

#include <string>

#include "base/clock.h"

namespace mta {

// "2026-12-02T15:00:00Z" (whole seconds, truncated).
std::string rfc3339(Clock::WallTime when);
// "2026-12-02T15:00:00.123Z" (milliseconds, truncated).
std::string rfc3339_millis(Clock::WallTime when);

}  // namespace mta
