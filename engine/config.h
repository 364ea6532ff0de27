// [limits] of the configuration: what every listener allows one client (engine/limits.h), each
// key overridable in a listener's own section ([submission], [http], [bounce], [imap], [pop3]).
// Parsed here through base/config_reader.h; app/ composes the sections.
#pragma once

#include <cstdint>
#include <optional>

#include "base/clock.h"
#include "base/config_reader.h"
#include "base/result.h"
#include "engine/limits.h"

namespace mta::engine {

// Only the keys a section sets; unset keys fall back to the next level (see resolve_limits).
struct LimitOverrides {
  std::optional<std::uint64_t> connections_per_ip;  // 0 = no cap
  std::optional<Clock::Duration> command_timeout;   // 0 = none
  std::optional<Clock::Duration> write_timeout;     // 0 = none
  std::optional<Clock::Duration> session_max;       // 0 = none
  std::optional<std::uint64_t> output_buffer_max;
};

// The [limits] keys of `section` ([limits] itself or a listener's section): only those present
// are set, the others are marked known so the section's no_unknown_keys() accepts them.
Result<void> parse_limit_overrides(config::Table& section, LimitOverrides& out);

// `defaults`, then what [limits] sets, then what the listener's own section sets.
ListenerLimits resolve_limits(ListenerLimits defaults, const LimitOverrides& common,
                              const LimitOverrides& own);

}  // namespace mta::engine
