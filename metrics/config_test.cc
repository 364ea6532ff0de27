// [log] and [metrics].
#include "metrics/config.h"

#include <gtest/gtest.h>

#include "base/config_reader_for_test.h"

namespace mta::metrics {
namespace {

Result<LogConfig> log_section(std::string_view text) {
  return config::parse_table_for_test<LogConfig>(text, "log", parse_log);
}
Result<MetricsConfig> metrics_section(std::string_view text) {
  return config::parse_table_for_test<MetricsConfig>(text, "metrics", parse_metrics);
}

TEST(MetricsConfig, LogLevelsAndTheDeliveryLog) {
  auto defaults = log_section("");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->level, log::Level::info);
  auto read =
      log_section("[log]\nlevel = \"debug\"\ndelivery_log = \"/var/log/outpost/delivery.jsonl\"\n");
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_EQ(read->level, log::Level::debug);
  EXPECT_EQ(read->delivery_log, "/var/log/outpost/delivery.jsonl");
  auto notice = log_section("[log]\nlevel = \"notice\"\n");
  ASSERT_TRUE(notice);
  EXPECT_EQ(notice->level, log::Level::notice);
  for (const auto& [text, want] : std::vector<std::pair<const char*, const char*>>{
           {"[log]\nlevel = \"notices\"\n", "debug, info, notice, warning or error"},
           {"[log]\nlevel = \"loud\"\n", "test.toml:2: log.level"},
           {"[log]\nlevle = \"info\"\n",
            "test.toml:2: log.levle: unknown key (did you mean log.level?)"}}) {
    EXPECT_NE(config::error_for_test(log_section(text)).find(want), std::string::npos) << text;
  }
}

TEST(MetricsConfig, ListenAndDestinations) {
  auto read = metrics_section("[metrics]\nlisten = \"127.0.0.1:9100\"\ndestinations_max = 20\n");
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_EQ(read->listen, std::vector<std::string>{"127.0.0.1:9100"});
  EXPECT_EQ(read->destinations_max, 20u);
  EXPECT_EQ(metrics_section("")->destinations_max, 50u);
  EXPECT_NE(config::error_for_test(metrics_section("[metrics]\ndestinations_max = 0\n"))
                .find("metrics.destinations_max"),
            std::string::npos);
}

}  // namespace
}  // namespace mta::metrics
