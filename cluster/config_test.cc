// [cluster], read straight into FleetOptions.
#include "cluster/config.h"

#include <gtest/gtest.h>

#include "base/config_reader_for_test.h"

namespace mta::cluster {
namespace {

Result<FleetOptions> parse(std::string_view text) {
  return config::parse_table_for_test<FleetOptions>(text, "cluster", parse_cluster);
}

TEST(ClusterConfig, Cluster) {
  auto alone = parse("");
  ASSERT_TRUE(alone);
  EXPECT_TRUE(alone->redis.empty());
  EXPECT_EQ(alone->lease_ttl, std::chrono::seconds(5));
  auto fleet = parse(
      "[cluster]\nredis = \"10.0.0.5:6379\"\nnode = \"mta-2\"\nsync_interval = \"200ms\"\n"
      "lease_ttl = \"2s\"\nnodes_expected = 4\n");
  ASSERT_TRUE(fleet) << fleet.error().message();
  EXPECT_EQ(fleet->redis, "10.0.0.5:6379");
  EXPECT_EQ(fleet->node, "mta-2");
  EXPECT_EQ(fleet->sync_interval, std::chrono::milliseconds(200));
  EXPECT_EQ(fleet->nodes_expected, 4u);
  const auto error = [](const char* text) { return config::error_for_test(parse(text)); };
  EXPECT_NE(error("[cluster]\nsync_interval = \"1s\"\nlease_ttl = \"1s\"\n").find("twice"),
            std::string::npos);
  EXPECT_NE(error("[cluster]\nnode = \"a b\"\n").find("no spaces"), std::string::npos);
  EXPECT_NE(error("[cluster]\nprefix = \"\"\n").find("cluster.prefix: must not be empty"),
            std::string::npos);
  EXPECT_NE(error("[cluster]\nnodes = 2\n").find("nodes"), std::string::npos);
}

}  // namespace
}  // namespace mta::cluster
