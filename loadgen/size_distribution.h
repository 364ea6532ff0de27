// SizeDistribution: the message sizes the load generator sends. A fixed size ("4k"), a
// uniform range ("1k-100k"), or weighted sizes ("4k:70,32k:25,1M:5", weights need not sum to
// 100). Sizes are whole RFC 5322 messages in bytes, headers included.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "loadgen/random.h"

namespace mta::loadgen {

class SizeDistribution {
 public:
  SizeDistribution() : SizeDistribution(4096) {}
  explicit SizeDistribution(std::uint64_t fixed_bytes);

  // spec = size / size "-" size / size ":" weight *( "," size ":" weight ) (see units.h)
  static Result<SizeDistribution> parse(std::string_view spec);

  std::uint64_t sample(SplitMix64& random) const;
  double mean() const;
  std::uint64_t max() const;
  const std::string& spec() const { return spec_; }

 private:
  enum class Kind { fixed, uniform, weighted };
  struct Weighted {
    std::uint64_t bytes;
    std::uint64_t cumulative_weight;  // sum of the weights up to and including this one
  };

  Kind kind_ = Kind::fixed;
  std::uint64_t low_ = 0;   // fixed size, or the uniform range's lower end
  std::uint64_t high_ = 0;  // the uniform range's upper end (inclusive)
  std::vector<Weighted> weighted_;
  std::string spec_;
};

}  // namespace mta::loadgen
