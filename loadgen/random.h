// SplitMix64: the small, seedable random source of the load generator and the sink. Seeded,
// so a reply mix or a size distribution is reproducible in tests and across runs; one per
// shard, never shared between threads.
#pragma once

#include <cstdint>

namespace mta::loadgen {

// Sebastiano Vigna's SplitMix64 (public domain): one 64-bit state, full period 2^64, good
// enough statistically for picking replies and sizes, and far cheaper than std::mt19937_64.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1), from the top 53 bits.
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, bound); bound > 0. The modulo bias is below 2^-40 for bounds under 2^24.
  std::uint64_t below(std::uint64_t bound) { return next() % bound; }

 private:
  std::uint64_t state_;
};

}  // namespace mta::loadgen
