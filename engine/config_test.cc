// [limits] keys and how a listener's own section overrides them.
#include "engine/config.h"

#include <gtest/gtest.h>

#include "base/config_reader_for_test.h"

namespace mta::engine {
namespace {

using namespace std::chrono_literals;

Result<LimitOverrides> parse(std::string_view text) {
  return config::parse_table_for_test<LimitOverrides>(
      text, "limits", [](config::Table& section, LimitOverrides& out) -> Result<void> {
        CONFIG_TRY(parse_limit_overrides(section, out));
        return section.no_unknown_keys();
      });
}

TEST(EngineConfig, OnlyTheKeysSetOverride) {
  auto none = parse("");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->connections_per_ip);
  EXPECT_FALSE(none->session_max);
  auto common = parse(
      "[limits]\nconnections_per_ip = 10\ncommand_timeout = \"5s\"\nwrite_timeout = \"20s\"\n"
      "session_max = \"2h\"\noutput_buffer_max = 65536\n");
  ASSERT_TRUE(common) << common.error().message();
  auto own = parse("[limits]\nconnections_per_ip = 100\nsession_max = \"0\"\n");
  ASSERT_TRUE(own) << own.error().message();
  const ListenerLimits got = resolve_limits(ListenerLimits{}, *common, *own);
  EXPECT_EQ(got.connections_per_ip, 100u);
  EXPECT_EQ(got.session_max, Clock::Duration::zero());  // none
  EXPECT_EQ(got.command_timeout, Clock::Duration(5s));
  EXPECT_EQ(got.write_timeout, Clock::Duration(20s));
  EXPECT_EQ(got.output_buffer_max, 65536u);
  const ListenerLimits defaults = resolve_limits(ListenerLimits{}, *none, *none);
  EXPECT_EQ(defaults.connections_per_ip, ListenerLimits{}.connections_per_ip);
}

TEST(EngineConfig, BadLimitsAreRefused) {
  for (const std::string_view bad :
       {"[limits]\nconnections_per_ip = -1\n", "[limits]\nwrite_timeout = \"soon\"\n",
        "[limits]\noutput_buffer_max = 10\n", "[limits]\nsessions_max = \"1h\"\n"}) {
    EXPECT_NE(config::error_for_test(parse(bad)).find("test.toml:2: "), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace mta::engine
