// Shard and Runtime: timers, defer, cross-shard and outside messages, start failure, the
// drain gate and signals. Connections have their own file.
#include "engine/shard.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "engine/errc.h"
#include "engine/runtime.h"
#include "engine/test_support.h"

namespace mta::engine {
namespace {

using namespace std::chrono_literals;
using testing::Signal;
using testing::test_options;

TEST(Shard, TimersFireInDeadlineOrderAndCancelWorks) {
  // A manual clock makes the order exact: only the shard's own tasks move time.
  ManualClock clock;
  RuntimeOptions options = test_options(1);
  options.clock = &clock;
  Runtime runtime(options);
  std::vector<std::string> got;
  Signal done;
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    shard.schedule(20ms, [&] { got.push_back("a@20"); });
                    shard.schedule(10ms, [&] { got.push_back("b@10"); });
                    shard.schedule(10ms, [&] { got.push_back("c@10"); });
                    const TimerId cancelled = shard.schedule(15ms, [&] { got.push_back("x"); });
                    shard.schedule(0ms, [&] { got.push_back("d@0"); });
                    shard.schedule(0ms, [&, &s = shard] {
                      got.push_back("advance");
                      clock.advance(30ms);
                      s.schedule(1h, [&] { got.push_back("never"); });
                      s.schedule(0ms, [&] { done.notify(); });
                    });
                    shard.cancel_timer(cancelled);
                    shard.cancel_timer(cancelled);  // twice is a no-op
                    shard.cancel_timer(12345);      // unknown id too
                  })
                  .has_value());
  ASSERT_TRUE(done.wait());
  runtime.request_stop();
  runtime.wait();
  const std::vector<std::string> want = {"d@0", "advance", "b@10", "c@10", "a@20"};
  EXPECT_EQ(got, want);
}

TEST(Shard, RealClockTimerWaitsItsDelay) {
  Runtime runtime(test_options(1));
  Signal done;
  std::chrono::steady_clock::duration elapsed{};
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    const auto start = shard.clock().now();
                    shard.schedule(50ms, [&, start, s = &shard] {
                      elapsed = s->clock().now() - start;
                      done.notify();
                    });
                  })
                  .has_value());
  ASSERT_TRUE(done.wait());
  runtime.request_stop();
  runtime.wait();
  EXPECT_GE(elapsed, 50ms);
  EXPECT_LT(elapsed, 2s);
}

TEST(Shard, DeferRunsAfterTheCurrentTask) {
  Runtime runtime(test_options(1));
  std::vector<std::string> got;
  Signal done;
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    shard.schedule(0ms, [&, s = &shard] {
                      s->defer([&, s] {
                        got.push_back("deferred");
                        s->defer([&] {
                          got.push_back("deferred by deferred");
                          done.notify();
                        });
                      });
                      got.push_back("task end");
                    });
                  })
                  .has_value());
  ASSERT_TRUE(done.wait());
  runtime.request_stop();
  runtime.wait();
  const std::vector<std::string> want = {"task end", "deferred", "deferred by deferred"};
  EXPECT_EQ(got, want);
}

TEST(Shard, CrossShardPostDeliversInOrderOnTheTargetThread) {
  constexpr int kCount = 1000;
  Runtime runtime(test_options(2));
  std::vector<int> got;  // touched only by shard 1
  std::thread::id receiver_thread;
  std::thread::id sender_thread;
  bool all_accepted = true;
  Signal done;
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    if (shard.id() != ShardId(0)) return;
                    sender_thread = std::this_thread::get_id();
                    for (int i = 0; i < kCount; ++i) {
                      all_accepted &= shard.post(ShardId(1), [&, i](Shard& target) {
                        receiver_thread = std::this_thread::get_id();
                        if (target.id() == ShardId(1)) got.push_back(i);
                      });
                    }
                    all_accepted &= shard.post(ShardId(1), [&](Shard&) { done.notify(); });
                  })
                  .has_value());
  ASSERT_TRUE(done.wait());
  runtime.request_stop();
  runtime.wait();
  EXPECT_TRUE(all_accepted);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(got[i], i);
  EXPECT_NE(receiver_thread, sender_thread);
}

TEST(Shard, PostReportsFullChannel) {
  RuntimeOptions options = test_options(1);
  options.channel_capacity = 8;
  Runtime runtime(options);
  std::vector<int> accepted;
  std::vector<int> ran;
  bool retry_accepted = false;
  Signal done;
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    // Posting to ourselves: nothing drains the channel until this task ends.
                    for (int i = 0; i < 10; ++i) {
                      if (shard.post(shard.id(), [&, i](Shard&) { ran.push_back(i); })) {
                        accepted.push_back(i);
                      }
                    }
                    shard.schedule(1ms, [&, s = &shard] {
                      retry_accepted = s->post(s->id(), [&](Shard&) { done.notify(); });
                    });
                  })
                  .has_value());
  ASSERT_TRUE(done.wait());
  runtime.request_stop();
  runtime.wait();
  const std::vector<int> want = {0, 1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(accepted, want);
  EXPECT_EQ(ran, want);
  EXPECT_TRUE(retry_accepted);
}

