// One typed suite run against MemoryStore and RocksDbStore (in a fresh temp dir), so both
// honour the same Store contract; then RocksDB-only tests: recovery after reopen, the
// directory lock, and a real write failure (RLIMIT_FSIZE) that must leave nothing behind.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "queue/errc.h"
#include "queue/failing_store_for_test.h"
#include "queue/memory_store.h"
#include "queue/rocksdb_store.h"

namespace mta::queue {
namespace {

using namespace std::chrono_literals;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/outpost_queue_test.XXXXXX";
    MTA_ASSERT(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

Envelope make_envelope(std::uint64_t id, std::size_t recipients = 2) {
  Envelope e;
  e.id = MessageId(id);
  e.mail_from = "sender@outpost.example";
  e.received_at = Clock::WallTime(1'700'000'000s);
  e.next_attempt_at = e.received_at + 5min;
  e.body_bytes = 11;
  for (std::size_t i = 0; i < recipients; ++i) {
    e.recipients.push_back(
        Recipient{std::string("r").append(std::to_string(i)).append("@example.com")});
  }
  return e;
}

// The error code of a failed Result, or an empty code if it succeeded, so an unexpected
// success fails the expectation instead of asserting in Result::error().
template <typename T>
std::error_code error_of(const Result<T>& result) {
  return result.has_value() ? std::error_code() : result.error().code;
}

std::vector<MessageId> visited_ids(Store& store) {
  std::vector<MessageId> ids;
  Result<void> scanned = store.for_each_envelope([&](Envelope&& e) {
    ids.push_back(e.id);
    return true;
  });
  EXPECT_TRUE(scanned.has_value()) << scanned.error().message();
  return ids;
}

template <typename S>
class StoreTest : public ::testing::Test {
 protected:
  static constexpr bool persistent = std::is_same_v<S, RocksDbStore>;

  void SetUp() override { reopen(); }

  // Closes the store (for RocksDB: releases the lock) and opens it again on the same data.
  void reopen() {
    store_.reset();
    if constexpr (persistent) {
      Result<std::unique_ptr<RocksDbStore>> opened = RocksDbStore::open(spool_path());
      ASSERT_TRUE(opened.has_value()) << opened.error().message();
      store_ = std::move(opened).value();
    } else {
      store_ = std::make_unique<MemoryStore>();
    }
  }

  std::string spool_path() const { return (dir_.path() / "spool").string(); }

  TempDir dir_;
  std::unique_ptr<S> store_;
};

using StoreTypes = ::testing::Types<MemoryStore, RocksDbStore>;
TYPED_TEST_SUITE(StoreTest, StoreTypes);

TYPED_TEST(StoreTest, PutThenReadBack) {
  Store& store = *this->store_;
  const Envelope envelope = make_envelope(42);
  ASSERT_TRUE(store.put(envelope, "hello world").has_value());

  Result<Envelope> got = store.read_envelope(MessageId(42));
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_EQ(*got, envelope);
  Result<std::string> body = store.read_body(MessageId(42));
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(*body, "hello world");
  EXPECT_EQ(store.count().value_or(99), 1U);
}

TYPED_TEST(StoreTest, BodiesOfAnySizeRoundTrip) {
  Store& store = *this->store_;
  std::string big(1 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + i / 251);
  const std::vector<std::string> bodies = {"", std::string("\0\r\n.\r\n", 6), big};
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    ASSERT_TRUE(store.put(make_envelope(i + 1), bodies[i]).has_value());
  }
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    Result<std::string> got = store.read_body(MessageId(i + 1));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, bodies[i]) << "body " << i;
  }
}

TYPED_TEST(StoreTest, MissingIdIsNotFound) {
  Store& store = *this->store_;
  ASSERT_TRUE(store.put(make_envelope(1), "x").has_value());
  const MessageId missing(2);
  EXPECT_EQ(error_of(store.read_envelope(missing)), Errc::not_found);
  EXPECT_EQ(error_of(store.read_body(missing)), Errc::not_found);
  EXPECT_EQ(error_of(store.update_envelope(make_envelope(2))), Errc::not_found);
  EXPECT_EQ(error_of(store.remove(missing)), Errc::not_found);
  // update of a missing id must not have created an envelope without a body.
  EXPECT_EQ(store.count().value_or(99), 1U);
  EXPECT_EQ(visited_ids(store), std::vector<MessageId>{MessageId(1)});
}

TYPED_TEST(StoreTest, UpdateReplacesEnvelopeAndKeepsBody) {
  Store& store = *this->store_;
  Envelope envelope = make_envelope(7);
  ASSERT_TRUE(store.put(envelope, "body").has_value());
  envelope.attempts = 1;
  envelope.next_attempt_at += 10min;
  envelope.recipients[0].state = RecipientState::delivered;
  envelope.recipients[0].last_reply = "250 2.0.0 ok";
  envelope.recipients[1].state = RecipientState::deferred;
  envelope.recipients[1].attempts = 1;
  envelope.recipients[1].last_reply = "451 4.3.0 try later";
  ASSERT_TRUE(store.update_envelope(envelope).has_value());

  Result<Envelope> got = store.read_envelope(MessageId(7));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, envelope);
  EXPECT_EQ(store.read_body(MessageId(7)).value_or(""), "body");
  EXPECT_EQ(store.count().value_or(99), 1U);
}

