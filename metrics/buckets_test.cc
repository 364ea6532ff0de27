// Tests of the bucket layouts: the 1-2-5 series, exact decimals, and each layout's range,
// resolution and size.
#include "metrics/buckets.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "metrics/catalog.h"

namespace mta::metrics {
namespace {

TEST(OneTwoFiveBuckets, StepsOneTwoFiveThenTheTail) {
  EXPECT_EQ(one_two_five_buckets(0.001, 0.1),
            (std::vector<double>{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1}));
  EXPECT_EQ(one_two_five_buckets(0.0005, 2, {60, 3600}),
            (std::vector<double>{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2,
                                 60, 3600}));
  EXPECT_EQ(one_two_five_buckets(2, 500), (std::vector<double>{2, 5, 10, 20, 50, 100, 200, 500}));
  // Exact decimals: the rendered `le` reads as written, never 0.00019999999999999998.
  EXPECT_EQ(one_two_five_buckets(0.0002, 0.0002 + 1e-12).front(), 0.0002);
}

struct Layout {
  const char* name;
  std::function<std::vector<double>()> make;
  double low;   // the shortest duration it must resolve
  double high;  // the longest it must still tell apart
};

TEST(BucketLayouts, IncreasingCoverTheirRangeAndStaySmall) {
  const Layout layouts[] = {{"local_work", local_work_buckets, 0.00002, 5},
                            {"session", session_buckets, 0.0005, 3600},
                            {"queue_time", queue_time_buckets, 0.0005, 72 * 3600}};
  for (const Layout& layout : layouts) {
    SCOPED_TRACE(layout.name);
    const std::vector<double> bounds = layout.make();
    EXPECT_LE(bounds.front(), layout.low);
    EXPECT_GE(bounds.back(), layout.high);
    EXPECT_GE(bounds.size(), 15u);
    EXPECT_LE(bounds.size(), 20u);
    EXPECT_TRUE(std::is_sorted(bounds.begin(), bounds.end()));
    EXPECT_EQ(std::adjacent_find(bounds.begin(), bounds.end()), bounds.end());
    // Fine steps from the bottom to 5 s: a p50 read from the buckets is within 2.5x.
    for (std::size_t i = 1; i < bounds.size() && bounds[i] <= 5; ++i) {
      EXPECT_LE(bounds[i] / bounds[i - 1], 2.5 + 1e-9) << bounds[i];
    }
    // And the catalog takes it.
    Catalog catalog;
    EXPECT_TRUE(catalog.add_histogram({"outpost_x_seconds", "X.", {}}, bounds).has_value());
  }
}

}  // namespace
}  // namespace mta::metrics