TEST(Shard, PostUntilTakenRetriesAFullChannel) {
  RuntimeOptions options = test_options(1);
  options.channel_capacity = 4;
  Runtime runtime(options);
  std::vector<int> ran;
  Signal done;
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    // Posting to ourselves: the channel holds 4 until this task ends; the
                    // rest wait on timers and still arrive.
                    for (int i = 0; i < 10; ++i) {
                      shard.post_until_taken(shard.id(), [&, i](Shard&) {
                        ran.push_back(i);
                        if (ran.size() == 10) done.notify();
                      });
                    }
                  })
                  .has_value());
  ASSERT_TRUE(done.wait());
  runtime.request_stop();
  runtime.wait();
  ASSERT_EQ(ran.size(), 10u);
  std::sort(ran.begin(), ran.end());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(ran[i], i);
}

TEST(Runtime, PostFromOutsideRunsOnEachShard) {
  RuntimeOptions options = test_options(2);
  options.channel_capacity = 4;
  Runtime runtime(options);
  // Before start: bounded by channel_capacity, kept until the shard runs.
  std::atomic<int> early{0};
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(runtime.post_from_outside(ShardId(0), [&](Shard&) { ++early; }));
  }
  EXPECT_FALSE(runtime.post_from_outside(ShardId(0), [&](Shard&) { ++early; }));

  ASSERT_TRUE(runtime.start([](Shard&) {}).has_value());
  std::thread::id ids[2];
  ShardId seen[2] = {ShardId(99), ShardId(99)};
  Signal done[2];
  for (std::uint32_t i = 0; i < 2; ++i) {
    // A full queue is retried: the shard drains it soon.
    while (!runtime.post_from_outside(ShardId(i), [&, i](Shard& shard) {
      ids[i] = std::this_thread::get_id();
      seen[i] = shard.id();
      done[i].notify();
    })) {
      std::this_thread::sleep_for(1ms);
    }
  }
  ASSERT_TRUE(done[0].wait());
  ASSERT_TRUE(done[1].wait());
  runtime.request_stop();
  runtime.wait();
  EXPECT_EQ(early.load(), 4);
  EXPECT_EQ(seen[0], ShardId(0));
  EXPECT_EQ(seen[1], ShardId(1));
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_NE(ids[0], std::this_thread::get_id());
}

TEST(Runtime, StartFailsWhenTheRingCannotBeCreated) {
  RuntimeOptions options = test_options(2);
  options.ring_entries = 0;  // io_uring_setup rejects an empty ring
  Runtime runtime(options);
  std::atomic<int> inits{0};
  const Result<void> started = runtime.start([&](Shard&) { ++inits; });
  ASSERT_FALSE(started.has_value());
  EXPECT_EQ(started.error().code, make_error_code(Errc::ring_setup_failed));
  EXPECT_EQ(inits.load(), 0);
  runtime.wait();
}

TEST(Runtime, StopDrainsHeldWorkBeforeExiting) {
  Runtime runtime(test_options(2));
  std::atomic<int> hooks{0};
  std::atomic<int> released{0};
  std::atomic<bool> stopping_in_hook{true};
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    shard.hold();  // in-flight work, finished 50 ms after the stop
                    shard.on_stop([&, s = &shard] {
                      ++hooks;
                      stopping_in_hook = stopping_in_hook && s->stopping();
                      s->schedule(50ms, [&, s] {
                        ++released;
                        s->release();
                      });
                    });
                  })
                  .has_value());
  const auto start = std::chrono::steady_clock::now();
  runtime.request_stop();
  runtime.request_stop();  // idempotent
  runtime.wait();
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  EXPECT_EQ(hooks.load(), 2);
  EXPECT_EQ(released.load(), 2);
  EXPECT_TRUE(stopping_in_hook.load());
}

TEST(Runtime, DrainTimeoutEndsStuckWork) {
  RuntimeOptions options = test_options(1);
  options.drain_timeout = 100ms;
  Runtime runtime(options);
  ASSERT_TRUE(runtime.start([](Shard& shard) { shard.hold(); }).has_value());  // never released
  const auto start = std::chrono::steady_clock::now();
  runtime.request_stop();
  runtime.wait();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 100ms);
  EXPECT_LT(elapsed, 5s);
}

TEST(Runtime, RunUntilSignalStopsOnSigterm) {
  Runtime::block_stop_signals();
  Runtime runtime(test_options(1));
  std::atomic<bool> hook_ran{false};
  ASSERT_TRUE(
      runtime.start([&](Shard& shard) { shard.on_stop([&] { hook_ran = true; }); }).has_value());
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);  // stays pending: every thread blocks it
  EXPECT_EQ(runtime.run_until_signal(), SIGTERM);
  EXPECT_TRUE(hook_ran.load());
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace
}  // namespace mta::engine