TYPED_TEST(StoreTest, RemoveDeletesEnvelopeAndBody) {
  Store& store = *this->store_;
  ASSERT_TRUE(store.put(make_envelope(1), "one").has_value());
  ASSERT_TRUE(store.put(make_envelope(2), "two").has_value());
  ASSERT_TRUE(store.remove(MessageId(1)).has_value());
  EXPECT_EQ(error_of(store.read_envelope(MessageId(1))), Errc::not_found);
  EXPECT_EQ(error_of(store.read_body(MessageId(1))), Errc::not_found);
  EXPECT_EQ(error_of(store.remove(MessageId(1))), Errc::not_found);
  EXPECT_EQ(store.read_body(MessageId(2)).value_or(""), "two");
  EXPECT_EQ(store.count().value_or(99), 1U);
}

TYPED_TEST(StoreTest, ForEachVisitsInIdOrderAndStopsEarly) {
  Store& store = *this->store_;
  // Ids whose little-endian bytes would sort differently from their values.
  const std::vector<std::uint64_t> values = {0x0100, 0xff00000000000000ULL, 0x01,
                                             0xff,   0x0001000000000000ULL, 0x0200};
  for (const std::uint64_t v : values) ASSERT_TRUE(store.put(make_envelope(v), "b").has_value());
  std::vector<MessageId> want(values.size());
  std::transform(values.begin(), values.end(), want.begin(),
                 [](std::uint64_t v) { return MessageId(v); });
  std::sort(want.begin(), want.end());
  EXPECT_EQ(visited_ids(store), want);

  std::vector<MessageId> first_two;
  ASSERT_TRUE(store
                  .for_each_envelope([&](Envelope&& e) {
                    first_two.push_back(e.id);
                    return first_two.size() < 2;
                  })
                  .has_value());
  EXPECT_EQ(first_two, std::vector<MessageId>(want.begin(), want.begin() + 2));
  EXPECT_EQ(store.count().value_or(99), values.size());
}

TYPED_TEST(StoreTest, EmptyStore) {
  Store& store = *this->store_;
  EXPECT_EQ(store.count().value_or(99), 0U);
  EXPECT_TRUE(visited_ids(store).empty());
}

TYPED_TEST(StoreTest, CorruptRecordIsSkippedAndReported) {
  ASSERT_TRUE(this->store_->put(make_envelope(1), "a").has_value());
  ASSERT_TRUE(this->store_->put(make_envelope(3), "c").has_value());
  std::string damaged = encode_envelope(make_envelope(2));
  damaged.pop_back();
  static_cast<void>(this->store_->put_raw_envelope_for_test(MessageId(2), damaged));
  // A valid record stored under another id's key is damage too.
  static_cast<void>(
      this->store_->put_raw_envelope_for_test(MessageId(4), encode_envelope(make_envelope(5))));
  Store& store = *this->store_;

  EXPECT_EQ(error_of(store.read_envelope(MessageId(2))), Errc::corrupt_record);
  std::vector<MessageId> ids;
  Result<void> scanned = store.for_each_envelope([&](Envelope&& e) {
    ids.push_back(e.id);
    return true;
  });
  ASSERT_FALSE(scanned.has_value());
  EXPECT_EQ(error_of(scanned), Errc::corrupt_record);
  EXPECT_NE(scanned.error().detail.find(to_hex(MessageId(2))), std::string::npos)
      << scanned.error().detail;
  EXPECT_EQ(ids, (std::vector<MessageId>{MessageId(1), MessageId(3)}));
}

