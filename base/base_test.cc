// Unit tests for base/: Result, StrongId, Buffer, ManualClock.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>

#include "base/base64.h"
#include "base/buffer.h"
#include "base/clock.h"
#include "base/result.h"
#include "base/strong_id.h"

namespace mta {
namespace {

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') {
    return unexpected(std::make_error_code(std::errc::invalid_argument), std::string(1, c));
  }
  return c - '0';
}

TEST(Result, HoldsValueOrError) {
  auto ok = parse_digit('7');
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, 7);
  auto bad = parse_digit('x');
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, std::errc::invalid_argument);
  EXPECT_EQ(bad.error().detail, "x");
  EXPECT_EQ(bad.value_or(-1), -1);
  EXPECT_NE(bad.error().message().find(": x"), std::string::npos);
}

TEST(Result, VoidAndMoveOnly) {
  Result<void> fine;
  EXPECT_TRUE(fine.has_value());
  Result<void> failed = unexpected(std::make_error_code(std::errc::io_error));
  EXPECT_FALSE(failed.has_value());
  Result<std::unique_ptr<int>> owned = std::make_unique<int>(3);
  std::unique_ptr<int> taken = std::move(owned).value();
  EXPECT_EQ(*taken, 3);
}

TEST(ResultDeathTest, ValueOfErrorAborts) {
  EXPECT_DEATH((void)parse_digit('x').value(), "assertion failed");
}

TEST(StrongId, ComparesAndHashes) {
  MessageId a(1), b(2);
  EXPECT_LT(a, b);
  EXPECT_EQ(a, MessageId(1));
  std::unordered_set<MessageId> set{a, b, MessageId(1)};
  EXPECT_EQ(set.size(), 2U);
  EXPECT_EQ(to_hex(MessageId(0xabcU)), "0000000000000abc");
}

TEST(Buffer, AppendConsumePrepareCommit) {
  Buffer buffer;
  buffer.append("hello ");
  auto space = buffer.prepare(16);
  ASSERT_EQ(space.size(), 16U);
  space[0] = 'w';
  space[1] = 'o';
  buffer.commit(2);
  EXPECT_EQ(buffer.readable(), "hello wo");
  buffer.consume(6);
  EXPECT_EQ(buffer.readable(), "wo");
  buffer.append("rld");
  EXPECT_EQ(buffer.readable(), "world");
  buffer.consume(5);
  EXPECT_TRUE(buffer.empty());
}

TEST(Buffer, ManyCyclesKeepContent) {
  Buffer buffer;
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    std::string piece = std::to_string(i) + ",";
    buffer.append(piece);
    expected += piece;
    if (i % 3 == 0) {
      buffer.consume(2);
      expected.erase(0, 2);
    }
  }
  EXPECT_EQ(buffer.readable(), expected);
}

TEST(ManualClock, MovesOnlyWhenAdvanced) {
  ManualClock clock;
  auto start = clock.now();
  auto wall = clock.wall_now();
  EXPECT_EQ(clock.now(), start);
  clock.advance(std::chrono::seconds(5));
  EXPECT_EQ(clock.now() - start, std::chrono::seconds(5));
  EXPECT_EQ(clock.wall_now() - wall, std::chrono::seconds(5));
}

TEST(Base64, StrictDecodeTakesOnlyPaddedBase64) {
  struct Case {
    std::string_view in;
    std::optional<std::string> want;
  };
  const Case cases[] = {
      {"", std::string()},          {"AGFwcABzM2NyZXQ=", std::string("\0app\0s3cret", 11)},
      {"Zm9v", std::string("foo")}, {"Zm8=", std::string("fo")},
      {"Zg==", std::string("f")},   {"Zg=", std::nullopt},  // not a multiple of 4
      {"Z===", std::nullopt},                               // padding too early
      {"Zg==Zg==", std::nullopt},                           // padding before the end
      {"Zm 9", std::nullopt},                               // a space
      {"Zm9*", std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(base64_decode_strict(c.in), c.want) << c.in;
  }
  static_assert(base64_value('A') == 0 && base64_value('/') == 63 && base64_value('=') == -1);
}

TEST(Base64, EncodeGivesRfc4648VectorsAndRoundTrips) {
  const std::pair<std::string_view, std::string_view> vectors[] = {{"", ""},
                                                                   {"f", "Zg=="},
                                                                   {"fo", "Zm8="},
                                                                   {"foo", "Zm9v"},
                                                                   {"foob", "Zm9vYg=="},
                                                                   {"fooba", "Zm9vYmE="},
                                                                   {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) EXPECT_EQ(base64_encode(plain), encoded) << plain;
  const std::string credentials("\0app\0s3cret\xff", 12);
  EXPECT_EQ(base64_decode_strict(base64_encode(credentials)), credentials);
}

}  // namespace
}  // namespace mta
