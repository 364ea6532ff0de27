// The command line's byte, duration and count parsers.
#include "loadgen/units.h"

#include <gtest/gtest.h>

namespace mta::loadgen {
namespace {

TEST(Units, Bytes) {
  struct Case {
    const char* text;
    bool ok;
    std::uint64_t want;
  };
  const Case cases[] = {
      {"0", true, 0},
      {"4096", true, 4096},
      {"4k", true, 4096},
      {"4K", true, 4096},
      {"4KiB", true, 4096},
      {"2m", true, 2097152},
      {"1MiB", true, 1048576},
      {"", false, 0},
      {"k", false, 0},
      {"4kb", false, 0},
      {"4 k", false, 0},
      {"-4", false, 0},
      {"99999999999999999999", false, 0},
      {"18014398509481984k", false, 0},
  };
  for (const Case& c : cases) {
    auto got = parse_bytes(c.text);
    ASSERT_EQ(got.has_value(), c.ok) << c.text;
    if (c.ok) {
      EXPECT_EQ(*got, c.want) << c.text;
    }
  }
}

TEST(Units, Durations) {
  using namespace std::chrono_literals;
  struct Case {
    const char* text;
    bool ok;
    std::chrono::nanoseconds want;
  };
  const Case cases[] = {
      {"20s", true, 20s},     {"20", true, 20s},
      {"500ms", true, 500ms}, {"2m", true, 2min},
      {"1h", true, 1h},       {"250us", true, 250us},
      {"1.5s", true, 1500ms}, {"0", true, 0s},
      {"", false, 0s},        {"s", false, 0s},
      {"5d", true, 120h},     {"1.s", false, 0s},
      {"5w", false, 0s},      {"5 s", false, 0s},
      {"-1s", false, 0s},     {"99999999999h", false, 0s},
  };
  for (const Case& c : cases) {
    auto got = parse_duration(c.text);
    ASSERT_EQ(got.has_value(), c.ok) << c.text;
    if (c.ok) {
      EXPECT_EQ(*got, c.want) << c.text;
    }
  }
}

TEST(Units, Counts) {
  EXPECT_EQ(parse_count("12345").value(), 12345u);
  EXPECT_FALSE(parse_count("").has_value());
  EXPECT_FALSE(parse_count("12a").has_value());
  EXPECT_FALSE(parse_count("+1").has_value());
}

}  // namespace
}  // namespace mta::loadgen
