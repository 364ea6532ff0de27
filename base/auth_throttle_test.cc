// Unit tests for AuthThrottle (on a ManualClock: no sleeping), the failure log line and
// log::quoted().
#include "base/auth_throttle.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/config_reader_for_test.h"
#include "base/log.h"

namespace mta {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr Clock::Duration base_delay = seconds(1);

// `count` failures of `user` from `ip`, each at clock.now(), the clock moving `step` after each.
void fail(AuthThrottle& throttle, ManualClock& clock, std::string_view ip, std::string_view user,
          int count, Clock::Duration step = seconds(1)) {
  for (int i = 0; i < count; ++i) {
    auto attempt = throttle.begin(ip, clock.now());
    ASSERT_TRUE(attempt.has_value()) << "failure " << i + 1 << " from " << ip;
    (void)throttle.failed(std::move(*attempt), user, base_delay, clock.now());
    clock.advance(step);
  }
}

TEST(AuthThrottle, LocksAnAddressAfterFailuresMaxWithinTheWindow) {
  ManualClock clock;
  AuthThrottle throttle({.failures_max = 10, .failure_window = minutes(10), .lockout = minutes(5)});
  fail(throttle, clock, "192.0.2.1", "bob", 9);
  auto tenth = throttle.begin("192.0.2.1", clock.now());
  ASSERT_TRUE(tenth.has_value());
  EXPECT_TRUE(throttle.failed(std::move(*tenth), "bob", base_delay, clock.now()).locked);
  // The 11th attempt is refused before any password is checked, right or wrong.
  EXPECT_FALSE(throttle.begin("192.0.2.1", clock.now()).has_value());
  // Other addresses are not affected.
  EXPECT_TRUE(throttle.begin("192.0.2.2", clock.now()).has_value());
  // Until the cool-down ends; then the count starts from zero.
  clock.advance(minutes(5) - seconds(1));
  EXPECT_FALSE(throttle.begin("192.0.2.1", clock.now()).has_value());
  clock.advance(seconds(1));
  fail(throttle, clock, "192.0.2.1", "bob", 9);
  EXPECT_TRUE(throttle.begin("192.0.2.1", clock.now()).has_value());
}

TEST(AuthThrottle, FailuresOlderThanTheWindowDoNotCount) {
  ManualClock clock;
  AuthThrottle throttle({.failures_max = 3, .failure_window = minutes(10)});
  fail(throttle, clock, "192.0.2.1", "a", 1, minutes(6));               // at 0:00
  fail(throttle, clock, "192.0.2.1", "a", 1, minutes(4) + seconds(1));  // at 6:00
  // At 10:01 the first is out of the window: this is the second within it, not the third.
  fail(throttle, clock, "192.0.2.1", "a", 1, seconds(0));
  EXPECT_TRUE(throttle.begin("192.0.2.1", clock.now()).has_value());
}

TEST(AuthThrottle, SuccessResetsNothing) {
  ManualClock clock;
  AuthThrottle throttle({.failures_max = 3});
  fail(throttle, clock, "192.0.2.1", "bob", 2);
  // Another address's success, and the same address's own, leave its count as it was.
  auto other = throttle.begin("192.0.2.9", clock.now());
  ASSERT_TRUE(other.has_value());
  throttle.succeeded(std::move(*other));
  auto own = throttle.begin("192.0.2.1", clock.now());
  ASSERT_TRUE(own.has_value());
  throttle.succeeded(std::move(*own));
  fail(throttle, clock, "192.0.2.1", "bob", 1);
  EXPECT_FALSE(throttle.begin("192.0.2.1", clock.now()).has_value());
}

TEST(AuthThrottle, AttemptsInFlightHoldTheirPlace) {
  ManualClock clock;
  AuthThrottle throttle({.failures_max = 3});
  std::vector<AuthThrottle::Attempt> flying;
  for (int i = 0; i < 3; ++i) {
    auto attempt = throttle.begin("192.0.2.1", clock.now());
    ASSERT_TRUE(attempt.has_value());
    flying.push_back(std::move(*attempt));
  }
  // Three checks in flight from one address: a fourth connection gets no check.
  EXPECT_FALSE(throttle.begin("192.0.2.1", clock.now()).has_value());
  // An attempt dropped without an outcome (its connection closed) gives its place back.
  flying.pop_back();
  auto again = throttle.begin("192.0.2.1", clock.now());
  ASSERT_TRUE(again.has_value());
  throttle.succeeded(std::move(*again));
  throttle.succeeded(std::move(flying.back()));
  flying.pop_back();
  EXPECT_TRUE(throttle.begin("192.0.2.1", clock.now()).has_value());
}

TEST(AuthThrottle, AccountFailuresDoubleTheDelayUpToTheCap) {
  ManualClock clock;
  AuthThrottle throttle(
      {.failures_max = 1000, .failure_window = minutes(10), .failure_delay_max = seconds(5)});
  std::vector<long> got;
  const char* ips[] = {"192.0.2.1", "192.0.2.2", "198.51.100.3"};
  for (int i = 0; i < 6; ++i) {
    auto attempt = throttle.begin(ips[i % 3], clock.now());  // spread over addresses
    ASSERT_TRUE(attempt.has_value());
    got.push_back(std::chrono::duration_cast<milliseconds>(
                      throttle.failed(std::move(*attempt), "bob", base_delay, clock.now()).delay)
                      .count());
  }
  EXPECT_EQ(got, (std::vector<long>{1000, 2000, 4000, 5000, 5000, 5000}));
  // Another account is not slowed down; "bob" is never locked out, and after a quiet window
  // starts over.
  auto other = throttle.begin("192.0.2.1", clock.now());
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(throttle.failed(std::move(*other), "alice", base_delay, clock.now()).delay, base_delay);
  clock.advance(minutes(10) + seconds(1));
  auto later = throttle.begin("192.0.2.1", clock.now());
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(throttle.failed(std::move(*later), "bob", base_delay, clock.now()).delay, base_delay);
}

TEST(AuthThrottle, TablesAreBounded) {
  ManualClock clock;
  AuthThrottle throttle({.failures_max = 2, .entries_max = 100});
  fail(throttle, clock, "192.0.2.1", "victim", 1);
  for (int i = 0; i < 1000; ++i) {
    fail(throttle, clock, "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256),
         "user" + std::to_string(i), 1, seconds(0));
  }
  EXPECT_EQ(throttle.addresses_tracked(), 100U);
  EXPECT_EQ(throttle.accounts_tracked(), 100U);
}

TEST(AuthThrottle, AddressKeys) {
  const struct {
    std::string ip, want;
  } cases[] = {
      {"192.0.2.1", "192.0.2.1"},
      {"::ffff:192.0.2.1", "192.0.2.1"},
      {"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
      {"2001:db8:1:2::ffff", "2001:db8:1:2::/64"},
      {"::1", "::/64"},
      {"not an address", "not an address"},
  };
  for (const auto& c : cases) EXPECT_EQ(AuthThrottle::address_key(c.ip), c.want) << c.ip;
  // Two hosts of one /64 share a count.
  ManualClock clock;
  AuthThrottle throttle({.failures_max = 2});
  fail(throttle, clock, "2001:db8::1", "a", 1);
  fail(throttle, clock, "2001:db8::2", "a", 1);
  EXPECT_FALSE(throttle.begin("2001:db8::3", clock.now()).has_value());
  EXPECT_TRUE(throttle.begin("2001:db8:0:1::3", clock.now()).has_value());
}

TEST(AuthFailureLine, UserNamesCannotForgeFieldsOrLines) {
  const struct {
    std::string user, want;
  } cases[] = {
      {"bob", R"(user="bob")"},
      {"", R"(user="")"},
      {"bob\" ip=6.6.6.6", R"(user="bob\" ip=6.6.6.6")"},
      {"bob\nauth failure listener=imap ip=6.6.6.6 user=\"x\"",
       R"(user="bob\x0aauth failure listener=imap ip=6.6.6.6 user=\"x\"")"},
      {std::string("s3cret\0junk", 11), R"(user="s3cret\x00junk")"},
      {"a\\b\r\t\x7f", R"(user="a\\b\x0d\x09\x7f")"},
      {"j\xc3\xbcrgen", R"(user="j\xc3\xbcrgen")"},
      {std::string(100, 'x'), "user=\"" + std::string(64, 'x') + "\"..."},
  };
  for (const auto& c : cases) {
    const std::string line = auth_failure_line("submission", "192.0.2.1", c.user, seconds(2));
    EXPECT_EQ(line, "auth failure listener=submission ip=192.0.2.1 " + c.want + " delay_ms=2000");
    for (char ch : line) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << line;
  }
}

TEST(AuthFailureLine, NamesIpv4ClientsOfDualStackListenersAsIpv4) {
  EXPECT_EQ(auth_failure_line("imap", "::ffff:192.0.2.1", "u", seconds(1)),
            R"(auth failure listener=imap ip=192.0.2.1 user="u" delay_ms=1000)");
  EXPECT_EQ(auth_failure_line("imap", "2001:db8::1", "u", seconds(1)),
            R"(auth failure listener=imap ip=2001:db8::1 user="u" delay_ms=1000)");
}

TEST(HasControlCharacter, Table) {
  EXPECT_FALSE(has_control_character("s3cret with spaces"));
  EXPECT_FALSE(has_control_character("p\xc3\xa4ss"));
  EXPECT_TRUE(has_control_character(std::string("s3cret\0junk", 11)));
  EXPECT_TRUE(has_control_character("tab\there"));
  EXPECT_TRUE(has_control_character("del\x7f"));
  EXPECT_TRUE(has_control_character("cr\r"));
}

TEST(LogLevel, NoticeParsesAndSitsBetweenInfoAndWarning) {
  log::Level level = log::Level::error;
  ASSERT_TRUE(log::parse_level("notice", level));
  EXPECT_EQ(level, log::Level::notice);
  EXPECT_LT(log::Level::info, log::Level::notice);
  EXPECT_LT(log::Level::notice, log::Level::warning);
}

// [auth] of the configuration, read straight into AuthThrottleOptions.
TEST(AuthThrottleConfig, DefaultsKeysAndErrors) {
  const auto parse = [](std::string_view text) {
    return config::parse_table_for_test<AuthThrottleOptions>(text, "auth", parse_auth_throttle);
  };
  auto defaults = parse("");
  ASSERT_TRUE(defaults.has_value());
  EXPECT_EQ(defaults->failures_max, 10U);
  EXPECT_EQ(defaults->failure_window, std::chrono::minutes(10));
  EXPECT_EQ(defaults->lockout, std::chrono::minutes(10));
  EXPECT_EQ(defaults->failure_delay_max, std::chrono::seconds(30));
  auto config = parse(R"(
[auth]
failures_max = 5
failure_window = "1h"
lockout = "30m"
failure_delay_max = "10s"
entries_max = 1000
)");
  ASSERT_TRUE(config.has_value()) << config.error().message();
  EXPECT_EQ(config->failures_max, 5U);
  EXPECT_EQ(config->failure_window, std::chrono::hours(1));
  EXPECT_EQ(config->lockout, std::chrono::minutes(30));
  EXPECT_EQ(config->failure_delay_max, std::chrono::seconds(10));
  EXPECT_EQ(config->entries_max, 1000U);
  for (const auto& [text, want] : std::vector<std::pair<const char*, const char*>>{
           {"[auth]\nfailures_max = 0\n", "auth.failures_max"},
           {"[auth]\nlockout = \"0s\"\n", "test.toml:2: auth.lockout: must be longer than zero"},
           {"[auth]\nlockouts = \"1m\"\n",
            "test.toml:2: auth.lockouts: unknown key (did you mean auth.lockout?)"}}) {
    EXPECT_NE(config::error_for_test(parse(text)).find(want), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace mta
