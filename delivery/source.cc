// Source choice: smooth weighted round robin, narrowed to the pools waiting and the sources
// with room.
#include "delivery/source.h"

#include <algorithm>

namespace mta::delivery {

std::optional<std::size_t> next_weighted_source(const std::vector<Source>& sources,
                                                std::vector<std::int64_t>& credit, int family,
                                                const SourceFilter& allowed) {
  credit.resize(sources.size(), 0);
  std::optional<std::size_t> best;
  std::int64_t total = 0;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    if (sources[i].address.family() != family || sources[i].weight == 0) continue;
    if (allowed && !allowed(sources[i])) continue;
    credit[i] += sources[i].weight;
    total += sources[i].weight;
    if (!best || credit[i] > credit[*best]) best = i;
  }
  if (best) credit[*best] -= total;
  return best;
}

SourceChoice choose_source(const std::vector<Source>& sources, std::vector<std::int64_t>& credit,
                           int family, const SourceFilter& wanted, const SourceFilter& has_room) {
  if (sources.empty()) return {};
  const auto is_wanted = [&](const Source& source) { return !wanted || wanted(source); };
  const auto choice = next_weighted_source(sources, credit, family, [&](const Source& source) {
    return is_wanted(source) && has_room(source);
  });
  if (choice) return {.index = choice};
  const bool of_family = std::any_of(sources.begin(), sources.end(), [&](const Source& s) {
    return s.address.family() == family && s.weight > 0 && is_wanted(s);
  });
  // Parts that name no pool may go from the kernel's choice when no source has this family;
  // otherwise the sources are held back by their caps.
  if (!wanted) return {.blocked = of_family};
  // Only parts of named pools wait: they go from their pool's sources or not at all. Blocked
  // by caps, or by a pool without a source of this family.
  return {.blocked = true, .no_source_of_family = !of_family};
}

}  // namespace mta::delivery
