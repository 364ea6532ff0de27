// Tests of the in-memory due queue: pop order, limits, moves, removal, and a randomised
// comparison against a sorted vector.
#include "queue/schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>
#include <vector>

namespace mta::queue {
namespace {

using namespace std::chrono_literals;

const Clock::WallTime t0 = Clock::WallTime(1'700'000'000s);

PartKey key_of(std::uint64_t id, std::uint32_t part = 0) { return PartKey{MessageId(id), part}; }

TEST(Schedule, EmptyHasNothingDue) {
  Schedule schedule;
  std::vector<PartKey> out;
  EXPECT_EQ(schedule.pop_due(t0, 10, out), 0U);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(schedule.next_due(), std::nullopt);
  EXPECT_EQ(schedule.size(), 0U);
  EXPECT_FALSE(schedule.remove(key_of(1)));
}

TEST(Schedule, PopsDueEntriesInOrderUpToLimit) {
  Schedule schedule;
  schedule.add(t0 + 3s, key_of(1));
  schedule.add(t0 + 1s, key_of(9));
  schedule.add(t0 + 1s, key_of(2, 1));  // same due: key order
  schedule.add(t0 + 2s, key_of(5));
  schedule.add(t0 + 1h, key_of(3));
  EXPECT_EQ(schedule.next_due(), t0 + 1s);

  struct Step {
    Clock::WallTime now;
    std::size_t limit;
    std::vector<PartKey> want;
  };
  const std::vector<Step> steps = {
      {t0, 10, {}},
      {t0 + 2s, 2, {key_of(2, 1), key_of(9)}},
      {t0 + 2s, 2, {key_of(5)}},  // due at exactly now counts
      {t0 + 10s, 0, {}},
      {t0 + 10s, 10, {key_of(1)}},
  };
  for (std::size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE(i);
    std::vector<PartKey> got;
    EXPECT_EQ(schedule.pop_due(steps[i].now, steps[i].limit, got), steps[i].want.size());
    EXPECT_EQ(got, steps[i].want);
  }
  EXPECT_EQ(schedule.size(), 1U);
  EXPECT_EQ(schedule.next_due(), t0 + 1h);
}

TEST(Schedule, AddMovesAnExistingKeyAndRemoveForgetsIt) {
  Schedule schedule;
  schedule.add(t0 + 1s, key_of(1));
  schedule.add(t0 + 2s, key_of(2));
  schedule.add(t0 + 5s, key_of(1));  // moved later, not duplicated
  EXPECT_EQ(schedule.size(), 2U);
  EXPECT_EQ(schedule.next_due(), t0 + 2s);
  EXPECT_TRUE(schedule.remove(key_of(2)));
  EXPECT_FALSE(schedule.remove(key_of(2)));
  EXPECT_EQ(schedule.next_due(), t0 + 5s);
  std::vector<PartKey> out;
  EXPECT_EQ(schedule.pop_due(t0 + 5s, 10, out), 1U);
  EXPECT_EQ(out, std::vector<PartKey>{key_of(1)});
  EXPECT_EQ(schedule.size(), 0U);
  // pop_due appends; it never clears what the caller had.
  schedule.add(t0, key_of(3));
  EXPECT_EQ(schedule.pop_due(t0, 10, out), 1U);
  EXPECT_EQ(out, (std::vector<PartKey>{key_of(1), key_of(3)}));
}

TEST(Schedule, MatchesASortedModelUnderRandomOperations) {
  std::mt19937_64 random(42);
  Schedule schedule;
  std::vector<std::pair<Clock::WallTime, PartKey>> model;
  Clock::WallTime now = t0;
  for (int op = 0; op < 20'000; ++op) {
    const PartKey key = key_of(random() % 500, static_cast<std::uint32_t>(random() % 3));
    const auto in_model = std::find_if(model.begin(), model.end(),
                                       [&](const auto& entry) { return entry.second == key; });
    switch (random() % 4) {
      case 0:
      case 1: {
        const Clock::WallTime due = now + std::chrono::milliseconds(random() % 10'000);
        schedule.add(due, key);
        if (in_model != model.end()) model.erase(in_model);
        model.emplace_back(due, key);
        break;
      }
      case 2:
        EXPECT_EQ(schedule.remove(key), in_model != model.end());
        if (in_model != model.end()) model.erase(in_model);
        break;
      default: {
        now += std::chrono::milliseconds(random() % 1'000);
        const std::size_t limit = random() % 20;
        std::sort(model.begin(), model.end());
        std::vector<PartKey> want;
        while (want.size() < limit && !model.empty() && model.front().first <= now) {
          want.push_back(model.front().second);
          model.erase(model.begin());
        }
        std::vector<PartKey> got;
        ASSERT_EQ(schedule.pop_due(now, limit, got), want.size());
        ASSERT_EQ(got, want) << "op " << op;
      }
    }
    ASSERT_EQ(schedule.size(), model.size());
    if (!model.empty()) {
      ASSERT_EQ(schedule.next_due(), std::min_element(model.begin(), model.end())->first);
    }
  }
}

TEST(Schedule, TagsComeBackWithTheirParts) {
  Schedule schedule;
  const Clock::WallTime t0(std::chrono::seconds(1000));
  schedule.add(t0 + std::chrono::seconds(2), PartKey{MessageId(1), 0}, 7);
  schedule.add(t0 + std::chrono::seconds(1), PartKey{MessageId(2), 0}, 9);
  schedule.add(t0, PartKey{MessageId(3), 0});
  schedule.add(t0 + std::chrono::seconds(3), PartKey{MessageId(2), 0}, 11);  // moves, new tag
  EXPECT_EQ(schedule.take(PartKey{MessageId(3), 0}), std::optional<std::uint32_t>(0));
  EXPECT_EQ(schedule.take(PartKey{MessageId(3), 0}), std::nullopt);
  std::vector<Schedule::Due> due;
  ASSERT_EQ(schedule.pop_due(t0 + std::chrono::seconds(5), 10, due), 2U);
  ASSERT_EQ(due.size(), 2U);
  EXPECT_EQ(due[0].key, (PartKey{MessageId(1), 0}));
  EXPECT_EQ(due[0].tag, 7U);
  EXPECT_EQ(due[1].key, (PartKey{MessageId(2), 0}));
  EXPECT_EQ(due[1].tag, 11U);
  EXPECT_TRUE(schedule.empty());
}

}  // namespace
}  // namespace mta::queue