TYPED_TEST(StoreTest, OversizedEnvelopeIsRefusedAndNothingWritten) {
  Store& store = *this->store_;
  Envelope envelope = make_envelope(9);
  envelope.recipients[0].last_reply.assign(reply_bytes_max + 1, 'x');
  Result<void> put = store.put(envelope, "body");
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(error_of(put), Errc::record_too_large);
  EXPECT_EQ(error_of(store.read_body(MessageId(9))), Errc::not_found);
  EXPECT_EQ(store.count().value_or(99), 0U);

  ASSERT_TRUE(store.put(make_envelope(9), "body").has_value());
  Result<void> update = store.update_envelope(envelope);
  ASSERT_FALSE(update.has_value());
  EXPECT_EQ(error_of(update), Errc::record_too_large);
  EXPECT_EQ(*store.read_envelope(MessageId(9)), make_envelope(9));
}

TYPED_TEST(StoreTest, FailedWritesThroughDecoratorLeaveStoreUnchanged) {
  FailingStore_for_test failing(*this->store_);
  ASSERT_TRUE(failing.put(make_envelope(1), "kept").has_value());
  failing.fail_writes(3, Errc::no_space);

  Result<void> put = failing.put(make_envelope(2), "lost");
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(error_of(put), Errc::no_space);
  Envelope updated = make_envelope(1);
  updated.attempts = 5;
  EXPECT_EQ(error_of(failing.update_envelope(updated)), Errc::no_space);
  EXPECT_EQ(error_of(failing.remove(MessageId(1))), Errc::no_space);
  EXPECT_EQ(failing.writes_failed(), 3U);

  Store& inner = *this->store_;
  EXPECT_EQ(error_of(inner.read_envelope(MessageId(2))), Errc::not_found);
  EXPECT_EQ(error_of(inner.read_body(MessageId(2))), Errc::not_found);
  EXPECT_EQ(*inner.read_envelope(MessageId(1)), make_envelope(1));
  EXPECT_EQ(inner.count().value_or(99), 1U);
  // The failures were transient: the next write goes through.
  ASSERT_TRUE(failing.put(make_envelope(2), "now").has_value());
  EXPECT_EQ(inner.read_body(MessageId(2)).value_or(""), "now");
}

TYPED_TEST(StoreTest, RecoveryAfterReopen) {
  if constexpr (!TestFixture::persistent) {
    GTEST_SKIP() << "MemoryStore keeps nothing across instances";
  } else {
    Envelope updated = make_envelope(20);
    ASSERT_TRUE(this->store_->put(make_envelope(10), "ten").has_value());
    ASSERT_TRUE(this->store_->put(updated, "twenty").has_value());
    ASSERT_TRUE(this->store_->put(make_envelope(30), "thirty").has_value());
    updated.recipients[1].state = RecipientState::bounced;
    updated.recipients[1].last_reply = "550 5.1.1 no such user";
    ASSERT_TRUE(this->store_->update_envelope(updated).has_value());
    ASSERT_TRUE(this->store_->remove(MessageId(10)).has_value());

    this->reopen();
    Store& store = *this->store_;
    std::vector<Envelope> recovered;
    ASSERT_TRUE(store
                    .for_each_envelope([&](Envelope&& e) {
                      recovered.push_back(std::move(e));
                      return true;
                    })
                    .has_value());
    EXPECT_EQ(recovered, (std::vector<Envelope>{updated, make_envelope(30)}));
    EXPECT_EQ(store.read_body(MessageId(20)).value_or(""), "twenty");
    EXPECT_EQ(store.read_body(MessageId(30)).value_or(""), "thirty");
    EXPECT_EQ(error_of(store.read_body(MessageId(10))), Errc::not_found);
    EXPECT_EQ(store.count().value_or(99), 2U);
  }
}

// RocksDB-only behaviour.

TEST(RocksDbStore, SecondOpenOfSameDirectoryIsLocked) {
  TempDir dir;
  const std::string path = (dir.path() / "spool").string();
  Result<std::unique_ptr<RocksDbStore>> first = RocksDbStore::open(path);
  ASSERT_TRUE(first.has_value()) << first.error().message();
  Result<std::unique_ptr<RocksDbStore>> second = RocksDbStore::open(path);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(error_of(second), Errc::locked);
  EXPECT_NE(second.error().detail.find(path), std::string::npos) << second.error().detail;
  first.value().reset();
  EXPECT_TRUE(RocksDbStore::open(path).has_value());
}

