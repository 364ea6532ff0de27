// Error codes of the metrics module: what declaring a family or reading /proc can fail with.
// Family declarations happen at start-up from names written in code, so callers usually treat
// these as fatal; the detail names the offending metric or file.
#pragma once

#include <system_error>

namespace mta::metrics {

enum class Errc {
  invalid_name = 1,  // a metric name breaks [a-zA-Z_:][a-zA-Z0-9_:]* or our naming rules
  invalid_label,     // a label name breaks [a-zA-Z_][a-zA-Z0-9_]*, is reserved or repeated
  duplicate_family,  // a family with that name is already declared
  invalid_buckets,   // histogram bounds empty, not finite or not strictly increasing
  invalid_bound,     // a bounded label with values_max of zero or an invalid overflow value
  proc_unreadable,   // /proc/self could not be read or parsed
};

const std::error_category& metrics_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), metrics_category()};
}

}  // namespace mta::metrics

template <>
struct std::is_error_code_enum<mta::metrics::Errc> : std::true_type {};
