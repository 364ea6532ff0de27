// Every histogram the daemon declares, read from a real scrape of Telemetry: its buckets
// increase, cover the range of what it measures and resolve its usual values finely. A new
// histogram fails here until it has a row below.
#include "app/telemetry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "metrics/exposition_parser_for_test.h"

namespace mta::app {
namespace {

struct Range {
  double low;       // the shortest duration the family must resolve (first bound at or under)
  double high;      // the longest it must still tell apart (last finite bound at or over)
  double fine_top;  // up to here, adjacent bounds differ by at most 2.5x
};

// What each histogram measures, in seconds.
const std::map<std::string, Range>& expected_ranges() {
  static const std::map<std::string, Range> ranges = {
      // Acceptance to final disposition: a millisecond on a first-attempt delivery to a near
      // peer, up to queue.max_age (72 h by default) for a bounce.
      {"outpost_delivery_duration_seconds", {0.0005, 72 * 3600, 5}},
      // An inbound SMTP session: one message on loopback to a client kept for an hour.
      {"outpost_smtp_session_duration_seconds", {0.0005, 3600, 5}},
      // Sub-millisecond work: an Ed25519 signature, a commit without fsync.
      {"outpost_dkim_sign_seconds", {0.00002, 1, 1}},
      {"outpost_queue_commit_seconds", {0.00002, 1, 1}},
  };
  return ranges;
}

TEST(TelemetryHistograms, EachFitsWhatItMeasures) {
  Telemetry telemetry(2);
  const metrics::ParsedExposition parsed = metrics::parse_exposition_for_test(telemetry.render());
  ASSERT_EQ(parsed.error, "");
  std::map<std::string, std::vector<double>> bounds;  // family -> finite `le`s in order
  for (const auto& [family, type] : parsed.types) {
    if (type == "histogram") bounds[family];
  }
  ASSERT_FALSE(bounds.empty());
  for (const metrics::ParsedSample& sample : parsed.samples) {
    if (!sample.name.ends_with("_bucket")) continue;
    const std::string family = sample.name.substr(0, sample.name.size() - 7);
    for (const auto& [label, value] : sample.labels) {
      if (label == "le" && value != "+Inf") bounds[family].push_back(std::stod(value));
    }
  }
  for (const auto& [family, les] : bounds) {
    SCOPED_TRACE(family);
    const auto range = expected_ranges().find(family);
    ASSERT_NE(range, expected_ranges().end())
        << "a new histogram: add what it measures to expected_ranges()";
    ASSERT_FALSE(les.empty());
    EXPECT_TRUE(std::is_sorted(les.begin(), les.end()));
    EXPECT_EQ(std::adjacent_find(les.begin(), les.end()), les.end());
    EXPECT_LE(les.front(), range->second.low);
    EXPECT_GE(les.back(), range->second.high);
    EXPECT_LE(les.size(), 20u);  // one series per bound
    for (std::size_t i = 1; i < les.size() && les[i] <= range->second.fine_top; ++i) {
      EXPECT_LE(les[i] / les[i - 1], 2.5 + 1e-9) << "between " << les[i - 1] << " and " << les[i];
    }
  }
  for (const auto& [family, range] : expected_ranges()) {
    EXPECT_TRUE(bounds.contains(family)) << family << " is no longer declared";
  }
}

}  // namespace
}  // namespace mta::app
