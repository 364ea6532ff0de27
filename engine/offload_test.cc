// Shard::offload: blocking work on the shard's worker thread with `done` back on the shard.
// Order, threads, a loop that keeps running while work blocks, the drain gate, volume.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/runtime.h"
#include "engine/shard.h"
#include "engine/test_support.h"

namespace mta::engine {
namespace {

using namespace std::chrono_literals;
using testing::Signal;
using testing::test_options;

// Events from both threads, each tagged with one global sequence number.
class EventLog {
 public:
  void add(std::string event) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
  }
  std::vector<std::string> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> events_;
};

TEST(Offload, WorkRunsOnTheWorkerInOrderAndDoneOnTheShard) {
  constexpr int kCount = 5;
  Runtime runtime(test_options(1));
  EventLog log;
  std::thread::id shard_thread;
  std::atomic<int> work_on_shard_thread{0};
  std::atomic<int> done_off_shard_thread{0};
  std::atomic<int> running{0};
  std::atomic<int> overlapping{0};
  std::vector<std::size_t> in_flight_seen;  // shard thread only
  Signal all_done;
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    shard_thread = std::this_thread::get_id();
                    for (int i = 0; i < kCount; ++i) {
                      shard.offload(
                          [&, i] {
                            if (running.fetch_add(1) != 0) ++overlapping;
                            if (std::this_thread::get_id() == shard_thread) ++work_on_shard_thread;
                            std::this_thread::sleep_for(2ms);  // overlaps would show
                            log.add("work" + std::to_string(i));
                            running.fetch_sub(1);
                          },
                          [&, i, s = &shard] {
                            if (std::this_thread::get_id() != shard_thread) {
                              ++done_off_shard_thread;
                            }
                            log.add("done" + std::to_string(i));
                            in_flight_seen.push_back(s->offloads_in_flight());
                            if (i == kCount - 1) all_done.notify();
                          });
                    }
                    in_flight_seen.push_back(shard.offloads_in_flight());
                  })
                  .has_value());
  ASSERT_TRUE(all_done.wait());
  runtime.request_stop();
  runtime.wait();

  EXPECT_EQ(work_on_shard_thread.load(), 0);
  EXPECT_EQ(done_off_shard_thread.load(), 0);
  EXPECT_EQ(overlapping.load(), 0);
  // Work i and done i in order among themselves; done i after work i.
  const std::vector<std::string> got = log.events();
  ASSERT_EQ(got.size(), 2u * kCount);
  std::vector<std::string> works;
  std::vector<std::string> dones;
  for (std::size_t at = 0; at < got.size(); ++at) {
    (got[at].starts_with("work") ? works : dones).push_back(got[at]);
    if (got[at].starts_with("done")) {
      const std::string work = "work" + got[at].substr(4);
      EXPECT_NE(std::find(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(at), work),
                got.begin() + static_cast<std::ptrdiff_t>(at))
          << got[at] << " ran before its work";
    }
  }
  std::vector<std::string> want_works;
  std::vector<std::string> want_dones;
  for (int i = 0; i < kCount; ++i) {
    want_works.push_back("work" + std::to_string(i));
    want_dones.push_back("done" + std::to_string(i));
  }
  EXPECT_EQ(works, want_works);
  EXPECT_EQ(dones, want_dones);
  // All five in flight after queueing; each done runs after it left the count.
  const std::vector<std::size_t> want_in_flight = {5, 4, 3, 2, 1, 0};
  EXPECT_EQ(in_flight_seen, want_in_flight);
}

TEST(Offload, LoopKeepsRunningWhileWorkBlocks) {
  Runtime runtime(test_options(1));
  EventLog log;
  Clock::Duration timer_after{};
  Clock::Duration done_after{};
  std::thread::id message_thread;
  Signal done_ran;
  Signal timer_ran;
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    const Clock::TimePoint start = shard.clock().now();
                    shard.offload(
                        [&] {
                          std::this_thread::sleep_for(100ms);  // an fsync, say
                          log.add("work");
                        },
                        [&, start, s = &shard] {
                          done_after = s->clock().now() - start;
                          log.add("done");
                          done_ran.notify();
                        });
                    shard.schedule(10ms, [&, start, s = &shard] {
                      timer_after = s->clock().now() - start;
                      log.add("timer");
                      timer_ran.notify();
                    });
                  })
                  .has_value());
  // A message from outside is also handled while the work blocks.
  ASSERT_TRUE(timer_ran.wait());
  Signal message_ran;
  ASSERT_TRUE(runtime.post_from_outside(ShardId(0), [&](Shard&) {
    message_thread = std::this_thread::get_id();
    log.add("message");
    message_ran.notify();
  }));
  ASSERT_TRUE(message_ran.wait());
  ASSERT_TRUE(done_ran.wait());
  runtime.request_stop();
  runtime.wait();

  EXPECT_GE(timer_after, 10ms);
  EXPECT_LT(timer_after, 80ms) << "the timer waited for the blocking work";
  EXPECT_GE(done_after, 100ms);
  const std::vector<std::string> got = log.events();
  const std::vector<std::string> want = {"timer", "message", "work", "done"};
  EXPECT_EQ(got, want);
}

