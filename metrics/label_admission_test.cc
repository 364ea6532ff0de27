// Tests of LabelAdmission (first-seen admission, overflow, concurrent admission) and of the
// UTF-8 check it relies on.
#include "metrics/label_admission.h"

#include <gtest/gtest.h>

#include <future>
#include <set>
#include <string>
#include <vector>

#include "metrics/utf8.h"

namespace mta::metrics {
namespace {

// "<prefix><number><suffix>", appended piecewise: GCC 12 at -O3 raises a false -Wrestrict on
// "literal" + std::to_string(...).
std::string numbered(std::string_view prefix, int number, std::string_view suffix = {}) {
  std::string text(prefix);
  text.append(std::to_string(number)).append(suffix);
  return text;
}

TEST(LabelAdmission, FirstSeenValuesKeepTheirIndexOthersOverflow) {
  LabelAdmission admission(3, "other");
  struct Case {
    std::string_view value;
    std::uint32_t want;
  };
  const Case cases[] = {
      {"gmail.com", 0},
      {"outlook.com", 1},
      {"gmail.com", 0},
      {"other", 3},  // the overflow value itself is never admitted
      {"", 3},
      {"yahoo.com", 2},
      {"web.de", 3},  // full
      {"outlook.com", 1},
      {"gmx.net", 3},
      {"yahoo.com", 2},
  };
  for (const Case& c : cases) EXPECT_EQ(admission.index_of(c.value), c.want) << c.value;
  ASSERT_EQ(admission.size(), 3u);
  EXPECT_EQ(admission.value(0), "gmail.com");
  EXPECT_EQ(admission.value(1), "outlook.com");
  EXPECT_EQ(admission.value(2), "yahoo.com");
  EXPECT_EQ(admission.overflow_value(), "other");
}

TEST(LabelAdmission, RefusesValuesThatCannotBeLabels) {
  LabelAdmission admission(10, "other");
  const std::string too_long(LabelAdmission::value_bytes_max + 1, 'a');
  const std::string longest(LabelAdmission::value_bytes_max, 'a');
  EXPECT_EQ(admission.index_of(too_long), 10u);
  EXPECT_EQ(admission.index_of("bad\xFF"), 10u);
  EXPECT_EQ(admission.index_of(longest), 0u);
  EXPECT_EQ(admission.index_of("b\303\274cher.de"), 1u);
  EXPECT_EQ(admission.size(), 2u);
}

TEST(LabelAdmission, ManyValuesStayFindable) {
  // Fill a large table completely: every admitted value must still be found by its probe.
  LabelAdmission admission(1000, "other");
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(admission.index_of(numbered("d", i, ".example")), std::uint32_t(i));
  }
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(admission.index_of(numbered("d", i, ".example")), std::uint32_t(i));
  }
  EXPECT_EQ(admission.index_of("d1000.example"), 1000u);
}

TEST(LabelAdmission, ConcurrentShardsAgreeOnIndexes) {
  // Four shards see overlapping value sets at once. Exactly values_max values are admitted, and
  // every shard maps each value to the same index.
  constexpr std::size_t values_max = 50;
  LabelAdmission admission(values_max, "other");
  const auto shard = [&](int seed) {
    std::vector<std::uint32_t> got(200);
    for (int round = 0; round < 20; ++round) {
      for (int i = 0; i < 200; ++i) {
        const int value = (i * 7 + seed * 13) % 200;
        got[value] = admission.index_of(numbered("d", value));
      }
    }
    return got;
  };
  std::vector<std::future<std::vector<std::uint32_t>>> shards;
  // std::async, not std::thread: threads outside engine/ are for tests only.
  for (int seed = 0; seed < 4; ++seed)
    shards.push_back(std::async(std::launch::async, shard, seed));
  std::vector<std::vector<std::uint32_t>> results;
  for (auto& f : shards) results.push_back(f.get());
  ASSERT_EQ(admission.size(), values_max);
  std::set<std::uint32_t> indexes;
  for (int value = 0; value < 200; ++value) {
    for (const auto& result : results) EXPECT_EQ(result[value], results[0][value]) << value;
    const std::uint32_t index = results[0][value];
    if (index == values_max) continue;
    EXPECT_TRUE(indexes.insert(index).second) << "index " << index << " given twice";
    EXPECT_EQ(admission.value(index), numbered("d", value));
  }
  EXPECT_EQ(indexes.size(), values_max);
}

TEST(Utf8, WellFormedness) {
  struct Case {
    std::string_view bytes;
    bool want;
  };
  const Case cases[] = {
      {"", true},
      {"plain ascii", true},
      {"\xC3\xA9", true},           // U+00E9
      {"\xE2\x82\xAC", true},       // U+20AC
      {"\xF0\x9F\x93\xA7", true},   // U+1F4E7
      {"\xF4\x8F\xBF\xBF", true},   // U+10FFFF
      {"\xC0\xAF", false},          // overlong '/'
      {"\xE0\x80\xAF", false},      // overlong
      {"\xED\xA0\x80", false},      // surrogate
      {"\xF4\x90\x80\x80", false},  // past U+10FFFF
      {"\xC3", false},              // truncated
      {"\xE2\x82", false},          // truncated
      {"\x80", false},              // lone continuation
      {"\xFF", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(valid_utf8(c.bytes), c.want) << testing::PrintToString(std::string(c.bytes));
  }
}

}  // namespace
}  // namespace mta::metrics
