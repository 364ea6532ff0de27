#include "app/status.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "proto/http/json.h"

namespace mta::app {
namespace {

Clock::WallTime at(int seconds) {
  return Clock::WallTime(std::chrono::seconds(1'800'000'000 + seconds));
}

const http::JsonValue& destination(const http::JsonValue& status, const std::string& name) {
  for (const auto& row : status.find("queue")->find("destinations")->as_array()) {
    if (row.find("destination")->as_string() == name) return row;
  }
  static const http::JsonValue none;
  ADD_FAILURE() << "no row for " << name;
  return none;
}

std::int64_t integer(const http::JsonValue& row, const char* key) {
  return row.find(key)->as_int64().value_or(-1);
}

TEST(StatusBoard, ADomainCountsThePoolConnectionsCarryingItsMailOnAnyShard) {
  StatusBoard board(2);
  // Shard 0: slow.test handed everything to its pool; busy.test still has parts at home.
  board.publish(0, {},
                {{.destination = "slow.test", .kind = "domain", .pool = "mx:mx.slow.test"},
                 {.destination = "busy.test",
                  .kind = "domain",
                  .pool = "mx:mx.slow.test",
                  .parts = 2,
                  .next_attempt = at(3600)}});
  // Shard 1: the pool, 8 connections open, 5 busy: 4 for slow.test, 1 for busy.test.
  board.publish(1, {},
                {{.destination = "mx:mx.slow.test",
                  .kind = "pool",
                  .parts = 5,
                  .in_flight = 5,
                  .connections = 8,
                  .connections_max = 8,
                  .carrying = {{"busy.test", 1}, {"slow.test", 4}}}});
  auto status = http::parse_json(board.render_json({}, at(10)));
  ASSERT_TRUE(status);
  const auto& slow = destination(*status, "slow.test");
  EXPECT_EQ(integer(slow, "connections"), 4);
  EXPECT_EQ(integer(slow, "pool_connections"), 8);
  EXPECT_EQ(integer(slow, "parts"), 4);
  EXPECT_EQ(slow.find("state")->as_string(), "delivering");
  const auto& busy = destination(*status, "busy.test");
  EXPECT_EQ(integer(busy, "connections"), 1);
  EXPECT_EQ(integer(busy, "parts"), 3);
  const auto& pool = destination(*status, "mx:mx.slow.test");
  EXPECT_EQ(pool.find("kind")->as_string(), "pool");
  EXPECT_EQ(integer(pool, "connections"), 8);
  // Every part once: 2 at busy.test's home, 5 at the pool.
  EXPECT_EQ(integer(*status->find("queue"), "parts"), 7);
}

TEST(StatusBoard, StatesSayWhy) {
  StatusBoard board(1);
  board.note_suspension("held.test", at(100), "operator");
  board.note_suspension("resumed.test", at(100), "operator");
  board.note_suspension("resumed.test", std::nullopt, "operator");
  board.publish(0, {},
                {{.destination = "held.test", .parts = 1, .suspended_until = at(100)},
                 {.destination = "ruled.test", .parts = 1, .suspended_until = at(200)},
                 {.destination = "resumed.test", .parts = 1, .suspended_until = at(300)},
                 {.destination = "slowed.test", .parts = 1, .throttled = true},
                 {.destination = "later.test", .parts = 1, .next_attempt = at(500)}});
  auto status = http::parse_json(board.render_json({}, at(10)));
  ASSERT_TRUE(status);
  const auto state = [&](const char* name) {
    const auto& row = destination(*status, name);
    return row.find("state")->as_string() + "/" + row.find("state_reason")->as_string();
  };
  EXPECT_EQ(state("held.test"), "suspended/operator");
  // Suspended without the board being told: a response rule's.
  EXPECT_EQ(state("ruled.test"), "suspended/response rule");
  EXPECT_EQ(state("resumed.test"), "suspended/response rule");
  EXPECT_EQ(state("slowed.test"), "throttled/response rule");
  EXPECT_EQ(state("later.test"), "waiting/not due yet");
}

TEST(StatusBoard, TheHourAndTheRateWindowAreForPeople) {
  StatusBoard board(1);
  for (int s = 0; s <= 30; ++s) {
    board.publish(0, {.delivered = static_cast<std::uint64_t>(s) * 3}, {});
    board.sample(at(s) + std::chrono::milliseconds(13 * s));  // samples drift a little
  }
  auto status = http::parse_json(board.render_json({.started_at = at(0)}, at(31)));
  ASSERT_TRUE(status);
  EXPECT_EQ(status->find("rates")->find("window_seconds")->as_double(), 10.0);
  const auto* hour = status->find("throughput");
  ASSERT_NE(hour, nullptr);
  EXPECT_EQ(integer(*hour, "bucket_seconds"), 10);
  std::int64_t delivered = 0;
  for (const auto& bucket : hour->find("delivered")->as_array()) {
    delivered += bucket.as_int64().value_or(0);
  }
  EXPECT_EQ(delivered, 90);
  EXPECT_EQ(hour->find("delivered")->as_array().size(), 360u);
}

}  // namespace
}  // namespace mta::app