TEST(Offload, StopWaitsForTheWorkAndItsDone) {
  struct Case {
    const char* name;
    Clock::Duration drain_timeout;
  };
  // The drain timeout ends holds, not offloads: the work cannot be interrupted.
  const Case cases[] = {
      {"generous drain timeout", 5s},
      {"drain timeout shorter than the work", 10ms},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    RuntimeOptions options = test_options(1);
    options.drain_timeout = c.drain_timeout;
    Runtime runtime(options);
    std::atomic<bool> work_finished{false};
    std::atomic<bool> done_ran{false};
    std::atomic<bool> done_saw_work{false};
    std::atomic<bool> done_saw_stopping{false};
    std::atomic<std::size_t> in_flight_at_stop{99};
    std::atomic<bool> hook_offload_done{false};
    std::atomic<bool> timer_from_done_ran{false};
    Signal work_started;
    ASSERT_TRUE(runtime
                    .start([&](Shard& shard) {
                      shard.offload(
                          [&] {
                            work_started.notify();
                            std::this_thread::sleep_for(100ms);
                            work_finished = true;
                          },
                          [&, s = &shard] {
                            done_saw_work = work_finished.load();
                            done_saw_stopping = s->stopping();
                            done_ran = true;
                            // The loop still runs (not just the teardown): timers fire.
                            s->schedule(0ms, [&] { timer_from_done_ran = true; });
                          });
                      shard.on_stop([&, s = &shard] {
                        in_flight_at_stop = s->offloads_in_flight();
                        // Offloaded during the drain: still runs before the exit.
                        s->offload([] {}, [&] { hook_offload_done = true; });
                      });
                    })
                    .has_value());
    ASSERT_TRUE(work_started.wait());
    const auto start = std::chrono::steady_clock::now();
    runtime.request_stop();
    runtime.wait();
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(done_ran.load());
    EXPECT_TRUE(done_saw_work.load());
    EXPECT_TRUE(done_saw_stopping.load());
    EXPECT_TRUE(hook_offload_done.load());
    EXPECT_TRUE(timer_from_done_ran.load());
    EXPECT_EQ(in_flight_at_stop.load(), 1u);
    EXPECT_GE(elapsed, 50ms);  // the work had at most slept a little before request_stop
    EXPECT_LT(elapsed, 5s);
  }
}

TEST(Offload, ManyOffloadsAllComplete) {
  static constexpr int kCount = 10000;
  Runtime runtime(test_options(2));
  // Per shard: the work writes its slot, done checks it; both in order.
  struct PerShard {
    std::vector<int> written = std::vector<int>(kCount, -1);
    int next_work = 0;  // worker only
    int next_done = 0;  // shard only
    int out_of_order = 0;
    int unwritten = 0;
  };
  PerShard per_shard[2];
  Signal done[2];
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    PerShard& mine = per_shard[shard.id().value()];
                    Signal& finished = done[shard.id().value()];
                    for (int i = 0; i < kCount; ++i) {
                      shard.offload(
                          [&mine, i] {
                            if (mine.next_work++ != i) ++mine.out_of_order;
                            mine.written[static_cast<std::size_t>(i)] = i;
                          },
                          [&mine, &finished, i] {
                            if (mine.next_done++ != i) ++mine.out_of_order;
                            if (mine.written[static_cast<std::size_t>(i)] != i) ++mine.unwritten;
                            if (i == kCount - 1) finished.notify();
                          });
                    }
                  })
                  .has_value());
  ASSERT_TRUE(done[0].wait());
  ASSERT_TRUE(done[1].wait());
  runtime.request_stop();
  runtime.wait();
  for (const PerShard& shard : per_shard) {
    EXPECT_EQ(shard.next_work, kCount);
    EXPECT_EQ(shard.next_done, kCount);
    EXPECT_EQ(shard.out_of_order, 0);
    EXPECT_EQ(shard.unwritten, 0);
  }
}

TEST(Offload, DoneMayOffloadAgain) {
  // A group commit: each batch's done starts the next batch.
  constexpr int kBatches = 50;
  Runtime runtime(test_options(1));
  int batches = 0;  // shard only
  std::atomic<int> works{0};
  Signal finished;
  std::function<void(Shard&)> next = [&](Shard& shard) {
    shard.offload([&] { ++works; },
                  [&, s = &shard] {
                    if (++batches == kBatches) {
                      finished.notify();
                      return;
                    }
                    next(*s);
                  });
  };
  ASSERT_TRUE(runtime.start([&](Shard& shard) { next(shard); }).has_value());
  ASSERT_TRUE(finished.wait());
  runtime.request_stop();
  runtime.wait();
  EXPECT_EQ(batches, kBatches);
  EXPECT_EQ(works.load(), kBatches);
}

}  // namespace
}  // namespace mta::engine
