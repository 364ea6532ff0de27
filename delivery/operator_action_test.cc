// Counting an operator action's results.
#include "delivery/operator_action.h"

#include <gtest/gtest.h>

namespace mta::delivery {
namespace {

TEST(OperatorAction, CountsEachResultAndAddsUp) {
  ActionCounts counts = count({ActionResult::applied, ActionResult::not_found,
                               ActionResult::applied, ActionResult::in_flight});
  EXPECT_EQ(counts.applied, 2u);
  EXPECT_EQ(counts.in_flight, 1u);
  EXPECT_EQ(counts.not_found, 1u);
  counts += count({ActionResult::not_found});
  EXPECT_EQ(counts.not_found, 2u);
  EXPECT_EQ(count({}).applied, 0u);
}

}  // namespace
}  // namespace mta::delivery
