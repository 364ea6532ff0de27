// Pins the byte layout of the spool's keys (queue/README.md): big-endian fields, so bytewise
// order is numeric order, and parsers that reject wrong lengths.
#include "queue/keys.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "queue/errc.h"

namespace mta::queue {
namespace {

using namespace std::chrono_literals;

template <std::size_t N>
std::string bytes_of(const std::array<char, N>& key) {
  return std::string(key.data(), key.size());
}

TEST(Keys, LayoutIsBigEndian) {
  const PartKey key{MessageId(0x0102030405060708ULL), 0x0a0b0c0d};
  EXPECT_EQ(bytes_of(body_key(key.message)), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(bytes_of(envelope_key(key)),
            std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x0a\x0b\x0c\x0d", 12));
  const Clock::WallTime due(0x1122334455ms);
  EXPECT_EQ(bytes_of(schedule_key(due, key)),
            std::string("\x00\x00\x00\x11\x22\x33\x44\x55"
                        "\x01\x02\x03\x04\x05\x06\x07\x08\x0a\x0b\x0c\x0d",
                        20));
}

TEST(Keys, DueTimeRoundsDownToMillisecondsAndClampsBefore1970) {
  struct Case {
    std::string name;
    Clock::WallTime due;
    std::uint64_t want_ms;
  };
  const std::vector<Case> cases = {
      {"epoch", Clock::WallTime(0s), 0},
      {"exact", Clock::WallTime(1'700'000'000'123ms), 1'700'000'000'123},
      {"fraction", Clock::WallTime(1'700'000'000'123ms + 999us), 1'700'000'000'123},
      {"before_1970", Clock::WallTime(-1s), 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(due_ms(c.due), c.want_ms);
    Result<ParsedScheduleKey> parsed =
        parse_schedule_key(bytes_of(schedule_key(c.due, PartKey{MessageId(7), 1})));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->due, from_due_ms(c.want_ms));
    EXPECT_EQ(parsed->key, (PartKey{MessageId(7), 1}));
  }
}

TEST(Keys, BytewiseOrderIsNumericOrder) {
  const std::vector<PartKey> ascending = {
      {MessageId(1), 0},    {MessageId(1), 1},     {MessageId(1), 0x100},
      {MessageId(0xff), 0}, {MessageId(0x100), 0}, {MessageId(~0ULL), ~0U},
  };
  for (std::size_t i = 1; i < ascending.size(); ++i) {
    EXPECT_LT(bytes_of(envelope_key(ascending[i - 1])), bytes_of(envelope_key(ascending[i])));
    // The due time dominates the key in the schedule.
    EXPECT_LT(bytes_of(schedule_key(Clock::WallTime(1ms), ascending[i])),
              bytes_of(schedule_key(Clock::WallTime(2ms), ascending[i - 1])));
  }
}

TEST(Keys, ParsersRoundTripAndRejectWrongLengths) {
  const PartKey key{MessageId(0xfedcba9876543210ULL), 77};
  EXPECT_EQ(parse_body_key(bytes_of(body_key(key.message))).value_or(MessageId()), key.message);
  EXPECT_EQ(parse_envelope_key(bytes_of(envelope_key(key))).value_or(PartKey{}), key);
  for (const std::size_t size : {0U, 7U, 9U, 11U, 13U, 19U, 21U}) {
    const std::string bytes(size, '\x01');
    EXPECT_EQ(size == 8, parse_body_key(bytes).has_value()) << size;
    EXPECT_FALSE(parse_envelope_key(bytes).has_value()) << size;
    EXPECT_FALSE(parse_schedule_key(bytes).has_value()) << size;
  }
  // A due time past what Clock::WallTime can hold was never written.
  std::string far(20, '\0');
  far[0] = '\x7f';
  Result<ParsedScheduleKey> parsed = parse_schedule_key(far);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code, Errc::corrupt_record);
}

TEST(Keys, ScheduleValueCarriesTagsAndReadsOldValues) {
  Envelope e;
  e.id = MessageId(7);
  e.destination = "example.com";
  EXPECT_EQ(schedule_value(e), "example.com");  // untagged: as before tenants
  e.tenant = "acme";
  e.traffic_class = TrafficClass::bulk;
  e.pool = "p1";
  EXPECT_EQ(schedule_value(e), std::string("example.com\0acme\0b\0p1", 21));
  ScheduledItem item;
  ASSERT_TRUE(parse_schedule_value(schedule_value(e), item).has_value());
  EXPECT_EQ(item.destination, "example.com");
  EXPECT_EQ(item.tenant, "acme");
  EXPECT_EQ(item.traffic_class, TrafficClass::bulk);
  EXPECT_EQ(item.pool, "p1");
  e.tenant = "";
  e.pool = "";
  ASSERT_TRUE(parse_schedule_value(schedule_value(e), item).has_value());
  EXPECT_EQ(item.tenant, "");
  EXPECT_EQ(item.traffic_class, TrafficClass::bulk);
  ASSERT_TRUE(parse_schedule_value("relay", item).has_value());  // an entry from before tenants
  EXPECT_EQ(item.destination, "relay");
  EXPECT_EQ(item.tenant, "");
  EXPECT_EQ(item.traffic_class, TrafficClass::transactional);
  for (const std::string& bad :
       {std::string("d\0", 2), std::string("d\0t", 3), std::string("d\0t\0x\0", 6),
        std::string("d\0t\0b", 5), std::string("d\0t\0b\0p\0", 8)}) {
    EXPECT_FALSE(parse_schedule_value(bad, item).has_value()) << bad.size();
  }
}

}  // namespace
}  // namespace mta::queue
