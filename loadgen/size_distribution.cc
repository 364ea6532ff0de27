// SizeDistribution parsing and sampling.
#include "loadgen/size_distribution.h"

#include <algorithm>

#include "base/concat.h"
#include "loadgen/errc.h"
#include "loadgen/units.h"

namespace mta::loadgen {

SizeDistribution::SizeDistribution(std::uint64_t fixed_bytes)
    : low_(fixed_bytes), high_(fixed_bytes), spec_(std::to_string(fixed_bytes)) {}

Result<SizeDistribution> SizeDistribution::parse(std::string_view spec) {
  SizeDistribution out;
  out.spec_ = std::string(spec);
  if (spec.find(':') != std::string_view::npos) {
    out.kind_ = Kind::weighted;
    std::uint64_t total = 0;
    std::string_view rest = spec;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      const std::size_t colon = item.find(':');
      if (colon == std::string_view::npos) {
        return unexpected(Errc::invalid_argument, concat({"size:weight expected: ", item}));
      }
      auto bytes = parse_bytes(item.substr(0, colon));
      auto weight = parse_count(item.substr(colon + 1));
      if (!bytes || !weight || *weight == 0 || *weight > 1'000'000) {
        return unexpected(Errc::invalid_argument, concat({"bad size:weight: ", item}));
      }
      total += *weight;
      out.weighted_.push_back({*bytes, total});
    }
    if (out.weighted_.empty()) {
      return unexpected(Errc::invalid_argument, "empty size distribution");
    }
    return out;
  }
  if (const std::size_t dash = spec.find('-'); dash != std::string_view::npos) {
    auto low = parse_bytes(spec.substr(0, dash));
    auto high = parse_bytes(spec.substr(dash + 1));
    if (!low || !high || *low > *high) {
      return unexpected(Errc::invalid_argument, concat({"bad size range: ", spec}));
    }
    out.kind_ = Kind::uniform;
    out.low_ = *low;
    out.high_ = *high;
    return out;
  }
  auto bytes = parse_bytes(spec);
  if (!bytes) return unexpected(bytes.error());
  out.low_ = out.high_ = *bytes;
  return out;
}

std::uint64_t SizeDistribution::sample(SplitMix64& random) const {
  switch (kind_) {
    case Kind::fixed:
      return low_;
    case Kind::uniform:
      return low_ + random.below(high_ - low_ + 1);
    case Kind::weighted: {
      const std::uint64_t draw = random.below(weighted_.back().cumulative_weight);
      const auto found = std::upper_bound(
          weighted_.begin(), weighted_.end(), draw,
          [](std::uint64_t d, const Weighted& w) { return d < w.cumulative_weight; });
      return found->bytes;
    }
  }
  return low_;
}

double SizeDistribution::mean() const {
  switch (kind_) {
    case Kind::fixed:
      return static_cast<double>(low_);
    case Kind::uniform:
      return (static_cast<double>(low_) + static_cast<double>(high_)) / 2;
    case Kind::weighted: {
      double sum = 0;
      std::uint64_t previous = 0;
      for (const auto& w : weighted_) {
        sum += static_cast<double>(w.bytes) * static_cast<double>(w.cumulative_weight - previous);
        previous = w.cumulative_weight;
      }
      return sum / static_cast<double>(weighted_.back().cumulative_weight);
    }
  }
  return 0;
}

std::uint64_t SizeDistribution::max() const {
  if (kind_ != Kind::weighted) return high_;
  std::uint64_t biggest = 0;
  for (const auto& w : weighted_) biggest = std::max(biggest, w.bytes);
  return biggest;
}

}  // namespace mta::loadgen
