// OwnDsns on a real runtime of two shards: a DSN made on shard 1 is stored by the intake on
// shard 0, and the answer comes back on shard 1.
#include "mailbox/own_dsns.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <thread>

#include "engine/runtime.h"
#include "engine/test_support.h"

namespace mta::mailbox {
namespace {

using engine::testing::Signal;
using engine::testing::test_options;

constexpr const char* kDsn =
    "From: MAILER-DAEMON@outpost.example\r\nTo: bounce@bounces.outpost.example\r\n"
    "Subject: Undelivered Mail Returned to Sender\r\n\r\nNo such user\r\n";

class OwnDsnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "outpost-own-dsns-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    store_ = MailStore::open(dir_ + "/mailbox", {.sync = false}).value();
    intake_ = std::make_unique<BounceIntake>(
        *store_, IntakeOptions{.bounce_domain = "bounces.outpost.example"});
  }
  void TearDown() override {
    intake_.reset();
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  // Runs store() from shard 1; what `done` got, and whether it ran on shard 1.
  std::pair<std::optional<Result<void>>, bool> store_from_shard_one(bool attach) {
    engine::Runtime runtime(test_options(2));
    OwnDsns own(ShardId(0));
    std::optional<Result<void>> got;
    bool on_origin = false;
    Signal done;
    EXPECT_TRUE(runtime
                    .start([&](engine::Shard& shard) {
                      if (shard.id() == ShardId(0) && attach) own.attach(*intake_);
                      if (shard.id() != ShardId(1)) return;
                      // Shard 0 attaches in its own init; the post waits for its loop.
                      own.store(shard, "bounce@bounces.outpost.example", kDsn,
                                [&, &from = shard](const Result<void>& result) {
                                  got = result;
                                  on_origin = from.id() == ShardId(1);
                                  done.notify();
                                });
                    })
                    .has_value());
    EXPECT_TRUE(done.wait());
    runtime.request_stop();
    runtime.wait();
    return {got, on_origin};
  }

  std::string dir_;
  std::unique_ptr<MailStore> store_;
  std::unique_ptr<BounceIntake> intake_;
};

TEST_F(OwnDsnsTest, StoredOnTheMailboxShardAndAnsweredOnTheOrigin) {
  auto [got, on_origin] = store_from_shard_one(true);
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->has_value());
  EXPECT_TRUE(on_origin);
  EXPECT_EQ(store_->message_count(), 1u);
  EXPECT_EQ(intake_->probe().stored, 1u);
}

TEST_F(OwnDsnsTest, NoIntakeIsAFailureTheBouncerRetries) {
  auto [got, on_origin] = store_from_shard_one(false);
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->has_value());
  EXPECT_TRUE(on_origin);
  EXPECT_EQ(store_->message_count(), 0u);
}

}  // namespace
}  // namespace mta::mailbox
