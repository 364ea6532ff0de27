// IntakeLimiter: messages and octets per client a minute, with a manual clock.
#include "mailbox/intake_limit.h"

#include <gtest/gtest.h>

#include <chrono>

namespace mta::mailbox {
namespace {

using std::chrono::seconds;

TEST(IntakeLimiter, MessagesPerMinute) {
  IntakeLimiter limiter({.messages_per_minute = 3, .bytes_per_minute = 0});
  const Clock::TimePoint t0{};
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.admit("192.0.2.1", t0)) << i;
  EXPECT_EQ(limiter.admit("192.0.2.1", t0),
            "450 4.7.1 Too many messages from 192.0.2.1, try again later");
  EXPECT_FALSE(limiter.admit("192.0.2.2", t0));  // another client has its own budget
  EXPECT_TRUE(limiter.admit("192.0.2.1", t0 + seconds(19)));
  EXPECT_FALSE(limiter.admit("192.0.2.1", t0 + seconds(20)));  // a third of a minute: one more
  EXPECT_TRUE(limiter.admit("192.0.2.1", t0 + seconds(20)));
  EXPECT_EQ(limiter.probe().refused_messages, 3u);
}

TEST(IntakeLimiter, BytesPerMinuteWithDebt) {
  IntakeLimiter limiter({.messages_per_minute = 0, .bytes_per_minute = 600});
  const Clock::TimePoint t0{};
  EXPECT_FALSE(limiter.admit("192.0.2.1", t0));
  limiter.charge("192.0.2.1", 500, t0);
  EXPECT_FALSE(limiter.admit("192.0.2.1", t0));  // 100 octets left: one more message
  limiter.charge("192.0.2.1", 1300, t0);         // larger than a minute's worth: taken, owed
  EXPECT_EQ(limiter.admit("192.0.2.1", t0),
            "450 4.7.1 Too much mail from 192.0.2.1, try again later");
  // -1200 refills at 10 octets a second: above zero after 120 s.
  EXPECT_TRUE(limiter.admit("192.0.2.1", t0 + seconds(120)));
  EXPECT_FALSE(limiter.admit("192.0.2.1", t0 + seconds(121)));
}

TEST(IntakeLimiter, Ipv6CountsPerSlash64) {
  EXPECT_EQ(intake_client_key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(intake_client_key("192.0.2.7"), "192.0.2.7");
  IntakeLimiter limiter({.messages_per_minute = 1, .bytes_per_minute = 0});
  EXPECT_FALSE(limiter.admit("2001:db8::1", {}));
  EXPECT_TRUE(limiter.admit("2001:db8::2", {}));
  EXPECT_FALSE(limiter.admit("2001:db8:0:1::1", {}));
}

TEST(IntakeLimiter, TableIsBounded) {
  IntakeLimiter limiter({.messages_per_minute = 1, .bytes_per_minute = 0, .clients_max = 2});
  const Clock::TimePoint t0{};
  EXPECT_FALSE(limiter.admit("192.0.2.1", t0));
  EXPECT_FALSE(limiter.admit("192.0.2.2", t0));
  EXPECT_EQ(limiter.admit("192.0.2.3", t0),
            "450 4.7.1 Too many clients sending at once, try again later");
  EXPECT_EQ(limiter.clients(), 2u);
  // A minute on, both buckets are full again and make room.
  EXPECT_FALSE(limiter.admit("192.0.2.3", t0 + seconds(60)));
  EXPECT_EQ(limiter.clients(), 1u);
}

TEST(IntakeLimiter, ZeroIsUnlimited) {
  IntakeLimiter limiter({.messages_per_minute = 0, .bytes_per_minute = 0});
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.admit("192.0.2.1", {}));
  EXPECT_EQ(limiter.clients(), 0u);
}

}  // namespace
}  // namespace mta::mailbox
