// [spool] and [queue]: defaults, every key, and the errors a typo produces.
#include "queue/config.h"

#include <gtest/gtest.h>

#include "base/config_reader_for_test.h"

namespace mta::queue {
namespace {

using config::error_for_test;

Result<SpoolConfig> spool(std::string_view text) {
  return config::parse_table_for_test<SpoolConfig>(text, "spool", parse_spool);
}
Result<QueueConfig> queue(std::string_view text) {
  return config::parse_table_for_test<QueueConfig>(text, "queue", parse_queue);
}

TEST(QueueConfig, DefaultsAndEveryKey) {
  auto defaults = spool("");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->path, "var/spool");
  EXPECT_TRUE(defaults->sync);
  auto read = spool(
      "[spool]\npath = \"/tmp/spool\"\ndurability = \"none\"\nsync_dispositions = true\n"
      "commit_window = \"2ms\"\ncommit_batch_messages_max = 64\n");
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_EQ(read->path, "/tmp/spool");
  EXPECT_FALSE(read->sync);
  EXPECT_TRUE(read->sync_dispositions);
  EXPECT_EQ(read->commit_window, std::chrono::milliseconds(2));
  EXPECT_EQ(read->commit_batch_messages_max, 64u);

  auto retry = queue(
      "[queue]\nretry_initial = \"250ms\"\nretry_multiplier = 1.5\nmax_age = \"1h\"\n"
      "history_retention = \"1d\"\n");
  ASSERT_TRUE(retry) << retry.error().message();
  EXPECT_EQ(retry->retry.initial, std::chrono::milliseconds(250));
  EXPECT_DOUBLE_EQ(retry->retry.multiplier, 1.5);
  EXPECT_EQ(retry->retry.max_age, std::chrono::hours(1));
  EXPECT_EQ(retry->retry.max_delay, std::chrono::hours(4));  // default
  EXPECT_EQ(retry->history_retention, std::chrono::hours(24));
}

TEST(QueueConfig, ErrorsNameTheKey) {
  EXPECT_NE(error_for_test(spool("[spool]\ndurability = \"fast\"\n")).find("spool.durability"),
            std::string::npos);
  EXPECT_NE(error_for_test(queue("[queue]\nretry_jitter = 2\n")).find("queue.retry_jitter"),
            std::string::npos);
  EXPECT_NE(error_for_test(queue("[queue]\nretry_initial = \"1h\"\nretry_max_delay = \"2s\"\n"))
                .find("test.toml:3: queue.retry_max_delay"),
            std::string::npos);
  EXPECT_NE(error_for_test(queue("[queue]\nretries = 3\n")).find("queue.retries: unknown key"),
            std::string::npos);
}

TEST(QueueConfig, SpoolGivesTheGroupCommitItsWindowAndBatch) {
  auto parsed = spool("[spool]\ncommit_window = \"2ms\"\ncommit_batch_messages_max = 64\n");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  const GroupCommitOptions options = group_commit_options(*parsed);
  EXPECT_EQ(options.window, std::chrono::milliseconds(2));
  EXPECT_EQ(options.batch_messages_max, 64U);
  EXPECT_EQ(options.batch_bytes_max, GroupCommitOptions{}.batch_bytes_max);
}

}  // namespace
}  // namespace mta::queue
