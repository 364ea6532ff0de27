// LineLog against real files: lines from several threads all arrive whole, reopen follows a
// rename (logrotate), a full channel drops and counts, a failing disk counts its losses.
#include "metrics/line_log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace mta::metrics {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class LineLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("line_log_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const char* name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

TEST_F(LineLogTest, LinesFromEveryChannelArriveWholeAndInChannelOrder) {
  constexpr int kPerThread = 20'000;
  auto log = LineLog::open(path("delivery.jsonl"), 2);
  ASSERT_TRUE(log.has_value());
  // Two shards append while a worker writes what is pending (std::async: threads outside
  // engine/ are for tests only).
  std::atomic<bool> done{false};
  auto writer = std::async(std::launch::async, [&] {
    while (!done) (*log)->write_pending();
  });
  std::vector<std::future<void>> shards;
  for (int t = 0; t < 2; ++t) {
    shards.push_back(std::async(std::launch::async, [&log, t] {
      for (int i = 0; i < kPerThread; ++i) {
        ASSERT_TRUE((*log)->append(t, std::to_string(t) + " " + std::to_string(i) + "\n"));
      }
    }));
  }
  for (auto& shard : shards) shard.get();
  done = true;
  writer.get();
  (*log)->write_pending();
  EXPECT_EQ((*log)->lines_written(), 2u * kPerThread);
  const auto lines = lines_of(read_file(path("delivery.jsonl")));
  ASSERT_EQ(lines.size(), 2u * kPerThread);
  int next[2] = {0, 0};
  for (const auto& line : lines) {
    int t = -1;
    int i = -1;
    ASSERT_EQ(std::sscanf(line.c_str(), "%d %d", &t, &i), 2) << line;
    ASSERT_TRUE(t == 0 || t == 1);
    EXPECT_EQ(i, next[t]++);
  }
}

TEST_F(LineLogTest, ReopenFollowsLogrotate) {
  auto log = LineLog::open(path("d.log"), 1);
  ASSERT_TRUE(log.has_value());
  (*log)->append(0, "before\n");
  (*log)->write_pending();
  std::filesystem::rename(path("d.log"), path("d.log.1"));
  (*log)->append(0, "still old\n");
  (*log)->write_pending();  // not reopened yet: the renamed file gets it
  (*log)->reopen();
  (*log)->append(0, "after\n");
  (*log)->write_pending();
  EXPECT_EQ(read_file(path("d.log.1")), "before\nstill old\n");
  EXPECT_EQ(read_file(path("d.log")), "after\n");
}

TEST_F(LineLogTest, DestructionWritesWhatIsPending) {
  {
    auto log = LineLog::open(path("d.log"), 1);
    ASSERT_TRUE(log.has_value());
    (*log)->append(0, "one\n");
    (*log)->append(0, "two\n");
  }
  EXPECT_EQ(read_file(path("d.log")), "one\ntwo\n");
}

TEST_F(LineLogTest, AFullChannelDropsAndCounts) {
  // Nothing is written meanwhile and the channel holds 10 bytes: the third line is dropped.
  auto log = LineLog::open(path("d.log"), 1, {.pending_bytes_max = 10});
  ASSERT_TRUE(log.has_value());
  EXPECT_TRUE((*log)->append(0, "1234\n"));
  EXPECT_TRUE((*log)->append(0, "5678\n"));
  EXPECT_FALSE((*log)->append(0, "9\n"));
  EXPECT_EQ((*log)->lines_dropped(), 1u);
  (*log)->write_pending();
  EXPECT_EQ(read_file(path("d.log")), "1234\n5678\n");
  EXPECT_TRUE((*log)->append(0, "9\n"));  // room again once written
}

TEST_F(LineLogTest, AFailingDiskCountsLostLines) {
  auto log = LineLog::open("/dev/full", 1);
  ASSERT_TRUE(log.has_value());
  (*log)->append(0, "lost\n");
  (*log)->append(0, "lost too\n");
  (*log)->write_pending();
  EXPECT_EQ((*log)->lines_written(), 0u);
  EXPECT_EQ((*log)->write_failures(), 2u);
}

TEST_F(LineLogTest, OpenFailsOnAMissingDirectory) {
  auto log = LineLog::open(path("no/such/dir/d.log"), 1);
  ASSERT_FALSE(log.has_value());
  EXPECT_NE(log.error().message().find("no/such/dir"), std::string::npos);
}

}  // namespace
}  // namespace mta::metrics
