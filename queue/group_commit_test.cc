// Group commit on a hand-driven executor: batches gather while a write is in flight, respect
// the batch caps, a group is never split, the window holds a batch back until its timer fires,
// and a failed write answers every message of its batch with the error and stores none.
#include "queue/group_commit.h"

#include <gtest/gtest.h>

#include <array>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/assert.h"
#include "metrics/registry.h"
#include "queue/failing_store_for_test.h"
#include "queue/memory_store.h"

namespace mta::queue {
namespace {

using namespace std::chrono_literals;

// Runs nothing by itself: the test decides when an offloaded write or a timer runs.
class ManualExecutor final : public Executor {
 public:
  TimerId schedule(Clock::Duration delay, Task task) override {
    delays_.push_back(delay);
    timers_.emplace(next_timer_, std::move(task));
    return next_timer_++;
  }
  void cancel_timer(TimerId id) override { timers_.erase(id); }
  void offload(std::function<void()> work, Task done) override {
    offloads_.emplace_back(std::move(work), std::move(done));
  }

  std::size_t offloads() const { return offloads_.size(); }
  std::size_t timers() const { return timers_.size(); }
  const std::vector<Clock::Duration>& delays() const { return delays_; }
  // The oldest offload: its work, then its done, as the shard would run them.
  void run_offload() {
    MTA_ASSERT(!offloads_.empty());
    auto [work, done] = std::move(offloads_.front());
    offloads_.pop_front();
    work();
    if (done) done();
  }
  void run_all_offloads() {
    while (!offloads_.empty()) run_offload();
  }
  void fire_timers() {
    std::map<TimerId, Task> due = std::move(timers_);
    timers_.clear();
    for (auto& [id, task] : due) task();
  }

 private:
  std::map<TimerId, Task> timers_;
  TimerId next_timer_ = 1;
  std::vector<Clock::Duration> delays_;
  std::deque<std::pair<std::function<void()>, Task>> offloads_;
};

Envelope envelope(std::uint64_t id) {
  Envelope e;
  e.id = MessageId(id);
  e.destination = "relay";
  e.recipients.push_back({.address = "r@example.net"});
  return e;
}

class GroupCommitTest : public ::testing::Test {
 protected:
  void submit(GroupCommit& commit, std::uint64_t id) {
    commit.submit(
        {envelope(id)}, "body " + std::to_string(id),
        [this, id](const Result<void>& result) { results_.emplace_back(id, result.has_value()); });
  }
  void submit_range(GroupCommit& commit, std::uint64_t first, std::uint64_t last) {
    for (std::uint64_t id = first; id <= last; ++id) submit(commit, id);
  }

  ManualExecutor executor_;
  MemoryStore memory_;
  std::vector<std::pair<std::uint64_t, bool>> results_;
};

TEST_F(GroupCommitTest, BatchesGatherWhileAWriteIsInFlight) {
  GroupCommit commit(executor_, memory_, {});
  submit(commit, 1);
  ASSERT_EQ(executor_.offloads(), 1U);  // no window: the first message goes at once
  submit_range(commit, 2, 11);
  EXPECT_EQ(executor_.offloads(), 1U);  // one batch in flight at a time
  EXPECT_EQ(commit.waiting(), 10U);
  EXPECT_TRUE(commit.writing());
  executor_.run_all_offloads();
  EXPECT_FALSE(commit.writing());
  EXPECT_EQ(commit.probe().batches, 2U);
  EXPECT_EQ(commit.probe().messages, 11U);
  EXPECT_EQ(commit.probe().largest_batch, 10U);
  ASSERT_EQ(results_.size(), 11U);
  for (std::size_t i = 0; i < results_.size(); ++i) {
    EXPECT_EQ(results_[i].first, i + 1);  // answered in submission order
    EXPECT_TRUE(results_[i].second);
  }
  EXPECT_EQ(*memory_.count(), 11U);
}

TEST_F(GroupCommitTest, BatchCapSplitsTheQueue) {
  GroupCommit commit(executor_, memory_, {.batch_messages_max = 4});
  submit_range(commit, 1, 11);
  std::vector<std::uint64_t> largest;
  while (executor_.offloads() > 0) {
    const std::uint64_t before = commit.probe().messages;
    executor_.run_offload();
    largest.push_back(commit.probe().messages - before);
  }
  EXPECT_EQ(largest, (std::vector<std::uint64_t>{1, 4, 4, 2}));
  EXPECT_EQ(*memory_.count(), 11U);
}

TEST_F(GroupCommitTest, AGroupIsWrittenWholeEvenOverTheCap) {
  GroupCommit commit(executor_, memory_, {.batch_messages_max = 2});
  submit(commit, 1);
  std::vector<GroupCommit::Message> group;
  for (std::uint64_t id = 2; id <= 6; ++id) group.push_back({{envelope(id)}, "body"});
  int answers = 0;
  commit.submit_group(std::move(group), [&](const Result<void>& result) {
    EXPECT_TRUE(result.has_value());
    ++answers;
  });
  executor_.run_all_offloads();
  EXPECT_EQ(answers, 1);
  EXPECT_EQ(commit.probe().batches, 2U);
  EXPECT_EQ(commit.probe().largest_batch, 5U);
  EXPECT_EQ(*memory_.count(), 6U);
}

TEST_F(GroupCommitTest, WindowHoldsTheBatchUntilItsTimerOrACap) {
  GroupCommit commit(executor_, memory_, {.window = 5ms, .batch_messages_max = 3});
  submit_range(commit, 1, 2);
  EXPECT_EQ(executor_.offloads(), 0U);
  EXPECT_EQ(executor_.timers(), 1U);  // one timer for the batch, not one per message
  EXPECT_EQ(executor_.delays(), (std::vector<Clock::Duration>{5ms}));
  executor_.fire_timers();
  ASSERT_EQ(executor_.offloads(), 1U);
  executor_.run_offload();
  submit_range(commit, 3, 5);  // full: written without waiting for the window
  EXPECT_EQ(executor_.timers(), 0U);
  ASSERT_EQ(executor_.offloads(), 1U);
  executor_.run_offload();
  EXPECT_EQ(results_.size(), 5U);
  EXPECT_EQ(commit.probe().batches, 2U);
}

TEST_F(GroupCommitTest, FailedBatchAnswersEveryMessageAndStoresNothing) {
  FailingStore_for_test store(memory_);
  GroupCommit commit(executor_, store, {});
  submit(commit, 1);
  submit_range(commit, 2, 11);
  executor_.run_offload();  // batch 1 passes
  store.fail_writes(1);     // the next batch, the ten, fails as a whole
  executor_.run_offload();
  ASSERT_EQ(results_.size(), 11U);
  EXPECT_TRUE(results_[0].second);
  for (std::size_t i = 1; i < results_.size(); ++i) EXPECT_FALSE(results_[i].second);
  EXPECT_EQ(commit.probe().failed_batches, 1U);
  EXPECT_EQ(*memory_.count(), 1U);
  EXPECT_FALSE(memory_.read_envelope({.message = MessageId(2), .part = 0}).has_value());
}

TEST_F(GroupCommitTest, EachWriteIsTimedInTheProbesHistogram) {
  const std::array<double, 1> bounds{60.0};
  metrics::Histogram seconds(bounds);
  GroupCommit commit(executor_, memory_, {});
  commit.probe().commit_seconds = &seconds;
  submit(commit, 1);
  submit_range(commit, 2, 3);
  executor_.run_all_offloads();
  EXPECT_EQ(seconds.bucket(0) + seconds.bucket(1), 2U);  // one observation per batch
}

}  // namespace
}  // namespace mta::queue
