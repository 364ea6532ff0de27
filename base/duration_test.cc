// parse_duration and parse_duration_option: units, bare numbers in each option's old unit,
// and what is refused.
#include "base/duration.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string_view>

namespace mta {
namespace {

using namespace std::chrono_literals;

TEST(ParseDurationOption, UnitsAsInTheConfigAndBareNumbersInTheOldUnit) {
  struct Case {
    std::string_view text;
    Clock::Duration bare_unit;
    Clock::Duration want;
  };
  const Case cases[] = {
      {"250ms", 1ms, 250ms}, {"2s", 1ms, 2s}, {"5m", 1ms, 5min},
      {"2h", 1s, 2h},        {"1d", 1s, 24h}, {"1500", 1ms, 1500ms},  // dns mx --timeout
      {"90", 1s, 90s},       {"0", 1ms, 0ms}, {"30s", 1s, 30s},
  };
  for (const Case& c : cases) {
    auto got = parse_duration_option(c.text, c.bare_unit);
    ASSERT_TRUE(got.has_value()) << c.text << ": " << got.error().detail;
    EXPECT_EQ(*got, c.want) << c.text;
  }
}

TEST(ParseDurationOption, Refuses) {
  for (std::string_view text :
       {"", "s", "2x", "-5", "1.5s", " 2s", "2s ", "99999999999999999999", "9999999999999999"}) {
    EXPECT_FALSE(parse_duration_option(text, 1s).has_value()) << text;
  }
  EXPECT_TRUE(parse_duration_option("9000000000", 1s).has_value());   // 285 years: fits
  EXPECT_FALSE(parse_duration_option("9300000000", 1s).has_value());  // not in 64 bits of ns
}

}  // namespace
}  // namespace mta
