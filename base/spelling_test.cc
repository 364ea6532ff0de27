// edit_distance and closest_spelling: the "did you mean" of configuration errors.
#include "base/spelling.h"

#include <gtest/gtest.h>

namespace mta {
namespace {

TEST(Spelling, EditDistance) {
  struct Case {
    std::string_view a, b;
    std::size_t want;
  };
  const Case cases[] = {
      {"", "", 0},
      {"", "abc", 3},
      {"abc", "", 3},
      {"level", "level", 0},
      {"levle", "level", 1},   // adjacent swap
      {"lvel", "level", 1},    // insertion
      {"levell", "level", 1},  // deletion
      {"lavel", "level", 1},   // substitution
      {"LEVEL", "level", 0},   // ASCII case folded
      {"ca", "abc", 3},        // optimal string alignment: no substring edited twice
      {"kitten", "sitting", 3},
      {"relay", "retry_initial", 10},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(edit_distance(c.a, c.b), c.want) << c.a << " / " << c.b;
    EXPECT_EQ(edit_distance(c.b, c.a), c.want) << c.b << " / " << c.a;
  }
}

TEST(Spelling, ClosestSpelling) {
  const std::vector<std::string> keys = {"level",      "delivery_log", "listen",
                                         "tls_listen", "hostname",     "key"};
  struct Case {
    std::string_view word;
    std::optional<std::string> want;
  };
  const Case cases[] = {
      {"levle", "level"},       {"Level", "level"},
      {"lsten", "listen"},      {"tls_lisen", "tls_listen"},
      {"hostnme", "hostname"},  {"delivery_logs", "delivery_log"},
      {"kee", "key"},           {"level", std::nullopt},  // a known key needs no suggestion
      {"x", std::nullopt},                                // too far from every key
      {"shards", std::nullopt}, {"", std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(closest_spelling(c.word, keys), c.want) << c.word;
  }
  EXPECT_EQ(closest_spelling("anything", {}), std::nullopt);
  // Ties go to the first candidate.
  EXPECT_EQ(closest_spelling("ab", {"aa", "bb"}), "aa");
}

}  // namespace
}  // namespace mta
