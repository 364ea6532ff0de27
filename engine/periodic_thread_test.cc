#include "engine/periodic_thread.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace mta::engine {
namespace {

using namespace std::chrono_literals;

TEST(PeriodicThread, TicksAtOnceAndAgainWhenWoken) {
  std::atomic<int> ticks{0};
  {
    PeriodicThread thread(1h, [&] { ++ticks; });
    for (int i = 0; i < 2000 && ticks.load() < 1; ++i) std::this_thread::sleep_for(1ms);
    EXPECT_EQ(ticks.load(), 1);  // the interval is an hour: only the first tick
    thread.wake();
    for (int i = 0; i < 2000 && ticks.load() < 2; ++i) std::this_thread::sleep_for(1ms);
    EXPECT_EQ(ticks.load(), 2);
  }  // the destructor stops the thread in the middle of its hour-long wait
  EXPECT_EQ(ticks.load(), 2);
}

TEST(PeriodicThread, TicksEveryInterval) {
  std::atomic<int> ticks{0};
  PeriodicThread thread(5ms, [&] { ++ticks; });
  for (int i = 0; i < 5000 && ticks.load() < 5; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_GE(ticks.load(), 5);
}

}  // namespace
}  // namespace mta::engine
