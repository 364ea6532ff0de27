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
  EXPECT_TRUE(defaults->resolver.servers.empty());
  EXPECT_EQ(defaults->resolver.tries, 2);
  EXPECT_EQ(defaults->mx.negative_ttl, std::chrono::minutes(5));
  auto read = parse(
      "[dns]\nservers = \"127.0.0.1:5353\"\ntimeout = \"500ms\"\ntries = 3\nprefer_ipv6 = true\n"
      "ttl_floor = \"1s\"\nttl_ceiling = \"1h\"\nnegative_ttl = \"10s\"\n");
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_EQ(read->resolver.servers, std::vector<std::string>{"127.0.0.1:5353"});
  EXPECT_EQ(read->resolver.timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(read->resolver.tries, 3);
  EXPECT_TRUE(read->mx.prefer_ipv6);
  EXPECT_EQ(read->cache.ttl_floor, std::chrono::seconds(1));
  EXPECT_EQ(read->cache.ttl_ceiling, std::chrono::hours(1));
  EXPECT_EQ(read->mx.negative_ttl, std::chrono::seconds(10));
  // The defaults are the runtime options' own (the ones the daemon used before [dns] existed).
  EXPECT_EQ(defaults->resolver.timeout, std::chrono::seconds(2));
  EXPECT_EQ(defaults->cache.ttl_floor, std::chrono::seconds(30));
  EXPECT_EQ(defaults->cache.ttl_ceiling, std::chrono::hours(24));
  EXPECT_FALSE(defaults->mx.prefer_ipv6);
  auto cut = parse("[dns]\nttl_floor = \"1500ms\"\n");
  ASSERT_TRUE(cut);
  EXPECT_EQ(cut->cache.ttl_floor, std::chrono::seconds(1));  // truncated to whole seconds
  EXPECT_NE(config::error_for_test(parse("[dns]\ntries = 0\n")).find("dns.tries"),
            std::string::npos);
  EXPECT_NE(config::error_for_test(parse("[dns]\nserver = \"x\"\n"))
                .find("dns.server: unknown key (did you mean dns.servers?)"),
            std::string::npos);
}

}  // namespace
}  // namespace mta::dns
