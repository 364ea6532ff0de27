// [dns]: defaults, every key, range errors.
#include "dns/config.h"

#include <gtest/gtest.h>

#include "base/config_reader_for_test.h"

namespace mta::dns {
namespace {

Result<DnsConfig> parse(std::string_view text) {
  return config::parse_table_for_test<DnsConfig>(text, "dns", parse_dns);
}

TEST(DnsConfig, DefaultsEveryKeyAndErrors) {
  auto defaults = parse("");
  ASSERT_TRUE(defaults);
  EXPECT_TRUE(defaults->servers.empty());
  EXPECT_EQ(defaults->tries, 2u);
  EXPECT_EQ(defaults->negative_ttl, std::chrono::minutes(5));
  auto read = parse(
      "[dns]\nservers = \"127.0.0.1:5353\"\ntimeout = \"500ms\"\ntries = 3\nprefer_ipv6 = true\n"
      "ttl_floor = \"1s\"\nttl_ceiling = \"1h\"\nnegative_ttl = \"10s\"\n");
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_EQ(read->servers, std::vector<std::string>{"127.0.0.1:5353"});
  EXPECT_EQ(read->timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(read->tries, 3u);
  EXPECT_TRUE(read->prefer_ipv6);
  EXPECT_EQ(read->ttl_floor, std::chrono::seconds(1));
  EXPECT_EQ(read->ttl_ceiling, std::chrono::hours(1));
  EXPECT_EQ(read->negative_ttl, std::chrono::seconds(10));
  EXPECT_NE(config::error_for_test(parse("[dns]\ntries = 0\n")).find("dns.tries"),
            std::string::npos);
  EXPECT_NE(config::error_for_test(parse("[dns]\nserver = \"x\"\n")).find("unknown key dns.server"),
            std::string::npos);
}

}  // namespace
}  // namespace mta::dns
