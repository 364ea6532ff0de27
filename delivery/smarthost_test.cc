// Smarthost lists (numeric, [name], bare name with MX, smtps://), route patterns and the most
// specific match, recipients to destinations, and resolution through fake resolvers.
#include "delivery/smarthost.h"

#include <gtest/gtest.h>

#include "dns/fake_resolver.h"

namespace mta::delivery {
namespace {

std::string error_of(std::string_view text) {
  auto list = parse_smarthosts(text);
  return list ? std::string("parsed") : list.error().detail;
}

TEST(Smarthost, NumericListsStayAsToday) {
  auto list = parse_smarthosts("192.0.2.1:2500, [2001:db8::1]:25,127.0.0.1:25");
  ASSERT_TRUE(list) << list.error().message();
  ASSERT_EQ(list->hosts.size(), 3U);
  EXPECT_TRUE(list->numeric());
  EXPECT_FALSE(list->implicit_tls);
  const auto addresses = list->addresses();
  ASSERT_EQ(addresses.size(), 3U);
  EXPECT_EQ(addresses[0].to_string(), "192.0.2.1:2500");
  EXPECT_EQ(addresses[1].to_string(), "[2001:db8::1]:25");
  EXPECT_EQ(addresses[2].to_string(), "127.0.0.1:25");
  // [1.2.3.4] is numeric too: brackets only turn off the MX lookup of a name.
  auto bracketed = parse_smarthosts("[192.0.2.7]:26");
  ASSERT_TRUE(bracketed);
  EXPECT_TRUE(bracketed->numeric());
  EXPECT_EQ(bracketed->hosts[0].port, 26);
}

TEST(Smarthost, NamesWithAndWithoutMxLookup) {
  auto list = parse_smarthosts("[SMTP.Example.net]:587, relay.example.org:2525, mx.example");
  ASSERT_TRUE(list) << list.error().message();
  EXPECT_FALSE(list->numeric());
  EXPECT_TRUE(list->addresses().empty());
  EXPECT_EQ(list->hosts[0], (Smarthost{.host = "smtp.example.net", .port = 587}));
  EXPECT_EQ(list->hosts[1],
            (Smarthost{.host = "relay.example.org", .port = 2525, .mx_lookup = true}));
  EXPECT_EQ(list->hosts[2], (Smarthost{.host = "mx.example", .port = 25, .mx_lookup = true}));
}

TEST(Smarthost, ImplicitTls) {
  auto list = parse_smarthosts("smtps://[smtp.example.net], smtps://192.0.2.1:4650");
  ASSERT_TRUE(list) << list.error().message();
  EXPECT_TRUE(list->implicit_tls);
  EXPECT_EQ(list->hosts[0].port, 465);
  EXPECT_EQ(list->hosts[1].port, 4650);
  auto plain = parse_smarthosts("smtp://[smtp.example.net]");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->implicit_tls);
  EXPECT_NE(error_of("smtps://a.example, b.example").find("mixes smtps://"), std::string::npos);
}

TEST(Smarthost, Errors) {
  EXPECT_TRUE(parse_smarthosts("").value().hosts.empty());
  EXPECT_NE(error_of("a.example,,b.example").find("empty item"), std::string::npos);
  EXPECT_NE(error_of("[smtp.example.net:25").find("no closing"), std::string::npos);
  EXPECT_NE(error_of("smtp.example.net:99999").find("port"), std::string::npos);
  EXPECT_NE(error_of("smtp.example.net:").find("port"), std::string::npos);
  EXPECT_NE(error_of("2001:db8::1:25").find("without brackets"), std::string::npos);
  EXPECT_NE(error_of("http://smtp.example.net").find("scheme"), std::string::npos);
  EXPECT_NE(error_of("smtp example.net:25").find("neither"), std::string::npos);
  EXPECT_NE(error_of("[smtp.example.net]x").find("after ']'"), std::string::npos);
}

TEST(Routes, Patterns) {
  EXPECT_TRUE(valid_route_pattern("corp.example"));
  EXPECT_TRUE(valid_route_pattern(".corp.example"));
  EXPECT_FALSE(valid_route_pattern(""));
  EXPECT_FALSE(valid_route_pattern("."));
  EXPECT_FALSE(valid_route_pattern("..corp.example"));
  EXPECT_FALSE(valid_route_pattern("Corp.example"));  // the parser lower-cases first
  EXPECT_FALSE(valid_route_pattern("corp example"));
  EXPECT_FALSE(valid_route_pattern("*.corp.example"));
}

TEST(Routes, MostSpecificWins) {
  const std::vector<std::string> patterns{".example", ".corp.example", "corp.example",
                                          "eu.corp.example"};
  EXPECT_EQ(match_route(patterns, "corp.example"), 2U);     // exact, before .example
  EXPECT_EQ(match_route(patterns, "eu.corp.example"), 3U);  // exact, before .corp.example
  EXPECT_EQ(match_route(patterns, "us.corp.example"), 1U);  // the longer suffix
  EXPECT_EQ(match_route(patterns, "a.b.corp.example"), 1U);
  EXPECT_EQ(match_route(patterns, "other.example"), 0U);
  EXPECT_EQ(match_route(patterns, "example"), std::nullopt);  // a suffix is subdomains only
  EXPECT_EQ(match_route(patterns, "xcorp.example"), 0U);      // not .corp.example
  EXPECT_EQ(match_route(patterns, "example.net"), std::nullopt);
  EXPECT_EQ(match_route({}, "corp.example"), std::nullopt);
}

TEST(Routes, RecipientsToDestinations) {
  const Routing mx({"corp.example", ".corp.example"}, false);
  EXPECT_EQ(mx.destination("a@Corp.Example"), "route:corp.example");
  EXPECT_EQ(mx.destination("a@eu.corp.example"), "route:.corp.example");
  EXPECT_EQ(mx.destination("a@Example.NET"), "example.net");
  const Routing relay({"corp.example"}, true);
  EXPECT_EQ(relay.destination("a@corp.example"), "route:corp.example");
  EXPECT_EQ(relay.destination("a@example.net"), "relay");
  EXPECT_EQ(Routing().destination("b@X.org"), "x.org");
}

TEST(Smarthost, ResolvesNamesInListOrder) {
  dns::FakeResolver fake;
  fake.set_addresses("smtp.test.example",
                     {{dns::Family::ipv4, "127.0.0.5"}, {dns::Family::ipv6, "::1"}},
                     std::chrono::seconds(60));
  auto list = parse_smarthosts("[smtp.test.example]:587, 192.0.2.1:25, [gone.test.example]");
  ASSERT_TRUE(list);
  std::optional<SmarthostRoute> got;
  resolve_smarthosts(*list, nullptr, &fake, [&](SmarthostRoute route) { got = std::move(route); });
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->addresses.size(), 3U);
  EXPECT_EQ(got->addresses[0].to_string(), "127.0.0.5:587");
  EXPECT_EQ(got->addresses[1].to_string(), "[::1]:587");
  EXPECT_EQ(got->addresses[2].to_string(), "192.0.2.1:25");
  EXPECT_EQ(got->names[0], "smtp.test.example");
  EXPECT_EQ(got->names[2], "");
  EXPECT_TRUE(got->error.empty());
  EXPECT_LE(got->ttl, std::chrono::seconds(30));  // the failed name is asked again soon
}

TEST(Smarthost, NothingResolvedSaysWhy) {
  dns::FakeResolver fake;
  auto list = parse_smarthosts("[gone.test.example]:587, other.test.example");
  ASSERT_TRUE(list);
  std::optional<SmarthostRoute> got;
  resolve_smarthosts(*list, nullptr, &fake, [&](SmarthostRoute route) { got = std::move(route); });
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->addresses.empty());
  EXPECT_NE(got->error.find("gone.test.example"), std::string::npos) << got->error;
}

}  // namespace
}  // namespace mta::delivery
