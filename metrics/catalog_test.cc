// Tests of Catalog: the naming rules, label names, buckets and bounded-label declarations.
#include "metrics/catalog.h"

#include <gtest/gtest.h>

#include <cmath>

#include "metrics/errc.h"

namespace mta::metrics {
namespace {

TEST(CheckMetricName, FollowsPrometheusAndOurRules) {
  struct Case {
    std::string_view name;
    Type type;
    bool want_ok;
  };
  const Case cases[] = {
      {"outpost_messages_injected_total", Type::counter, true},
      {"outpost_queue_messages", Type::gauge, true},
      {"outpost_delivery_seconds", Type::histogram, true},
      {"_leading_underscore_total", Type::counter, true},
      {"http2_requests_total", Type::counter, true},
      {"", Type::gauge, false},
      {"9lives", Type::gauge, false},
      {"has-dash", Type::gauge, false},
      {"has space", Type::gauge, false},
      {"has.dot", Type::gauge, false},
      {"caf\xC3\xA9", Type::gauge, false},
      {"recording:rule", Type::gauge, false},  // legal, but reserved for recording rules
      {"CamelCase", Type::gauge, false},
      {"__reserved", Type::gauge, false},
      {"process_cpu_seconds_total", Type::counter, false},
      {"outpost_messages_injected", Type::counter, false},  // counters end in _total
      {"outpost_queue_total", Type::gauge, false},
      {"outpost_latency_total", Type::histogram, false},
      {"outpost_latency_bucket", Type::histogram, false},
      {"outpost_latency_sum", Type::histogram, false},
      {"outpost_latency_count", Type::histogram, false},
      {"outpost_latency_count", Type::gauge, true},
      {"outpost_latency_milliseconds", Type::histogram, false},
      {"outpost_timeout_ms", Type::gauge, false},
      {"outpost_body_kilobytes", Type::gauge, false},
      {"outpost_mss_bytes", Type::gauge, true},  // "ms" only as a whole word
  };
  for (const Case& c : cases) {
    const Result<void> got = check_metric_name(c.name, c.type);
    EXPECT_EQ(got.has_value(), c.want_ok) << c.name;
    if (!got) {
      EXPECT_EQ(got.error().code, Errc::invalid_name);
    }
  }
}

TEST(CheckLabelName, FollowsPrometheusRules) {
  struct Case {
    std::string_view name;
    bool want_ok;
  };
  const Case cases[] = {{"destination", true}, {"_x", true},       {"result2", true},
                        {"", false},           {"2x", false},      {"a:b", false},
                        {"a-b", false},        {"__name__", false}};
  for (const Case& c : cases) {
    EXPECT_EQ(check_label_name(c.name).has_value(), c.want_ok) << c.name;
  }
}

TEST(Catalog, DeclaresFamiliesInOrder) {
  Catalog catalog;
  auto injected = catalog.add_counter({"outpost_injected_total", "Accepted.", {"listener"}});
  auto depth = catalog.add_gauge({"outpost_queue_messages", "Queued.", {}}, GaugeMerge::max);
  auto latency = catalog.add_histogram({"outpost_delivery_seconds", "Latency.", {}}, {0.1, 1});
  auto sent = catalog.add_bounded_counter({"outpost_sent_total", "Sent.", {"result"}},
                                          {.name = "destination", .values_max = 3});
  ASSERT_TRUE(injected.has_value());
  ASSERT_TRUE(depth.has_value());
  ASSERT_TRUE(latency.has_value());
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(injected->index, 0u);
  EXPECT_EQ(depth->index, 1u);
  EXPECT_EQ(latency->index, 2u);
  EXPECT_EQ(sent->index, 3u);
  ASSERT_EQ(catalog.size(), 4u);
  EXPECT_EQ(catalog.family(1).merge, GaugeMerge::max);
  EXPECT_EQ(catalog.family(2).bucket_bounds, (std::vector<double>{0.1, 1}));
  const Family& bounded = catalog.family(3);
  EXPECT_TRUE(bounded.bounded());
  EXPECT_EQ(bounded.label_names, (std::vector<std::string>{"result", "destination"}));
  EXPECT_EQ(bounded.fixed_label_count(), 1u);
  EXPECT_EQ(bounded.admission->values_max(), 3u);
  EXPECT_EQ(catalog.find("outpost_queue_messages"), &catalog.family(1));
  EXPECT_EQ(catalog.find("nope"), nullptr);
}

TEST(Catalog, RejectsBadDeclarations) {
  Catalog catalog;
  ASSERT_TRUE(catalog.add_counter({"outpost_a_total", "A.", {}}).has_value());
  struct Case {
    std::string_view what;
    Result<std::uint32_t> got;
    Errc want;
  };
  const auto index = [](auto result) -> Result<std::uint32_t> {
    if (!result) return unexpected(result.error());
    return result->index;
  };
  const Case cases[] = {
      {"duplicate", index(catalog.add_counter({"outpost_a_total", "A.", {}})),
       Errc::duplicate_family},
      {"no help", index(catalog.add_counter({"outpost_b_total", "", {}})), Errc::invalid_name},
      {"bad name", index(catalog.add_gauge({"outpost-b", "B.", {}})), Errc::invalid_name},
      {"bad label", index(catalog.add_gauge({"outpost_b", "B.", {"a-b"}})), Errc::invalid_label},
      {"repeated label", index(catalog.add_gauge({"outpost_b", "B.", {"x", "x"}})),
       Errc::invalid_label},
      {"le on histogram", index(catalog.add_histogram({"outpost_h_seconds", "H.", {"le"}}, {1})),
       Errc::invalid_label},
      {"no buckets", index(catalog.add_histogram({"outpost_h_seconds", "H.", {}}, {})),
       Errc::invalid_buckets},
      {"unsorted", index(catalog.add_histogram({"outpost_h_seconds", "H.", {}}, {1, 0.5})),
       Errc::invalid_buckets},
      {"repeated bound", index(catalog.add_histogram({"outpost_h_seconds", "H.", {}}, {1, 1})),
       Errc::invalid_buckets},
      {"infinite bound",
       index(catalog.add_histogram({"outpost_h_seconds", "H.", {}}, {1, HUGE_VAL})),
       Errc::invalid_buckets},
      {"zero values", index(catalog.add_bounded_counter({"outpost_c_total", "C.", {}}, {"d", 0})),
       Errc::invalid_bound},
      {"empty overflow",
       index(catalog.add_bounded_counter({"outpost_c_total", "C.", {}}, {"d", 5, ""})),
       Errc::invalid_bound},
      {"bounded label repeats a fixed one",
       index(catalog.add_bounded_counter({"outpost_c_total", "C.", {"d"}}, {"d", 5})),
       Errc::invalid_label},
  };
  for (const Case& c : cases) {
    ASSERT_FALSE(c.got.has_value()) << c.what;
    EXPECT_EQ(c.got.error().code, c.want) << c.what << ": " << c.got.error().message();
  }
  EXPECT_EQ(catalog.size(), 1u);
}

TEST(Buckets, Helpers) {
  EXPECT_EQ(exponential_buckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  EXPECT_EQ(linear_buckets(0.5, 0.5, 3), (std::vector<double>{0.5, 1, 1.5}));
}

}  // namespace
}  // namespace mta::metrics
