// ReplyMix: parsing (table of specs), the drawn shares over many seeded draws, determinism.
#include "loadgen/reply_mix.h"

#include <gtest/gtest.h>

#include <map>

namespace mta::loadgen {
namespace {

TEST(ReplyMix, Parse) {
  struct Case {
    const char* spec;
    bool ok;
    const char* canonical;
  };
  const Case cases[] = {
      {"", true, ""},
      {"rcpt4xx=10", true, "rcpt4xx=10"},
      {"rcpt5xx=1.5,rcpt4xx=10", true, "rcpt4xx=10,rcpt5xx=1.5"},
      {"data4xx=2,data5xx=3,disconnect=0.5", true, "data4xx=2,data5xx=3,disconnect=0.5"},
      {"421=1", true, "disconnect=1"},
      {"rcpt4xx=0", true, ""},
      {"rcpt4xx=100", true, "rcpt4xx=100"},
      {"rcpt4xx=60,rcpt5xx=50", false, ""},
      {"data4xx=50,data5xx=50,disconnect=1", false, ""},
      {"rcpt4xx=-1", false, ""},
      {"rcpt4xx=101", false, ""},
      {"rcpt4xx=ten", false, ""},
      {"rcpt4xx", false, ""},
      {"helo5xx=1", false, ""},
      {"rcpt4xx=1,", true, "rcpt4xx=1"},
  };
  for (const Case& c : cases) {
    auto got = ReplyMix::parse(c.spec);
    EXPECT_EQ(got.has_value(), c.ok) << c.spec;
    if (got && c.ok) {
      EXPECT_EQ(got->to_string(), c.canonical) << c.spec;
    }
  }
}

TEST(ReplyMix, DrawsFollowThePercentages) {
  const ReplyMix mix =
      ReplyMix::parse("rcpt4xx=10,rcpt5xx=5,data4xx=2,data5xx=3,disconnect=1").value();
  SplitMix64 random(2026);
  constexpr int kDraws = 200000;
  std::map<RcptVerdict, int> rcpt;
  std::map<DataVerdict, int> data;
  for (int i = 0; i < kDraws; ++i) {
    ++rcpt[mix.choose_rcpt(random)];
    ++data[mix.choose_data(random)];
  }
  const auto share = [](int n) { return 100.0 * n / kDraws; };
  EXPECT_NEAR(share(rcpt[RcptVerdict::temporary]), 10, 0.3);
  EXPECT_NEAR(share(rcpt[RcptVerdict::permanent]), 5, 0.3);
  EXPECT_NEAR(share(rcpt[RcptVerdict::accept]), 85, 0.3);
  EXPECT_NEAR(share(data[DataVerdict::temporary]), 2, 0.2);
  EXPECT_NEAR(share(data[DataVerdict::permanent]), 3, 0.2);
  EXPECT_NEAR(share(data[DataVerdict::disconnect]), 1, 0.2);
  EXPECT_NEAR(share(data[DataVerdict::accept]), 94, 0.3);
}

TEST(ReplyMix, EdgesAreExact) {
  SplitMix64 random(1);
  const ReplyMix none;
  const ReplyMix all = ReplyMix::parse("rcpt5xx=100,disconnect=100").value();
  for (int i = 0; i < 10000; ++i) {
    ASSERT_EQ(none.choose_rcpt(random), RcptVerdict::accept);
    ASSERT_EQ(none.choose_data(random), DataVerdict::accept);
    ASSERT_EQ(all.choose_rcpt(random), RcptVerdict::permanent);
    ASSERT_EQ(all.choose_data(random), DataVerdict::disconnect);
  }
}

TEST(ReplyMix, SameSeedSameVerdicts) {
  const ReplyMix mix = ReplyMix::parse("rcpt4xx=30,data5xx=30").value();
  SplitMix64 a(99), b(99), c(100);
  int differences = 0;
  for (int i = 0; i < 1000; ++i) {
    const RcptVerdict va = mix.choose_rcpt(a);
    ASSERT_EQ(va, mix.choose_rcpt(b));
    differences += va != mix.choose_rcpt(c);
  }
  EXPECT_GT(differences, 100);  // another seed is another sequence
}

}  // namespace
}  // namespace mta::loadgen
