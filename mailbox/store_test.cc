// MailStore and Suppressions on a real RocksDB in a temporary directory: folders, UIDs,
// flags, copy, expunge, renames, and that all of it is there again after reopening.
#include "mailbox/store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <sys/mount.h>

#include <filesystem>
#include <fstream>

#include "mailbox/errc.h"

namespace mta::mailbox {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "outpost-mailbox-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    reopen();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  void reopen(StoreOptions options = {.sync = false}) {
    store_.reset();
    auto opened = MailStore::open(dir_ + "/mailbox", options);
    ASSERT_TRUE(opened) << opened.error().message();
    store_ = std::move(opened).value();
  }
  std::vector<std::uint32_t> uids(std::string_view folder) {
    std::vector<std::uint32_t> out;
    for (const auto& [uid, meta] : store_->find(folder)->messages) out.push_back(uid);
    return out;
  }

  std::string dir_;
  std::unique_ptr<MailStore> store_;
};

TEST_F(StoreTest, InboxExistsAndAppendsGetIncreasingUids) {
  ASSERT_NE(store_->find("inbox"), nullptr);
  EXPECT_EQ(store_->find("Inbox")->name, "INBOX");
  EXPECT_TRUE(store_->subscriptions().contains("INBOX"));
  const auto validity = store_->find("INBOX")->uidvalidity;
  EXPECT_GT(validity, 0u);
  EXPECT_EQ(*store_->append("INBOX", "Subject: a\r\n\r\nA\r\n", 0, {}, 1000), 1u);
  EXPECT_EQ(*store_->append("INBOX", "Subject: b\r\n\r\nB\r\n", flag_seen, {"$Bounce"}, 2000), 2u);
  EXPECT_EQ(*store_->read("INBOX", 2), "Subject: b\r\n\r\nB\r\n");
  EXPECT_EQ(store_->read("INBOX", 3).error().code, Errc::no_such_message);
  EXPECT_EQ(store_->append("Nope", "x", 0, {}, 0).error().code, Errc::no_such_folder);

  reopen();
  const Folder* inbox = store_->find("INBOX");
  EXPECT_EQ(inbox->uidvalidity, validity);
  EXPECT_EQ(inbox->uidnext, 3u);
  ASSERT_EQ(inbox->messages.size(), 2u);
  const MessageMeta& b = inbox->messages.at(2);
  EXPECT_EQ(b.flags, flag_seen);
  EXPECT_EQ(b.keywords, std::vector<std::string>{"$Bounce"});
  EXPECT_EQ(b.internal_date, 2000);
  EXPECT_EQ(b.size, 17u);
}

TEST_F(StoreTest, FlagsChangeAndPersist) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store_->append("INBOX", "x\r\n", 0, {}, 0));
  const std::uint32_t all[] = {1, 2, 3};
  const auto before = store_->find("INBOX")->modseq;
  ASSERT_TRUE(store_->change_flags("INBOX", all, FlagChange::add, flag_seen | flag_flagged, {"a"}));
  EXPECT_GT(store_->find("INBOX")->modseq, before);
  const std::uint32_t two[] = {2};
  ASSERT_TRUE(store_->change_flags("INBOX", two, FlagChange::remove, flag_flagged, {"a"}));
  const std::uint32_t three[] = {3};
  ASSERT_TRUE(store_->change_flags("INBOX", three, FlagChange::replace, flag_deleted, {}));
  reopen();
  const auto& messages = store_->find("INBOX")->messages;
  EXPECT_EQ(messages.at(1).flags, flag_seen | flag_flagged);
  EXPECT_EQ(messages.at(1).keywords, std::vector<std::string>{"a"});
  EXPECT_EQ(messages.at(2).flags, flag_seen);
  EXPECT_TRUE(messages.at(2).keywords.empty());
  EXPECT_EQ(messages.at(3).flags, flag_deleted);
}

