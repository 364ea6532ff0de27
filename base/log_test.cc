// RepeatLimiter on a ManualClock: the first line of a kind at once, the rest held back and
// counted, one line per interval with the count, flush() for a kind that stopped, kinds kept
// apart by key, and the cap on kinds remembered.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "base/log.h"

namespace mta::log {
namespace {

using std::chrono::seconds;

struct Lines {
  std::vector<std::string> got;
  RepeatLimiter::Sink sink() {
    return [this](Level, std::string_view text) { got.emplace_back(text); };
  }
};

TEST(RepeatLimiter, FirstLineThenOnePerIntervalWithTheCount) {
  ManualClock clock;
  Lines lines;
  RepeatLimiter limiter(clock, {.interval = seconds(60)}, lines.sink());
  // One failure a second for three minutes: 180 lines asked for.
  for (int i = 0; i < 180; ++i) {
    limiter.write(Level::warning, "connect a.example",
                  "a.example: connect to 192.0.2.1:25 failed (" + std::to_string(i) + ")");
    clock.advance(seconds(1));
  }
  const std::vector<std::string> want = {
      "a.example: connect to 192.0.2.1:25 failed (0)",
      "a.example: connect to 192.0.2.1:25 failed (60) (59 more like this in the last 60s)",
      "a.example: connect to 192.0.2.1:25 failed (120) (59 more like this in the last 60s)",
  };
  EXPECT_EQ(lines.got, want);
}

TEST(RepeatLimiter, FlushWritesTheCountOfAKindThatStopped) {
  ManualClock clock;
  Lines lines;
  RepeatLimiter limiter(clock, {.interval = seconds(60)}, lines.sink());
  for (int i = 0; i < 5; ++i) limiter.write(Level::warning, "k", "line " + std::to_string(i));
  limiter.flush();  // the interval is not over: nothing yet
  EXPECT_EQ(lines.got, std::vector<std::string>{"line 0"});
  clock.advance(seconds(75));
  limiter.flush();
  const std::vector<std::string> want = {"line 0", "line 4 (4 more like this in the last 75s)"};
  EXPECT_EQ(lines.got, want);
  // Nothing held back now: the next flush forgets the kind, which is new again after that.
  clock.advance(seconds(60));
  limiter.flush();
  EXPECT_EQ(limiter.kinds_for_test(), 0u);
  limiter.write(Level::warning, "k", "again");
  EXPECT_EQ(lines.got.back(), "again");
  EXPECT_EQ(lines.got.size(), 3u);
}

TEST(RepeatLimiter, KindsAreKeptApartByKey) {
  ManualClock clock;
  Lines lines;
  RepeatLimiter limiter(clock, {.interval = seconds(60)}, lines.sink());
  for (int i = 0; i < 3; ++i) {
    limiter.write(Level::warning, "connect a.example 4.4.1", "a refused");
    limiter.write(Level::warning, "connect a.example 4.7.5", "a TLS failed");
    limiter.write(Level::warning, "connect b.example 4.4.1", "b refused");
  }
  const std::vector<std::string> want = {"a refused", "a TLS failed", "b refused"};
  EXPECT_EQ(lines.got, want);
  EXPECT_EQ(limiter.kinds_for_test(), 3u);
}

TEST(RepeatLimiter, KindsBeyondTheCapShareOneEntry) {
  ManualClock clock;
  Lines lines;
  RepeatLimiter limiter(clock, {.interval = seconds(60), .keys_max = 4}, lines.sink());
  for (int i = 0; i < 100; ++i) {
    limiter.write(Level::warning, "kind " + std::to_string(i), "line " + std::to_string(i));
  }
  EXPECT_EQ(limiter.kinds_for_test(), 4u);  // bounded, however many kinds come
  // The first four kinds each once, then the overflow's first line; the other 95 held back.
  const std::vector<std::string> want = {"line 0", "line 1", "line 2", "line 3", "line 4"};
  EXPECT_EQ(lines.got, want);
  clock.advance(seconds(60));
  limiter.flush();
  ASSERT_EQ(lines.got.size(), 6u);
  EXPECT_EQ(lines.got.back(), "line 99 (95 more like this in the last 60s)");
  // The four kinds' interval is over with nothing held: room for new kinds again.
  limiter.write(Level::warning, "kind new", "new kind");
  EXPECT_EQ(lines.got.back(), "new kind");
  EXPECT_LE(limiter.kinds_for_test(), 4u);
}

TEST(RepeatLimiter, KeepsTheLevelAndCutsALongLastLine) {
  ManualClock clock;
  std::vector<std::pair<Level, std::string>> got;
  RepeatLimiter limiter(clock, {.interval = seconds(10), .text_bytes_max = 8},
                        [&](Level at, std::string_view text) { got.emplace_back(at, text); });
  limiter.write(Level::error, "k", "first");
  limiter.write(Level::error, "k", "a very long line indeed");
  clock.advance(seconds(10));
  limiter.flush();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].first, Level::error);
  EXPECT_EQ(got[1].second, "a very l (1 more like this in the last 10s)");
}

}  // namespace
}  // namespace mta::log
