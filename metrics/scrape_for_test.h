// For module tests of metric families: the value a scrape of these registries renders for one
// series, written as in the body ("outpost_x_total{listener=\"smtp\"}"), or nullopt if absent.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "metrics/exposition.h"

namespace mta::metrics {

inline std::optional<double> scraped_for_test(const Catalog& catalog,
                                              std::span<const Registry* const> shards,
                                              std::string_view series) {
  const std::string body = render(catalog, shards);
  const std::string prefix = std::string(series) + " ";
  for (std::size_t at = 0; at < body.size();) {
    std::size_t end = body.find('\n', at);
    if (end == std::string::npos) end = body.size();
    const std::string_view line(body.data() + at, end - at);
    if (line.starts_with(prefix)) return std::stod(std::string(line.substr(prefix.size())));
    at = end + 1;
  }
  return std::nullopt;
}

inline std::optional<double> scraped_for_test(const Catalog& catalog, const Registry& shard,
                                              std::string_view series) {
  const Registry* shards[] = {&shard};
  return scraped_for_test(catalog, shards, series);
}

}  // namespace mta::metrics
