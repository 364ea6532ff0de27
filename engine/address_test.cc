// SocketAddress: parse / to_string / port / host / is_loopback over tables of inputs.
#include "engine/address.h"

#include <gtest/gtest.h>

#include <string>

#include "engine/errc.h"

namespace mta::engine {
namespace {

TEST(SocketAddress, ParsesNumericAddresses) {
  struct Case {
    std::string input;
    std::string want_text;
    std::uint16_t want_port;
    int want_family;
  };
  const Case cases[] = {
      {"127.0.0.1:2525", "127.0.0.1:2525", 2525, AF_INET},
      {"0.0.0.0:0", "0.0.0.0:0", 0, AF_INET},
      {"10.1.2.3:65535", "10.1.2.3:65535", 65535, AF_INET},
      {"[::1]:25", "[::1]:25", 25, AF_INET6},
      {"[::]:587", "[::]:587", 587, AF_INET6},
      {"[2001:DB8::1]:465", "[2001:db8::1]:465", 465, AF_INET6},
      {"[::ffff:192.0.2.1]:1", "[::ffff:192.0.2.1]:1", 1, AF_INET6},
      {"127.0.0.1:00025", "127.0.0.1:25", 25, AF_INET},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    const Result<SocketAddress> got = SocketAddress::parse(c.input);
    ASSERT_TRUE(got.has_value()) << got.error().message();
    EXPECT_EQ(got->to_string(), c.want_text);
    EXPECT_EQ(got->port(), c.want_port);
    EXPECT_EQ(got->family(), c.want_family);
    // Round trip: the text form parses back to the same address.
    const Result<SocketAddress> again = SocketAddress::parse(got->to_string());
    ASSERT_TRUE(again.has_value());
    EXPECT_TRUE(*again == *got);
  }
}

TEST(SocketAddress, RejectsBadInput) {
  const std::string cases[] = {
      "",
      "127.0.0.1",
      "127.0.0.1:",
      ":25",
      "127.0.0.1:65536",
      "127.0.0.1:123456",
      "127.0.0.1:-1",
      "127.0.0.1:+25",
      "127.0.0.1:25x",
      "127.0.0.1: 25",
      " 127.0.0.1:25",
      "256.0.0.1:25",
      "1.2.3:25",
      "localhost:25",
      "::1:25",
      "[::1]25",
      "[::1]",
      "[::1:25",
      "[::1]:",
      "[127.0.0.1]:25",
      "[fe80::1%lo]:25",
  };
  for (const std::string& input : cases) {
    SCOPED_TRACE(input);
    const Result<SocketAddress> got = SocketAddress::parse(input);
    ASSERT_FALSE(got.has_value()) << got->to_string();
    EXPECT_EQ(got.error().code, make_error_code(Errc::invalid_address));
  }
}

TEST(SocketAddress, EmptyIsUnspecified) {
  const SocketAddress empty;
  EXPECT_EQ(empty.to_string(), "unspecified");
  EXPECT_EQ(empty.port(), 0);
}

TEST(SocketAddress, HostAndLoopback) {
  struct Case {
    const char* text;
    const char* host;
    bool loopback;
  };
  const Case cases[] = {
      {"127.0.0.1:25", "127.0.0.1", true},
      {"127.255.0.9:1", "127.255.0.9", true},
      {"128.0.0.1:25", "128.0.0.1", false},
      {"10.1.2.3:25", "10.1.2.3", false},
      {"[::1]:25", "::1", true},
      {"[::2]:25", "::2", false},
      {"[::ffff:127.0.0.1]:25", "::ffff:127.0.0.1", false},
  };
  for (const Case& c : cases) {
    auto address = SocketAddress::parse(c.text);
    ASSERT_TRUE(address.has_value()) << c.text;
    EXPECT_EQ(address->host(), c.host) << c.text;
    EXPECT_EQ(address->is_loopback(), c.loopback) << c.text;
  }
  EXPECT_EQ(SocketAddress{}.host(), "");
  EXPECT_FALSE(SocketAddress{}.is_loopback());
}

}  // namespace
}  // namespace mta::engine
