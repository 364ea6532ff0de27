// [log] and [metrics] of the configuration: the operator's log level, the JSON-lines delivery
// log (metrics/line_log.h) and the Prometheus endpoint. Parsed here through
// base/config_reader.h; app/ composes the sections.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/config_reader.h"
#include "base/log.h"
#include "base/result.h"

namespace mta::metrics {

// [log]
struct LogConfig {
  log::Level level = log::Level::info;
  // The JSON-lines delivery log: one line per recipient outcome; empty = none. Reopened on
  // SIGHUP (logrotate's postrotate, or `systemctl reload`).
  std::string delivery_log;
};

// [metrics] GET /metrics (Prometheus text format); empty listen = served on the [http] listeners
struct MetricsConfig {
  std::vector<std::string> listen;
  std::uint32_t destinations_max = 50;  // destination label values with own series
};

Result<void> parse_log(config::Table& section, LogConfig& out);
Result<void> parse_metrics(config::Table& section, MetricsConfig& out);

}  // namespace mta::metrics
