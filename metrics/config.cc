#include "metrics/config.h"

namespace mta::metrics {

Result<void> parse_log(config::Table& section, LogConfig& out) {
  std::string level = "info";
  CONFIG_TRY(section.string("level", level));
  CONFIG_TRY(section.string("delivery_log", out.delivery_log));
  if (!log::parse_level(level, out.level)) {
    return section.error("level",
                         "must be debug, info, notice, warning or error, not \"" + level + "\"");
  }
  return section.no_unknown_keys();
}

Result<void> parse_metrics(config::Table& section, MetricsConfig& out) {
  CONFIG_TRY(section.string_list("listen", out.listen));
  CONFIG_TRY(section.integer("destinations_max", out.destinations_max, 1, 10'000));
  return section.no_unknown_keys();
}

}  // namespace mta::metrics
