// Tests of the process_* metrics: /proc parsers on fixed text, then the real /proc/self.
#include "metrics/process.h"

#include <gtest/gtest.h>

#include "metrics/errc.h"
#include "metrics/exposition_parser_for_test.h"

namespace mta::metrics {
namespace {

TEST(Process, ParsesProcSelfStat) {
  // A comm with spaces and parentheses: fields are counted from the last ')'.
  const std::string_view stat =
      "4242 (out post) (x)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 150 0 0 20 0 9 0 "
      "123400 1073741824 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n";
  const ProcBasis basis{.ticks_per_second = 100, .page_bytes = 4096, .boot_time_seconds = 1e9};
  const auto stats = parse_proc_self_stat(stat, basis);
  ASSERT_TRUE(stats.has_value()) << stats.error().message();
  EXPECT_DOUBLE_EQ(stats->cpu_seconds, 4.0);  // (250 + 150) / 100
  EXPECT_EQ(stats->virtual_memory_bytes, 1073741824u);
  EXPECT_EQ(stats->resident_memory_bytes, 2048u * 4096u);
  EXPECT_DOUBLE_EQ(stats->start_time_seconds, 1e9 + 1234);
}

TEST(Process, RejectsMalformedStat) {
  const ProcBasis basis;
  const std::string_view bad[] = {"", "4242 no parens S 1", "1 (x) S 1 2 3",
                                  "1 (x) S 1 1 1 0 -1 0 0 0 0 0 a b 0 0 20 0 9 0 5 6 7\n"};
  for (std::string_view stat : bad) {
    const auto got = parse_proc_self_stat(stat, basis);
    ASSERT_FALSE(got.has_value()) << stat;
    EXPECT_EQ(got.error().code, Errc::proc_unreadable);
  }
}

TEST(Process, ParsesBootTime) {
  const auto got = parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, 1700000000.0);
  EXPECT_FALSE(parse_boot_time("cpu 1 2 3\n").has_value());
  EXPECT_FALSE(parse_boot_time("btime soon\n").has_value());
}

TEST(Process, ReadsThisProcess) {
  const auto stats = read_process_stats();
  ASSERT_TRUE(stats.has_value()) << stats.error().message();
  EXPECT_GT(stats->resident_memory_bytes, 0u);
  EXPECT_GE(stats->virtual_memory_bytes, stats->resident_memory_bytes);
  EXPECT_GE(stats->open_fds, 3u);  // stdin, stdout, stderr
  EXPECT_GE(stats->max_fds, stats->open_fds);
  EXPECT_GT(stats->start_time_seconds, 1e9);
  std::string body;
  ASSERT_TRUE(append_process_metrics(body).has_value());
  const ParsedExposition parsed = parse_exposition_for_test(body);
  ASSERT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.types.at("process_cpu_seconds_total"), "counter");
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                           "process_start_time_seconds"}) {
    EXPECT_TRUE(parsed.value(name).has_value()) << name;
  }
}

}  // namespace
}  // namespace mta::metrics
