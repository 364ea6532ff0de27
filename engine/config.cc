#include "engine/config.h"

namespace mta::engine {

Result<void> parse_limit_overrides(config::Table& section, LimitOverrides& out) {
  constexpr std::uint64_t unset = ~std::uint64_t{0};
  constexpr Clock::Duration unset_duration = Clock::Duration::min();
  std::uint64_t per_ip = unset;
  std::uint64_t output = unset;
  Clock::Duration command = unset_duration;
  Clock::Duration write = unset_duration;
  Clock::Duration session = unset_duration;
  CONFIG_TRY(section.integer("connections_per_ip", per_ip, 0, 1'000'000));
  CONFIG_TRY(section.integer("output_buffer_max", output, 4096, std::int64_t{1} << 30));
  CONFIG_TRY(section.duration("command_timeout", command));
  CONFIG_TRY(section.duration("write_timeout", write));
  CONFIG_TRY(section.duration("session_max", session));
  if (per_ip != unset) out.connections_per_ip = per_ip;
  if (output != unset) out.output_buffer_max = output;
  if (command != unset_duration) out.command_timeout = command;
  if (write != unset_duration) out.write_timeout = write;
  if (session != unset_duration) out.session_max = session;
  return {};
}

ListenerLimits resolve_limits(ListenerLimits defaults, const LimitOverrides& common,
                              const LimitOverrides& own) {
  ListenerLimits out = defaults;
  for (const LimitOverrides* set : {&common, &own}) {
    if (set->connections_per_ip) out.connections_per_ip = *set->connections_per_ip;
    if (set->command_timeout) out.command_timeout = *set->command_timeout;
    if (set->write_timeout) out.write_timeout = *set->write_timeout;
    if (set->session_max) out.session_max = *set->session_max;
    if (set->output_buffer_max) out.output_buffer_max = *set->output_buffer_max;
  }
  return out;
}

}  // namespace mta::engine
