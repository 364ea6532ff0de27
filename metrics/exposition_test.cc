// Tests of the text format: escaping, number formatting, a golden body, and renders of awkward
// values parsed back by the independent grammar checker in exposition_parser_for_test.h.
#include "metrics/exposition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "metrics/exposition_parser_for_test.h"

namespace mta::metrics {
namespace {

TEST(Exposition, EscapesLabelValues) {
  struct Case {
    std::string_view in;
    std::string_view want;
  };
  const Case cases[] = {
      {"plain", "plain"},
      {"back\\slash", "back\\\\slash"},
      {"quo\"te", "quo\\\"te"},
      {"new\nline", "new\\nline"},
      {"tab\tstays", "tab\tstays"},
      {"\\\"\n", "\\\\\\\"\\n"},
      {"b\303\274cher", "b\303\274cher"},
      {"bad\xFFutf8", "bad\xEF\xBF\xBDutf8"},
      {"\xC3", "\xEF\xBF\xBD"},
  };
  for (const Case& c : cases) {
    std::string got;
    append_label_value(c.in, got);
    EXPECT_EQ(got, c.want) << c.in;
  }
}

TEST(Exposition, EscapesHelp) {
  struct Case {
    std::string_view in;
    std::string_view want;
  };
  const Case cases[] = {
      {"Messages accepted.", "Messages accepted."},
      {"a \\ b", "a \\\\ b"},
      {"two\nlines", "two\\nlines"},
      {"\"quotes\" stay", "\"quotes\" stay"},
  };
  for (const Case& c : cases) {
    std::string got;
    append_help(c.in, got);
    EXPECT_EQ(got, c.want) << c.in;
  }
}

TEST(Exposition, FormatsNumbersAsPrometheusReadsThem) {
  struct Case {
    double in;
    std::string_view want;
  };
  const Case cases[] = {
      {0, "0"},
      {1, "1"},
      {-2.5, "-2.5"},
      {0.005, "0.005"},
      {0.1, "0.1"},
      {1e-7, "1e-07"},
      {1e21, "1e+21"},
      {123456789, "123456789"},
      {std::numeric_limits<double>::infinity(), "+Inf"},
      {-std::numeric_limits<double>::infinity(), "-Inf"},
      {std::nan(""), "NaN"},
  };
  for (const Case& c : cases) {
    std::string got;
    append_number(c.in, got);
    EXPECT_EQ(got, c.want) << c.in;
    // And it reads back to the same value.
    auto back = parser_for_test::go_float(got);
    ASSERT_TRUE(back.has_value()) << got;
    if (!std::isnan(c.in)) {
      EXPECT_EQ(*back, c.in) << got;
    }
  }
  std::string big;
  append_number(std::uint64_t{18446744073709551615u}, big);
  EXPECT_EQ(big, "18446744073709551615");
}

TEST(Exposition, RendersGoldenBody) {
  Catalog catalog;
  const auto injected =
      catalog.add_counter({"outpost_injected_total", "Messages accepted.", {"listener"}}).value();
  const auto depth = catalog.add_gauge({"outpost_queue_messages", "Queued \\ now.", {}}).value();
  const auto latency =
      catalog.add_histogram({"outpost_delivery_seconds", "Latency.", {"tls"}}, {0.25, 1}).value();
  const auto sent = catalog
                        .add_bounded_counter({"outpost_sent_total", "Sent.", {}},
                                             {.name = "destination", .values_max = 1})
                        .value();
  catalog.add_gauge({"outpost_unused", "No series.", {}}).value();
  Registry shard0(catalog), shard1(catalog);
  shard0.counter(injected, {"smtp"}).add(2);
  shard1.counter(injected, {"http \"api\""}).inc();
  shard0.gauge(depth).set(1.5);
  shard1.gauge(depth).set(2);
  shard0.histogram(latency, {"yes"}).observe(0.25);
  shard1.histogram(latency, {"yes"}).observe(3.0);
  shard1.bounded_counter(sent).inc("gmail.com");
  shard0.bounded_counter(sent).inc("web.de");
  const Registry* shards[] = {&shard0, &shard1};
  const std::string want =
      "# HELP outpost_injected_total Messages accepted.\n"
      "# TYPE outpost_injected_total counter\n"
      "outpost_injected_total{listener=\"http \\\"api\\\"\"} 1\n"
      "outpost_injected_total{listener=\"smtp\"} 2\n"
      "# HELP outpost_queue_messages Queued \\\\ now.\n"
      "# TYPE outpost_queue_messages gauge\n"
      "outpost_queue_messages 3.5\n"
      "# HELP outpost_delivery_seconds Latency.\n"
      "# TYPE outpost_delivery_seconds histogram\n"
      "outpost_delivery_seconds_bucket{tls=\"yes\",le=\"0.25\"} 1\n"
      "outpost_delivery_seconds_bucket{tls=\"yes\",le=\"1\"} 1\n"
      "outpost_delivery_seconds_bucket{tls=\"yes\",le=\"+Inf\"} 2\n"
      "outpost_delivery_seconds_sum{tls=\"yes\"} 3.25\n"
      "outpost_delivery_seconds_count{tls=\"yes\"} 2\n"
      "# HELP outpost_sent_total Sent.\n"
      "# TYPE outpost_sent_total counter\n"
      "outpost_sent_total{destination=\"gmail.com\"} 1\n"
      "outpost_sent_total{destination=\"other\"} 1\n"
      "# HELP outpost_unused No series.\n"
      "# TYPE outpost_unused gauge\n";
  const std::string got = render(catalog, shards);
  EXPECT_EQ(got, want);
  const ParsedExposition parsed = parse_exposition_for_test(got);
  EXPECT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.helps.at("outpost_queue_messages"), "Queued \\ now.");
  EXPECT_EQ(parsed.value("outpost_injected_total", {{"listener", "http \"api\""}}), 1);
}

TEST(Exposition, AwkwardLabelValuesParseBack) {
  // Every value a peer could put in a bounded label, rendered and read back unchanged.
  Catalog catalog;
  const auto family = catalog
                          .add_bounded_counter({"outpost_sent_total", "Sent.", {"result"}},
                                               {.name = "destination", .values_max = 100})
                          .value();
  Registry shard(catalog);
  BoundedCounter& counter = shard.bounded_counter(family, {"de\nlivered"});
  const std::string values[] = {"a\\b", "a\"b",     "a\nb",         "a b", "a,b", "a}b",
                                "a=b",  "\\\\\"\"", "\xE2\x82\xAC", "}",   "{",   "\\n"};
  for (const std::string& value : values) counter.inc(value);
  const Registry* shards[] = {&shard};
  const ParsedExposition parsed = parse_exposition_for_test(render(catalog, shards));
  ASSERT_EQ(parsed.error, "");
  for (const std::string& value : values) {
    EXPECT_EQ(
        parsed.value("outpost_sent_total", {{"result", "de\nlivered"}, {"destination", value}}), 1)
        << value;
  }
}

TEST(ExpositionParserForTest, RejectsMalformedBodies) {
  // The checker must be able to fail, or the render tests prove nothing.
  const std::string_view bad[] = {
      "no_newline 1",
      "# TYPE x counter\nx{a=\"1\"} one\n",
      "# TYPE x counter\nx{a=1} 1\n",
      "# TYPE x counter\nx{a=\"\\t\"} 1\n",
      "# TYPE x counter\nx{2a=\"1\"} 1\n",
      "# TYPE x counter\nx 1\nx 2\n",
      "# TYPE x counter\ny 1\n",
      "# TYPE x wrong\n",
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 1\n",
      "# TYPE h histogram\nh 1\n",
  };
  for (std::string_view body : bad) {
    EXPECT_NE(parse_exposition_for_test(body).error, "") << body;
  }
  EXPECT_EQ(parse_exposition_for_test("# TYPE x gauge\nx{a=\"1\",} -Inf 123\n").error, "");
}

}  // namespace
}  // namespace mta::metrics