TEST_F(StoreTest, CopyAndExpunge) {
  ASSERT_TRUE(store_->create_folder("Done"));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store_->append("INBOX", std::to_string(i), 0, {}, i));
  const std::uint32_t some[] = {3, 1, 99};
  auto copied = store_->copy("INBOX", some, "Done");
  ASSERT_TRUE(copied);
  EXPECT_EQ(*copied, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(*store_->read("Done", 1), "2");
  EXPECT_EQ(*store_->read("Done", 2), "0");
  const std::uint32_t gone[] = {1, 3};
  ASSERT_TRUE(store_->expunge("INBOX", gone));
  reopen();
  EXPECT_EQ(uids("INBOX"), std::vector<std::uint32_t>{2});
  EXPECT_EQ(uids("Done"), (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(store_->find("INBOX")->uidnext, 4u);  // UIDs are never reused
  EXPECT_EQ(*store_->append("INBOX", "new", 0, {}, 0), 4u);
}

TEST_F(StoreTest, FolderLifecycle) {
  EXPECT_EQ(store_->create_folder("INBOX").error().code, Errc::folder_exists);
  EXPECT_EQ(store_->delete_folder("inbox").error().code, Errc::not_allowed);
  for (std::string_view bad : {"", "/a", "a/", "a//b", "a*", "a%b", "tab\there"}) {
    EXPECT_EQ(store_->create_folder(bad).error().code, Errc::invalid_name) << bad;
  }
  ASSERT_TRUE(store_->create_folder("a"));
  ASSERT_TRUE(store_->create_folder("a/b"));
  ASSERT_TRUE(store_->append("a/b", "x", 0, {}, 0));
  ASSERT_TRUE(store_->rename_folder("a", "z"));
  EXPECT_EQ(store_->find("a/b"), nullptr);
  ASSERT_NE(store_->find("z/b"), nullptr);
  EXPECT_EQ(*store_->read("z/b", 1), "x");
  ASSERT_TRUE(store_->set_subscribed("z", true));
  const auto old_validity = store_->find("z/b")->uidvalidity;
  ASSERT_TRUE(store_->delete_folder("z/b"));
  ASSERT_TRUE(store_->create_folder("z/b"));
  EXPECT_GT(store_->find("z/b")->uidvalidity, old_validity);
  EXPECT_TRUE(store_->find("z/b")->messages.empty());
  reopen();
  std::vector<std::string> names;
  for (const Folder* folder : store_->folders()) names.push_back(folder->name);
  EXPECT_EQ(names, (std::vector<std::string>{"INBOX", "z", "z/b"}));
  EXPECT_TRUE(store_->subscriptions().contains("z"));
  EXPECT_TRUE(store_->find("z/b")->messages.empty());
}

TEST_F(StoreTest, SubscriptionsAreNamesThatOutliveTheirFolders) {
  ASSERT_TRUE(store_->create_folder("Kept"));
  ASSERT_TRUE(store_->set_subscribed("Kept", true));
  ASSERT_TRUE(store_->set_subscribed("Later", true));  // no such folder yet
  ASSERT_TRUE(store_->delete_folder("Kept"));
  EXPECT_EQ(store_->set_subscribed("a//b", true).error().code, Errc::invalid_name);
  reopen();
  EXPECT_EQ(store_->subscriptions(),
            (std::set<std::string, std::less<>>{"INBOX", "Kept", "Later"}));
  ASSERT_TRUE(store_->set_subscribed("Later", false));
  reopen();
  EXPECT_FALSE(store_->subscriptions().contains("Later"));
}

TEST_F(StoreTest, InboxIsCaseInsensitiveAtTheTopOfItsHierarchy) {
  EXPECT_EQ(canonical_folder_name("inbox/sub"), "INBOX/sub");
  EXPECT_EQ(canonical_folder_name("Inbox"), "INBOX");
  EXPECT_EQ(canonical_folder_name("inboxes/x"), "inboxes/x");
  EXPECT_EQ(canonical_folder_name("a/inbox"), "a/inbox");
  ASSERT_TRUE(store_->create_folder("inbox/sub"));
  ASSERT_NE(store_->find("INBOX/sub"), nullptr);
  EXPECT_EQ(store_->find("Inbox/sub")->name, "INBOX/sub");
  EXPECT_EQ(store_->create_folder("INBOX/Sub").has_value(), true);  // other levels keep case
  EXPECT_EQ(store_->create_folder("INBOX/sub").error().code, Errc::folder_exists);
  ASSERT_TRUE(store_->rename_folder("INBOX/Sub", "inbox/other"));
  EXPECT_NE(store_->find("INBOX/other"), nullptr);
}

TEST_F(StoreTest, RenamingInboxMovesItsMessages) {
  ASSERT_TRUE(store_->append("INBOX", "one", 0, {}, 0));
  ASSERT_TRUE(store_->append("INBOX", "two", 0, {}, 0));
  ASSERT_TRUE(store_->rename_folder("INBOX", "Old"));
  reopen();
  EXPECT_TRUE(store_->find("INBOX")->messages.empty());
  EXPECT_EQ(uids("Old"), (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(*store_->read("Old", 2), "two");
  EXPECT_EQ(*store_->append("INBOX", "three", 0, {}, 0), 3u);
}

TEST_F(StoreTest, WatchersHearEveryChange) {
  std::vector<std::string> heard;
  const auto id = store_->watch([&heard](const Folder& folder) { heard.push_back(folder.name); });
  ASSERT_TRUE(store_->append("INBOX", "x", 0, {}, 0));
  const std::uint32_t one[] = {1};
  ASSERT_TRUE(store_->change_flags("INBOX", one, FlagChange::add, flag_seen, {}));
  ASSERT_TRUE(store_->change_flags("INBOX", one, FlagChange::add, flag_seen, {}));  // no change
  ASSERT_TRUE(store_->expunge("INBOX", one));
  store_->unwatch(id);
  ASSERT_TRUE(store_->append("INBOX", "y", 0, {}, 0));
  EXPECT_EQ(heard, (std::vector<std::string>{"INBOX", "INBOX", "INBOX"}));
}

// Quota: an append that would go past it expires the oldest messages of every folder first
// (by internal date), in the same write; the byte count and age index survive a reopen.
TEST_F(StoreTest, QuotaExpiresOldestFirst) {
  ManualClock clock(Clock::TimePoint{}, Clock::WallTime{std::chrono::seconds(1'000'000)});
  const StoreOptions options{.sync = false, .quota_bytes = 100, .clock = &clock};
  reopen(options);
  ASSERT_TRUE(store_->create_folder("Done"));
  const std::string forty(40, 'x');
  EXPECT_EQ(*store_->append("INBOX", forty, 0, {}, 300), 1u);
  EXPECT_EQ(*store_->append("Done", forty, 0, {}, 100), 1u);  // the oldest, in another folder
  EXPECT_EQ(store_->bytes(), 80u);
  std::vector<std::string> heard;
  store_->watch([&heard](const Folder& folder) { heard.push_back(folder.name); });
  // 80 + 40 > 100: Done's message (date 100) goes, INBOX's (date 300) stays.
  EXPECT_EQ(*store_->append("INBOX", forty, 0, {}, 400), 2u);
  EXPECT_EQ(uids("Done"), std::vector<std::uint32_t>{});
  EXPECT_EQ(uids("INBOX"), (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(heard, (std::vector<std::string>{"Done", "INBOX"}));
  EXPECT_EQ(store_->bytes(), 80u);
  EXPECT_EQ(store_->message_count(), 2u);
  EXPECT_EQ(store_->probe().expired_quota, 1u);
  // Exactly at the quota is within it; one more octet makes the oldest go.
  EXPECT_EQ(*store_->append("INBOX", std::string(20, 'y'), 0, {}, 500), 3u);
  EXPECT_EQ(store_->bytes(), 100u);
  EXPECT_EQ(*store_->append("INBOX", "z", 0, {}, 600), 4u);
  EXPECT_EQ(uids("INBOX"), (std::vector<std::uint32_t>{2, 3, 4}));
  EXPECT_EQ(store_->read("INBOX", 1).error().code, Errc::no_such_message);
  EXPECT_EQ(store_->bytes(), 61u);
  // A message larger than the whole quota is refused and nothing is expired for it.
  EXPECT_EQ(store_->append("INBOX", std::string(101, 'b'), 0, {}, 700).error().code,
            Errc::over_quota);
  EXPECT_EQ(store_->message_count(), 3u);
  // A copy makes room the same way.
  const std::uint32_t two[] = {2};
  ASSERT_TRUE(store_->copy("INBOX", two, "Done"));
  EXPECT_EQ(uids("INBOX"), (std::vector<std::uint32_t>{3, 4}));  // uid 2 (date 400) was oldest
  EXPECT_EQ(uids("Done"), std::vector<std::uint32_t>{2});
  EXPECT_EQ(store_->bytes(), 61u);
  reopen(options);
  EXPECT_EQ(store_->bytes(), 61u);
  EXPECT_EQ(store_->message_count(), 3u);
  EXPECT_EQ(uids("INBOX"), (std::vector<std::uint32_t>{3, 4}));
}

// Retention: messages older than it go at the next append or expire(), as the clock moves.
TEST_F(StoreTest, RetentionExpiresByInternalDate) {
  ManualClock clock(Clock::TimePoint{}, Clock::WallTime{std::chrono::seconds(1'000'000)});
  const StoreOptions options{.sync = false, .retention = std::chrono::hours(1), .clock = &clock};
  reopen(options);
  ASSERT_TRUE(store_->append("INBOX", "a", 0, {}, 1'000'000 - 3600));  // exactly an hour old
  ASSERT_TRUE(store_->append("INBOX", "b", 0, {}, 1'000'000 - 1800));
  ASSERT_TRUE(store_->append("INBOX", "c", 0, {}, 1'000'000));
  EXPECT_EQ(*store_->expire(), 0u);
  clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(*store_->expire(), 1u);
  EXPECT_EQ(uids("INBOX"), (std::vector<std::uint32_t>{2, 3}));
  clock.advance(std::chrono::minutes(30));
  ASSERT_TRUE(store_->append("INBOX", "d", 0, {}, 1'000'000 + 1801));  // b goes with it
  EXPECT_EQ(uids("INBOX"), (std::vector<std::uint32_t>{3, 4}));
  EXPECT_EQ(store_->probe().expired_retention, 2u);
  EXPECT_EQ(store_->probe().expired_quota, 0u);
  // Deleting a folder and renaming INBOX keep the count right.
  ASSERT_TRUE(store_->rename_folder("INBOX", "Old"));
  EXPECT_EQ(store_->bytes(), 2u);
  ASSERT_TRUE(store_->delete_folder("Old"));
  EXPECT_EQ(store_->bytes(), 0u);
  EXPECT_EQ(store_->message_count(), 0u);
  EXPECT_EQ(*store_->expire(), 0u);
}

// A lower quota set while the store was closed holds from the first expire().
TEST_F(StoreTest, LowerQuotaAtOpenExpiresOnExpire) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store_->append("INBOX", std::string(10, 'x'), 0, {}, i));
  reopen({.sync = false, .quota_bytes = 35});
  EXPECT_EQ(store_->bytes(), 100u);
  EXPECT_EQ(*store_->expire(), 7u);
  EXPECT_EQ(uids("INBOX"), (std::vector<std::uint32_t>{8, 9, 10}));
  EXPECT_EQ(store_->bytes(), 30u);
}

TEST_F(StoreTest, MaildropLockIsExclusive) {
  EXPECT_TRUE(store_->lock_maildrop());
  EXPECT_FALSE(store_->lock_maildrop());
  store_->unlock_maildrop();
  EXPECT_TRUE(store_->lock_maildrop());
}

TEST_F(StoreTest, SuppressionsPersistAndIgnoreCase) {
  Suppressions& list = store_->suppressions();
  ASSERT_TRUE(list.add({.address = "Ann@Example.COM",
                        .category = "invalid_recipient",
                        .reason = "550 5.1.1 no such user",
                        .added_at = 1700000000}));
  ASSERT_TRUE(list.add({.address = "bob@example.net", .category = "complaint"}));
  EXPECT_TRUE(list.contains("ann@example.com"));
  EXPECT_TRUE(list.contains("ANN@example.com"));
  EXPECT_FALSE(list.contains("carl@example.com"));
  reopen();
  Suppressions& again = store_->suppressions();
  EXPECT_EQ(again.size(), 2u);
  auto ann = again.find("ann@example.com");
  ASSERT_TRUE(ann);
  EXPECT_EQ(ann->category, "invalid_recipient");
  EXPECT_EQ(ann->reason, "550 5.1.1 no such user");
  EXPECT_EQ(ann->added_at, 1700000000);
  auto listed = again.list("example", 10);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].address, "ann@example.com");
  EXPECT_EQ(again.list("", 1).size(), 1u);
  EXPECT_TRUE(*again.remove("ANN@example.com"));
  EXPECT_FALSE(*again.remove("ann@example.com"));
  reopen();
  EXPECT_FALSE(store_->suppressions().contains("ann@example.com"));
  EXPECT_TRUE(store_->suppressions().contains("bob@example.net"));
}

// A real full disk: the mailbox on an 8 MiB tmpfs (root only). Appends fail with no_space and
// leave the index as it was; once space is freed the same store takes writes again (the
// database is resumed), and everything appended survives a reopen.
TEST(MailStoreDiskFull, AppendsFailCleanlyAndResumeWhenSpaceIsFreed) {
  std::string pattern = (std::filesystem::temp_directory_path() / "outpost-full-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const std::filesystem::path dir = pattern;
  const std::filesystem::path small = dir / "small";
  std::filesystem::create_directories(small);
  if (::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=8m") != 0) {
    std::filesystem::remove_all(dir);
    GTEST_SKIP() << "cannot mount tmpfs here (not root?)";
  }
  {
    std::ofstream out(small / "ballast", std::ios::binary);
    const std::string mib(1 << 20, 'z');
    for (int i = 0; i < 2; ++i) out << mib;
  }
  {
    auto store = MailStore::open((small / "mailbox").string(), {.sync = true});
    ASSERT_TRUE(store) << store.error().message();
    const std::string body(64 << 10, 'b');
    std::size_t appended = 0;
    Result<std::uint32_t> failed = 0u;
    for (int i = 0; i < 400; ++i) {
      failed = (*store)->append("INBOX", body, 0, {}, 0);
      if (!failed) break;
      ++appended;
    }
    ASSERT_FALSE(failed) << "8 MiB never filled up";
    EXPECT_EQ(failed.error().code, Errc::no_space) << failed.error().message();
    EXPECT_EQ((*store)->find("INBOX")->messages.size(), appended);
    EXPECT_EQ((*store)->suppressions().add({.address = "a@example.com"}).error().code,
              Errc::no_space);
    EXPECT_FALSE((*store)->suppressions().contains("a@example.com"));

    std::filesystem::remove(small / "ballast");
    auto after = (*store)->append("INBOX", "after", 0, {}, 0);
    EXPECT_TRUE(after) << after.error().message();
    EXPECT_TRUE((*store)->suppressions().add({.address = "a@example.com"}));
    store->reset();
    auto reopened = MailStore::open((small / "mailbox").string(), {.sync = true});
    ASSERT_TRUE(reopened) << reopened.error().message();
    EXPECT_EQ((*reopened)->find("INBOX")->messages.size(), appended + (after ? 1 : 0));
    EXPECT_TRUE((*reopened)->suppressions().contains("a@example.com"));
  }
  ::umount2(small.c_str(), MNT_DETACH);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mta::mailbox
