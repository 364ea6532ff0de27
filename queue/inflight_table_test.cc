// InFlightTable: marks left by a process are read by the next one (also when the process
// aborts without running a destructor), cleared ones are not, and slots are handed out once.
#include "queue/inflight_table.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "queue/temp_dir_for_test.h"

namespace mta::queue {
namespace {

class InFlightTableTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.file("inflight"); }

  TempDir_for_test dir_{"outpost_inflight_test"};
};

PartKey key(std::uint64_t id, std::uint32_t part = 0) { return PartKey{MessageId(id), part}; }

TEST_F(InFlightTableTest, MarksStillSetAreLeftForTheNextOpen) {
  {
    auto table = InFlightTable::open(path(), 8);
    ASSERT_TRUE(table.has_value()) << table.error().message();
    EXPECT_TRUE((*table)->left().empty());
    const std::vector<std::uint32_t> slots = {
        (*table)->acquire().value(), (*table)->acquire().value(), (*table)->acquire().value()};
    (*table)->mark(slots[0], key(7, 1));
    (*table)->mark(slots[1], key(8));
    (*table)->mark(slots[2], key(9));
    (*table)->clear(slots[1]);         // its attempt ended
    (*table)->mark(slots[2], key(3));  // the next part on that connection
  }
  struct stat info {};
  ASSERT_EQ(::stat(path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600U);
  auto table = InFlightTable::open(path(), 8);
  ASSERT_TRUE(table.has_value());
  EXPECT_EQ((*table)->left(), (std::vector<PartKey>{key(3), key(7, 1)}));
  EXPECT_EQ((*table)->left().size(), 2U);  // until counted and cleared
  (*table)->clear_all();
  EXPECT_TRUE((*table)->left().empty());
}

TEST_F(InFlightTableTest, MarkSurvivesAProcessThatAborts) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto table = InFlightTable::open(path(), 4);
    if (!table) ::_exit(2);
    (*table)->mark((*table)->acquire().value(), key(42, 2));
    std::abort();  // no destructor, no unmap: what a failed assertion does
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  auto table = InFlightTable::open(path(), 4);
  ASSERT_TRUE(table.has_value());
  EXPECT_EQ((*table)->left(), std::vector<PartKey>{key(42, 2)});
}

TEST_F(InFlightTableTest, SlotsAreHandedOutOnceAndReleaseClears) {
  auto table = InFlightTable::open(path(), 2);
  ASSERT_TRUE(table.has_value());
  const auto a = (*table)->acquire();
  const auto b = (*table)->acquire();
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_FALSE((*table)->acquire().has_value());
  (*table)->mark(*a, key(1));
  (*table)->release(*a);
  EXPECT_EQ((*table)->acquire(), a);
  (*table)->mark(*b, key(2));
  (*table)->clear_all();  // a clean stop
  EXPECT_TRUE((*table)->left().empty());
}

}  // namespace
}  // namespace mta::queue