TEST(RocksDbStore, DirectoryLockedByAnotherProcess) {
  TempDir dir;
  const std::string path = (dir.path() / "spool").string();
  ASSERT_TRUE(RocksDbStore::open(path).has_value());  // creates the LOCK file, then closes
  int ready[2];
  int done[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(done), 0);
  const std::string lock_file = path + "/LOCK";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child takes the same fcntl write lock RocksDB takes, then waits to be told to exit.
    // Only async-signal-safe calls here: the parent has threads.
    char byte = 0;
    const int fd = ::open(lock_file.c_str(), O_RDWR);
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    if (fd < 0 || ::fcntl(fd, F_SETLK, &lock) != 0) ::_exit(1);
    if (::write(ready[1], &byte, 1) != 1) ::_exit(1);
    if (::read(done[0], &byte, 1) != 1) ::_exit(1);
    ::_exit(0);
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  Result<std::unique_ptr<RocksDbStore>> opened = RocksDbStore::open(path);
  ASSERT_EQ(::write(done[1], &byte, 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  for (const int fd : {ready[0], ready[1], done[0], done[1]}) ::close(fd);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(error_of(opened), Errc::locked) << opened.error().message();
  EXPECT_NE(opened.error().detail.find(path), std::string::npos);
  // Once the other process is gone the spool opens.
  EXPECT_TRUE(RocksDbStore::open(path).has_value());
}

TEST(RocksDbStore, OpenOnAFileFails) {
  TempDir dir;
  const std::filesystem::path file = dir.path() / "not_a_dir";
  std::ofstream(file) << "x";
  Result<std::unique_ptr<RocksDbStore>> opened = RocksDbStore::open((file / "spool").string());
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(error_of(opened), Errc::io_error);
}

TEST(RocksDbStore, UnsyncedStoreSurvivesCleanReopen) {
  TempDir dir;
  const std::string path = (dir.path() / "spool").string();
  {
    auto store = RocksDbStore::open(path, StoreOptions{.sync = false});
    ASSERT_TRUE(store.has_value());
    for (std::uint64_t id = 1; id <= 100; ++id) {
      ASSERT_TRUE((*store)->put(make_envelope(id), "body").has_value());
    }
  }
  auto store = RocksDbStore::open(path);
  ASSERT_TRUE(store.has_value());
  EXPECT_EQ((*store)->count().value_or(0), 100U);
}

// Lowers RLIMIT_FSIZE for its lifetime, so writing past `bytes` in any file fails with EFBIG:
// a real I/O error inside RocksDB without needing a tiny filesystem or root.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    MTA_ASSERT(::getrlimit(RLIMIT_FSIZE, &saved_) == 0);
    previous_handler_ = ::signal(SIGXFSZ, SIG_IGN);  // else the write kills the process
    rlimit limited = saved_;
    limited.rlim_cur = bytes;
    MTA_ASSERT(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
  }
  ~FileSizeLimit() {
    MTA_ASSERT(::setrlimit(RLIMIT_FSIZE, &saved_) == 0);
    ::signal(SIGXFSZ, previous_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  sighandler_t previous_handler_ = SIG_DFL;
};

TEST(RocksDbStore, FailedPutReturnsErrorAndWritesNothing) {
  TempDir dir;
  const std::string path = (dir.path() / "spool").string();
  {
    auto store = RocksDbStore::open(path);
    ASSERT_TRUE(store.has_value());
    ASSERT_TRUE((*store)->put(make_envelope(1), "kept").has_value());
    const std::string big_body(4 << 20, 'b');  // far past the limit: the WAL append fails
    Result<void> put;
    {
      const FileSizeLimit limit(1 << 20);
      put = (*store)->put(make_envelope(2), big_body);
    }
    ASSERT_FALSE(put.has_value());
    EXPECT_EQ(error_of(put), Errc::io_error) << put.error().message();
    EXPECT_FALSE(put.error().detail.empty());
    EXPECT_EQ(error_of((*store)->read_envelope(MessageId(2))), Errc::not_found);
    EXPECT_EQ(error_of((*store)->read_body(MessageId(2))), Errc::not_found);
  }
  // After a restart the torn WAL tail is dropped: the failed message is absent and the one
  // before it is intact.
  auto store = RocksDbStore::open(path);
  ASSERT_TRUE(store.has_value()) << store.error().message();
  EXPECT_EQ(error_of((*store)->read_envelope(MessageId(2))), Errc::not_found);
  EXPECT_EQ(error_of((*store)->read_body(MessageId(2))), Errc::not_found);
  EXPECT_EQ((*store)->read_body(MessageId(1)).value_or(""), "kept");
  EXPECT_EQ(visited_ids(**store), std::vector<MessageId>{MessageId(1)});
}

}  // namespace
}  // namespace mta::queue
