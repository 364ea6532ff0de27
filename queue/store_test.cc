// One typed suite run against MemoryStore and RocksDbStore (in a fresh temp dir), so both
// honour the same Store contract: parts sharing one body, group commit all or nothing, the
// schedule index kept in step, sibling removals racing, history records of removed parts;
// then RocksDB-only tests: the directory lock, real write failures (RLIMIT_FSIZE, a full
// tmpfs) that leave nothing behind, a spool written before the history family existed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/mount.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "queue/errc.h"
#include "queue/failing_store_for_test.h"
#include "queue/keys.h"
#include "queue/memory_store.h"
#include "queue/rocksdb_store.h"
#include "queue/temp_dir_for_test.h"

namespace mta::queue {
namespace {

using namespace std::chrono_literals;

using TempDir = TempDir_for_test;

const Clock::WallTime t0 = Clock::WallTime(1'700'000'000s);

Envelope make_envelope(std::uint64_t id, std::size_t recipients = 2, std::uint32_t part = 0) {
  Envelope e;
  e.id = MessageId(id);
  e.part = part;
  e.destination = "d" + std::to_string(part) + ".example";
  e.mail_from = "sender@outpost.example";
  e.received_at = t0;
  e.next_attempt_at = e.received_at + 5min;
  e.expires_at = e.received_at + 72h;
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

PartKey key_of(std::uint64_t id, std::uint32_t part = 0) { return PartKey{MessageId(id), part}; }

std::vector<MessageId> visited_ids(Store& store) {
  std::vector<MessageId> ids;
  Result<void> scanned = store.for_each_envelope([&](Envelope&& e) {
    ids.push_back(e.id);
    return true;
  });
  EXPECT_TRUE(scanned.has_value()) << scanned.error().message();
  return ids;
}

std::vector<PartKey> visited_parts(Store& store) {
  std::vector<PartKey> keys;
  Result<void> scanned = store.for_each_envelope([&](Envelope&& e) {
    keys.push_back(PartKey{e.id, e.part});
    return true;
  });
  EXPECT_TRUE(scanned.has_value()) << scanned.error().message();
  return keys;
}

// A ScheduledItem flattened for EXPECT_EQ.
struct Entry {
  std::uint64_t due_ms;
  PartKey key;
  std::string destination;
  friend bool operator==(const Entry&, const Entry&) = default;
  friend std::ostream& operator<<(std::ostream& out, const Entry& e) {
    return out << "{" << e.due_ms << " " << to_hex(e.key.message) << "/" << e.key.part << " "
               << e.destination << "}";
  }
};

std::vector<Entry> scheduled(Store& store) {
  std::vector<Entry> entries;
  Result<void> scanned = store.for_each_scheduled([&](ScheduledItem&& item) {
    entries.push_back(Entry{due_ms(item.due), item.key, item.destination});
    return true;
  });
  EXPECT_TRUE(scanned.has_value()) << scanned.error().message();
  return entries;
}

Entry entry_of(const Envelope& e) {
  return Entry{due_ms(e.next_attempt_at), PartKey{e.id, e.part}, e.destination};
}

// Parts 0..count-1 of message `id`, each for its own destination.
std::vector<Envelope> make_parts(std::uint64_t id, std::uint32_t count) {
  std::vector<Envelope> parts;
  for (std::uint32_t part = 0; part < count; ++part) {
    parts.push_back(make_envelope(id, 1, part));
    parts.back().next_attempt_at += std::chrono::seconds(part);
  }
  return parts;
}

// A part as delivery leaves it: every recipient in `state` with `reply`, one more attempt.
Envelope finished(Envelope e, RecipientState state, const std::string& reply) {
  e.attempts += 1;
  for (Recipient& r : e.recipients) {
    r.state = state;
    r.attempts += 1;
    r.last_reply = reply;
  }
  return e;
}

// The keys of a read_message / read_history answer; a failed read fails the expectation.
std::vector<PartKey> keys_in(const Result<std::vector<Envelope>>& read) {
  EXPECT_TRUE(read.has_value()) << read.error().message();
  std::vector<PartKey> keys;
  if (read) {
    for (const Envelope& e : *read) keys.push_back(PartKey{e.id, e.part});
  }
  return keys;
}

template <typename S>
class StoreTest : public ::testing::Test {
 protected:
  static constexpr bool persistent = std::is_same_v<S, RocksDbStore>;

  void SetUp() override { reopen(); }

  // Closes the store (for RocksDB: releases the lock) and opens it again on the same data
  // (MemoryStore: a new, empty one).
  void reopen(StoreOptions options = {}) {
    store_.reset();
    if constexpr (persistent) {
      Result<std::unique_ptr<RocksDbStore>> opened = RocksDbStore::open(spool_path(), options);
      ASSERT_TRUE(opened.has_value()) << opened.error().message();
      store_ = std::move(opened).value();
    } else {
      store_ = std::make_unique<MemoryStore>(options);
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

  Result<Envelope> got = store.read_envelope(key_of(42));
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_EQ(*got, envelope);
  Result<std::string> body = store.read_body(MessageId(42));
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(*body, "hello world");
  EXPECT_EQ(store.count().value_or(99), 1U);
}

// The crash-loop breaker: each start-up counts a crash against the parts the last process died
// attempting; the third quarantines the part (never due, shown by its schedule entry).
TYPED_TEST(StoreTest, ThirdCrashDuringAttemptsQuarantinesThePart) {
  Store& store = *this->store_;
  const Envelope poison = make_envelope(50);
  const Envelope bystander = make_envelope(51);
  ASSERT_TRUE(store.put(poison, "x").has_value());
  ASSERT_TRUE(store.put(bystander, "y").has_value());
  // 52 finished (removed) before the crash, though its mark was left: it counts nothing.
  const std::vector<PartKey> interrupted = {key_of(50), key_of(52)};
  for (std::uint32_t crash = 1; crash <= crashes_before_quarantine; ++crash) {
    Result<InFlightRecovery> recovered =
        store.recover_in_flight(interrupted, crashes_before_quarantine);
    ASSERT_TRUE(recovered.has_value()) << recovered.error().message();
    EXPECT_EQ(recovered->interrupted, 1U) << "crash " << crash;
    const bool held = crash == crashes_before_quarantine;
    ASSERT_EQ(recovered->quarantined.size(), held ? 1U : 0U) << "crash " << crash;
    EXPECT_EQ(store.quarantined_count(), held ? 1U : 0U);
    Result<Envelope> stored = store.read_envelope(key_of(50));
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(is_quarantined(*stored), held) << "crash " << crash;
  }
  Envelope held = poison;
  held.next_attempt_at = quarantined_due;
  EXPECT_EQ(scheduled(store), (std::vector<Entry>{entry_of(bystander), entry_of(held)}));
  EXPECT_EQ(store.read_envelope(key_of(51)).value_or(Envelope{}), bystander);
  Result<std::vector<ScheduledItem>> listed = store.quarantined_parts();
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), 1U);
  EXPECT_EQ((*listed)[0].key, key_of(50));
  EXPECT_EQ((*listed)[0].destination, poison.destination);
  // A fourth crash during it cannot happen (it is never tried), and would change nothing.
  Result<InFlightRecovery> again = store.recover_in_flight(interrupted, crashes_before_quarantine);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->quarantined.empty());
  EXPECT_EQ(store.quarantined_count(), 1U);
}

// An operator's release (an update with a real due time) forgets the crashes: it takes three
// more to quarantine the part again. Deleting a held part ends its quarantine too.
TYPED_TEST(StoreTest, ReleaseForgetsCrashesAndRemovalEndsQuarantine) {
  Store& store = *this->store_;
  const Envelope poison = make_envelope(60);
  ASSERT_TRUE(store.put(poison, "x").has_value());
  const std::vector<PartKey> interrupted = {key_of(60)};
  for (std::uint32_t crash = 0; crash < crashes_before_quarantine; ++crash) {
    ASSERT_TRUE(store.recover_in_flight(interrupted, crashes_before_quarantine).has_value());
  }
  ASSERT_EQ(store.quarantined_count(), 1U);
  ASSERT_TRUE(store.update_envelope(poison).has_value());  // released, due as before
  EXPECT_EQ(store.quarantined_count(), 0U);
  EXPECT_EQ(scheduled(store), std::vector<Entry>{entry_of(poison)});
  for (std::uint32_t crash = 1; crash < crashes_before_quarantine; ++crash) {
    Result<InFlightRecovery> recovered =
        store.recover_in_flight(interrupted, crashes_before_quarantine);
    ASSERT_TRUE(recovered.has_value());
    EXPECT_TRUE(recovered->quarantined.empty()) << "crash " << crash << " after the release";
  }
  ASSERT_EQ(store.recover_in_flight(interrupted, crashes_before_quarantine)
                .value_or(InFlightRecovery{})
                .quarantined.size(),
            1U);
  ASSERT_TRUE(store.remove_part(key_of(60)).has_value());
  EXPECT_EQ(store.quarantined_count(), 0U);
  EXPECT_TRUE(scheduled(store).empty());
}

// Crash counts and quarantine survive the process: each run counts one crash, and the held
// count is found again by open().
TEST(RocksDbStore, CrashCountsAndQuarantineSurviveReopen) {
  TempDir dir;
  const std::string path = (dir.path() / "spool").string();
  const std::vector<PartKey> interrupted = {key_of(80)};
  for (std::uint32_t run = 1; run <= crashes_before_quarantine; ++run) {
    auto store = RocksDbStore::open(path);
    ASSERT_TRUE(store.has_value()) << store.error().message();
    if (run == 1) {
      ASSERT_TRUE((*store)->put(make_envelope(80), "x").has_value());
    }
    Result<InFlightRecovery> recovered =
        (*store)->recover_in_flight(interrupted, crashes_before_quarantine);
    ASSERT_TRUE(recovered.has_value()) << recovered.error().message();
    EXPECT_EQ(recovered->quarantined.size(), run == crashes_before_quarantine ? 1U : 0U);
  }
  auto reopened = RocksDbStore::open(path);
  ASSERT_TRUE(reopened.has_value()) << reopened.error().message();
  EXPECT_EQ((*reopened)->quarantined_count(), 1U);
  Result<Envelope> held = (*reopened)->read_envelope(key_of(80));
  ASSERT_TRUE(held.has_value());
  EXPECT_TRUE(is_quarantined(*held));
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
  EXPECT_EQ(error_of(store.read_envelope(PartKey{missing, 0})), Errc::not_found);
  EXPECT_EQ(error_of(store.read_envelope(key_of(1, 1))), Errc::not_found);  // other part
  EXPECT_EQ(error_of(store.read_body(missing)), Errc::not_found);
  EXPECT_EQ(error_of(store.update_envelope(make_envelope(2))), Errc::not_found);
  EXPECT_EQ(error_of(store.update_envelope(make_envelope(1, 2, 1))), Errc::not_found);
  EXPECT_EQ(error_of(store.remove_part(PartKey{missing, 0})), Errc::not_found);
  EXPECT_EQ(error_of(store.remove_part(key_of(1, 1))), Errc::not_found);
  // update of a missing part must not have created an envelope or a schedule entry.
  EXPECT_EQ(store.count().value_or(99), 1U);
  EXPECT_EQ(visited_ids(store), std::vector<MessageId>{MessageId(1)});
  EXPECT_EQ(scheduled(store), std::vector<Entry>{entry_of(make_envelope(1))});
  EXPECT_EQ(store.read_body(MessageId(1)).value_or(""), "x");
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

  Result<Envelope> got = store.read_envelope(key_of(7));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, envelope);
  EXPECT_EQ(store.read_body(MessageId(7)).value_or(""), "body");
  EXPECT_EQ(store.count().value_or(99), 1U);
}

TYPED_TEST(StoreTest, RemoveDeletesEnvelopeAndBody) {
  Store& store = *this->store_;
  ASSERT_TRUE(store.put(make_envelope(1), "one").has_value());
  ASSERT_TRUE(store.put(make_envelope(2), "two").has_value());
  ASSERT_TRUE(store.remove_part(key_of(1)).has_value());
  EXPECT_EQ(error_of(store.read_envelope(key_of(1))), Errc::not_found);
  EXPECT_EQ(error_of(store.read_body(MessageId(1))), Errc::not_found);
  EXPECT_EQ(error_of(store.remove_part(key_of(1))), Errc::not_found);
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

TYPED_TEST(StoreTest, ScanResumesFromAKeyInSlices) {
  Store& store = *this->store_;
  for (std::uint64_t id = 1; id <= 4; ++id) {
    const std::vector<Envelope> parts = make_parts(id, 2);
    const MessageWrite write{parts, "b"};
    ASSERT_TRUE(store.write_batch({&write, 1}).has_value());
  }
  // Slices of three, each resuming just after the last key the previous one saw: every part
  // once, in order, as an admin scan that yields between slices would see them.
  std::vector<PartKey> seen;
  PartKey from{};
  for (int slice = 0; slice < 10; ++slice) {
    std::size_t in_slice = 0;
    ASSERT_TRUE(store
                    .for_each_envelope_from(from,
                                            [&](Envelope&& e) {
                                              seen.push_back(PartKey{e.id, e.part});
                                              return ++in_slice < 3;
                                            })
                    .has_value());
    if (in_slice < 3) break;
    from = PartKey{seen.back().message, seen.back().part + 1};
  }
  std::vector<PartKey> want;
  for (std::uint64_t id = 1; id <= 4; ++id)
    want.push_back(key_of(id, 0)), want.push_back(key_of(id, 1));
  EXPECT_EQ(seen, want);
  std::vector<PartKey> from_middle;
  ASSERT_TRUE(store
                  .for_each_envelope_from(key_of(3, 1),
                                          [&](Envelope&& e) {
                                            from_middle.push_back(PartKey{e.id, e.part});
                                            return true;
                                          })
                  .has_value());
  EXPECT_EQ(from_middle, (std::vector<PartKey>{key_of(3, 1), key_of(4, 0), key_of(4, 1)}));
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
  static_cast<void>(this->store_->put_raw_envelope_for_test(key_of(2), damaged));
  // A valid record stored under another id's key is damage too.
  static_cast<void>(
      this->store_->put_raw_envelope_for_test(key_of(4), encode_envelope(make_envelope(5))));
  Store& store = *this->store_;

  EXPECT_EQ(error_of(store.read_envelope(key_of(2))), Errc::corrupt_record);
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
  // A damaged part can still be removed.
  EXPECT_TRUE(store.remove_part(key_of(2)).has_value());
  EXPECT_EQ(error_of(store.read_envelope(key_of(2))), Errc::not_found);
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
  EXPECT_EQ(*store.read_envelope(key_of(9)), make_envelope(9));
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
  EXPECT_EQ(error_of(failing.remove_part(key_of(1))), Errc::no_space);
  EXPECT_EQ(failing.writes_failed(), 3U);

  Store& inner = *this->store_;
  EXPECT_EQ(error_of(inner.read_envelope(key_of(2))), Errc::not_found);
  EXPECT_EQ(error_of(inner.read_body(MessageId(2))), Errc::not_found);
  EXPECT_EQ(*inner.read_envelope(key_of(1)), make_envelope(1));
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
    const std::vector<Envelope> parts = make_parts(40, 3);
    ASSERT_TRUE(this->store_->put(make_envelope(10), "ten").has_value());
    ASSERT_TRUE(this->store_->put(updated, "twenty").has_value());
    ASSERT_TRUE(this->store_->put(make_envelope(30), "thirty").has_value());
    const MessageWrite write{parts, "forty"};
    ASSERT_TRUE(this->store_->write_batch({&write, 1}).has_value());
    updated.recipients[1].state = RecipientState::bounced;
    updated.recipients[1].last_reply = "550 5.1.1 no such user";
    updated.next_attempt_at += 1h;
    ASSERT_TRUE(this->store_->update_envelope(updated).has_value());
    ASSERT_TRUE(this->store_->remove_part(key_of(10)).has_value());
    ASSERT_TRUE(this->store_->remove_part(key_of(40, 1)).has_value());

    this->reopen();
    Store& store = *this->store_;
    std::vector<Envelope> recovered;
    ASSERT_TRUE(store
                    .for_each_envelope([&](Envelope&& e) {
                      recovered.push_back(std::move(e));
                      return true;
                    })
                    .has_value());
    EXPECT_EQ(recovered, (std::vector<Envelope>{updated, make_envelope(30), parts[0], parts[2]}));
    EXPECT_EQ(store.read_body(MessageId(20)).value_or(""), "twenty");
    EXPECT_EQ(store.read_body(MessageId(30)).value_or(""), "thirty");
    EXPECT_EQ(store.read_body(MessageId(40)).value_or(""), "forty");
    EXPECT_EQ(error_of(store.read_body(MessageId(10))), Errc::not_found);
    EXPECT_EQ(store.count().value_or(99), 4U);
    // Due order: 30 and 40/0 at +5 min (id order), 40/2 at +5 min 2 s, 20 moved to +1 h 5 min.
    EXPECT_EQ(scheduled(store), (std::vector<Entry>{entry_of(make_envelope(30)), entry_of(parts[0]),
                                                    entry_of(parts[2]), entry_of(updated)}));
  }
}

TYPED_TEST(StoreTest, MultiPartMessageSharesOneBody) {
  Store& store = *this->store_;
  const std::vector<Envelope> parts = make_parts(5, 3);
  const MessageWrite write{parts, "shared body"};
  ASSERT_TRUE(store.write_batch({&write, 1}).has_value());
  for (const Envelope& part : parts) {
    Result<Envelope> got = store.read_envelope(PartKey{part.id, part.part});
    ASSERT_TRUE(got.has_value()) << got.error().message();
    EXPECT_EQ(*got, part);
  }
  EXPECT_EQ(store.read_body(MessageId(5)).value_or(""), "shared body");
  EXPECT_EQ(store.count().value_or(99), 3U);
  EXPECT_EQ(visited_parts(store), (std::vector<PartKey>{key_of(5, 0), key_of(5, 1), key_of(5, 2)}));
  EXPECT_EQ(scheduled(store),
            (std::vector<Entry>{entry_of(parts[0]), entry_of(parts[1]), entry_of(parts[2])}));
}

TYPED_TEST(StoreTest, WriteBatchStoresEveryMessage) {
  Store& store = *this->store_;
  std::vector<std::vector<Envelope>> parts;
  std::vector<std::string> bodies;
  std::vector<MessageWrite> writes;
  std::vector<Entry> want_schedule;
  for (std::uint64_t id = 1; id <= 64; ++id) {
    parts.push_back(make_parts(id, static_cast<std::uint32_t>(id % 3 + 1)));
    // Later ids due earlier, so due order is not id order.
    for (Envelope& part : parts.back()) part.next_attempt_at -= std::chrono::seconds(10 * id);
    bodies.push_back("body " + std::to_string(id));
    for (const Envelope& part : parts.back()) want_schedule.push_back(entry_of(part));
  }
  for (std::size_t i = 0; i < parts.size(); ++i) writes.push_back({parts[i], bodies[i]});
  ASSERT_TRUE(store.write_batch(writes).has_value());

  std::uint64_t part_count = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    EXPECT_EQ(store.read_body(parts[i][0].id).value_or(""), bodies[i]);
    for (const Envelope& part : parts[i]) {
      EXPECT_EQ(store.read_envelope(PartKey{part.id, part.part}).value_or(Envelope{}), part);
      ++part_count;
    }
  }
  EXPECT_EQ(store.count().value_or(0), part_count);
  std::sort(want_schedule.begin(), want_schedule.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.due_ms, a.key) < std::tie(b.due_ms, b.key);
  });
  EXPECT_EQ(scheduled(store), want_schedule);
  // An empty batch is a no-op.
  EXPECT_TRUE(store.write_batch({}).has_value());
  EXPECT_EQ(store.count().value_or(0), part_count);
}

TYPED_TEST(StoreTest, WriteBatchWithOneBadPartWritesNothing) {
  Store& store = *this->store_;
  const std::vector<Envelope> good_a = make_parts(1, 2);
  std::vector<Envelope> bad = make_parts(2, 2);
  bad[1].destination.assign(destination_bytes_max + 1, 'x');
  const std::vector<Envelope> good_b = make_parts(3, 1);
  const std::vector<MessageWrite> writes = {{good_a, "a"}, {bad, "bad"}, {good_b, "b"}};
  Result<void> wrote = store.write_batch(writes);
  ASSERT_FALSE(wrote.has_value());
  EXPECT_EQ(error_of(wrote), Errc::record_too_large);
  EXPECT_EQ(store.count().value_or(99), 0U);
  EXPECT_TRUE(scheduled(store).empty());
  for (const std::uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(error_of(store.read_body(MessageId(id))), Errc::not_found) << id;
  }
}

TYPED_TEST(StoreTest, FailedWriteBatchThroughDecoratorStoresNothing) {
  FailingStore_for_test failing(*this->store_);
  std::vector<std::vector<Envelope>> parts;
  std::vector<MessageWrite> writes;
  for (std::uint64_t id = 1; id <= 8; ++id) parts.push_back(make_parts(id, 2));
  for (const auto& p : parts) writes.push_back({p, "body"});
  failing.fail_writes(1, Errc::no_space);
  EXPECT_EQ(error_of(failing.write_batch(writes)), Errc::no_space);
  EXPECT_EQ(this->store_->count().value_or(99), 0U);
  EXPECT_TRUE(scheduled(*this->store_).empty());
  ASSERT_TRUE(failing.write_batch(writes).has_value());
  EXPECT_EQ(this->store_->count().value_or(0), 16U);
}

TYPED_TEST(StoreTest, ScheduleEntryMovesOnUpdateAndVanishesOnRemove) {
  Store& store = *this->store_;
  std::vector<Envelope> parts = make_parts(9, 2);
  const MessageWrite write{parts, "b"};
  ASSERT_TRUE(store.write_batch({&write, 1}).has_value());

  struct Step {
    std::string name;
    Clock::WallTime due;
  };
  const std::vector<Step> steps = {
      {"later", t0 + 1h},
      {"same_due_again", t0 + 1h},
      {"same_millisecond", t0 + 1h + 300us},  // one key per ms: rewritten in place
      {"earlier", t0 - 1h},
      {"before_1970_clamps_to_0", Clock::WallTime(-5s)},
  };
  for (const Step& step : steps) {
    SCOPED_TRACE(step.name);
    parts[0].next_attempt_at = step.due;
    parts[0].attempts += 1;
    ASSERT_TRUE(store.update_envelope(parts[0]).has_value());
    std::vector<Entry> want = {entry_of(parts[0]), entry_of(parts[1])};
    std::sort(want.begin(), want.end(), [](const Entry& a, const Entry& b) {
      return std::tie(a.due_ms, a.key) < std::tie(b.due_ms, b.key);
    });
    EXPECT_EQ(scheduled(store), want);
    EXPECT_EQ(store.read_envelope(key_of(9, 0)).value_or(Envelope{}), parts[0]);
  }
  ASSERT_TRUE(store.remove_part(key_of(9, 1)).has_value());
  EXPECT_EQ(scheduled(store), std::vector<Entry>{entry_of(parts[0])});
  ASSERT_TRUE(store.remove_part(key_of(9, 0)).has_value());
  EXPECT_TRUE(scheduled(store).empty());
}

// Tenant, class and pool reach start-up through the schedule index, without the envelope, and
// follow an update; an untagged part reads as untagged transactional mail.
TYPED_TEST(StoreTest, ScheduleEntriesCarryTheTags) {
  Store& store = *this->store_;
  std::vector<Envelope> parts = make_parts(11, 2);
  parts[0].tenant = "acme";
  parts[0].campaign = "spring";  // not needed for scheduling, so not in the index
  parts[0].traffic_class = TrafficClass::bulk;
  parts[0].pool = "shared";
  const MessageWrite write{parts, "b"};
  ASSERT_TRUE(store.write_batch({&write, 1}).has_value());
  const auto items = [&store] {
    std::vector<ScheduledItem> got;
    EXPECT_TRUE(store
                    .for_each_scheduled([&](ScheduledItem&& item) {
                      got.push_back(std::move(item));
                      return true;
                    })
                    .has_value());
    return got;
  };
  std::vector<ScheduledItem> got = items();
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0].destination, parts[0].destination);
  EXPECT_EQ(got[0].tenant, "acme");
  EXPECT_EQ(got[0].traffic_class, TrafficClass::bulk);
  EXPECT_EQ(got[0].pool, "shared");
  EXPECT_EQ(got[1].destination, parts[1].destination);
  EXPECT_EQ(got[1].tenant, "");
  EXPECT_EQ(got[1].traffic_class, TrafficClass::transactional);
  EXPECT_EQ(got[1].pool, "");
  parts[0].attempts = 1;
  parts[0].next_attempt_at = parts[1].next_attempt_at + 1h;
  ASSERT_TRUE(store.update_envelope(parts[0]).has_value());
  got = items();
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[1].key, key_of(11, 0));
  EXPECT_EQ(got[1].tenant, "acme");
  EXPECT_EQ(got[1].traffic_class, TrafficClass::bulk);
  EXPECT_EQ(store.read_envelope(key_of(11, 0)).value_or(Envelope{}), parts[0]);
}

TYPED_TEST(StoreTest, ForEachScheduledIsInDueOrderAndStopsEarly) {
  Store& store = *this->store_;
  struct Case {
    std::uint64_t id;
    std::uint32_t part;
    Clock::Duration after_t0;
  };
  // Due times whose order differs from id order; ties broken by (id, part); sub-millisecond
  // parts round down, so 3/0 (t0 + 2.9 ms) sorts with the t0 + 2 ms entries.
  const std::vector<Case> cases = {
      {0xff00000000000000ULL, 0, 1ms},
      {1, 0, 3s},
      {2, 5, 2ms},
      {2, 1, 2ms},
      {3, 0, 2900us},
      {4, 0, 0s},
      {0x0100, 0, 2ms},
  };
  std::vector<Envelope> envelopes;
  for (const Case& c : cases) {
    envelopes.push_back(make_envelope(c.id, 1, c.part));
    envelopes.back().next_attempt_at = t0 + c.after_t0;
  }
  std::vector<MessageWrite> writes;
  for (const Envelope& e : envelopes) writes.push_back({{&e, 1}, "b"});
  ASSERT_TRUE(store.write_batch(writes).has_value());
  const std::vector<PartKey> want = {key_of(4),    key_of(0xff00000000000000ULL),
                                     key_of(2, 1), key_of(2, 5),
                                     key_of(3),    key_of(0x0100),
                                     key_of(1)};
  std::vector<PartKey> got;
  std::vector<Clock::WallTime> dues;
  ASSERT_TRUE(store
                  .for_each_scheduled([&](ScheduledItem&& item) {
                    got.push_back(item.key);
                    dues.push_back(item.due);
                    return true;
                  })
                  .has_value());
  EXPECT_EQ(got, want);
  ASSERT_EQ(dues.size(), want.size());
  EXPECT_EQ(dues[0], t0);
  EXPECT_EQ(dues[4], t0 + 2ms);  // 2.9 ms rounded down
  EXPECT_EQ(dues[6], t0 + 3s);

  std::size_t visited = 0;
  ASSERT_TRUE(store.for_each_scheduled([&](ScheduledItem&&) { return ++visited < 3; }).has_value());
  EXPECT_EQ(visited, 3U);
}

TYPED_TEST(StoreTest, BodyIsDeletedOnlyWithTheLastPart) {
  Store& store = *this->store_;
  // Neighbouring messages, so "another part of the same message" cannot be confused with a
  // part of the next or previous id.
  const std::vector<Envelope> before = make_parts(99, 2);
  const std::vector<Envelope> parts = make_parts(100, 3);
  const std::vector<Envelope> after = make_parts(101, 1);
  const std::vector<MessageWrite> writes = {{before, "99"}, {parts, "100"}, {after, "101"}};
  ASSERT_TRUE(store.write_batch(writes).has_value());

  for (const std::uint32_t part : {1U, 0U}) {
    ASSERT_TRUE(store.remove_part(key_of(100, part)).has_value());
    EXPECT_EQ(store.read_body(MessageId(100)).value_or(""), "100") << "after part " << part;
    EXPECT_EQ(error_of(store.remove_part(key_of(100, part))), Errc::not_found);
  }
  ASSERT_TRUE(store.remove_part(key_of(100, 2)).has_value());
  EXPECT_EQ(error_of(store.read_body(MessageId(100))), Errc::not_found);
  EXPECT_EQ(store.read_body(MessageId(99)).value_or(""), "99");
  EXPECT_EQ(store.read_body(MessageId(101)).value_or(""), "101");
  EXPECT_EQ(store.count().value_or(0), 3U);

  ASSERT_TRUE(store.remove_part(key_of(101)).has_value());
  EXPECT_EQ(error_of(store.read_body(MessageId(101))), Errc::not_found);
  EXPECT_EQ(store.read_body(MessageId(99)).value_or(""), "99");
}

// Sibling parts belong to different shards, so their removals can race. Two threads remove
// two parts at once, many times: with a third part left the body must stay; with none left it
// must go. std::async, not std::thread: threads outside engine/ are for tests only.
TYPED_TEST(StoreTest, ConcurrentSiblingRemovalsKeepBodyExactlyWhileNeeded) {
  Store& store = *this->store_;
  const int rounds = TestFixture::persistent ? 40 : 400;
  for (int round = 0; round < rounds; ++round) {
    const std::uint64_t id = 1000 + static_cast<std::uint64_t>(round);
    const bool keep_third = round % 2 == 0;
    const std::vector<Envelope> parts = make_parts(id, keep_third ? 3 : 2);
    const MessageWrite write{parts, "body"};
    ASSERT_TRUE(store.write_batch({&write, 1}).has_value());
    auto remove = [&store, id](std::uint32_t part) {
      return store.remove_part(PartKey{MessageId(id), part}).has_value();
    };
    std::future<bool> first = std::async(std::launch::async, remove, 0U);
    std::future<bool> second = std::async(std::launch::async, remove, 1U);
    ASSERT_TRUE(first.get());
    ASSERT_TRUE(second.get());
    if (keep_third) {
      ASSERT_EQ(store.read_body(MessageId(id)).value_or(""), "body") << "round " << round;
      ASSERT_TRUE(store.remove_part(PartKey{MessageId(id), 2}).has_value());
    }
    ASSERT_EQ(error_of(store.read_body(MessageId(id))), Errc::not_found) << "round " << round;
  }
  EXPECT_EQ(store.count().value_or(99), 0U);
  EXPECT_TRUE(scheduled(store).empty());
}

// History: each removal with a final state leaves that state readable, in part order, while
// read_message shows what is still queued; a removal without one (operator delete) leaves
// nothing. count(), the envelope scan and the schedule never see history.
TYPED_TEST(StoreTest, RemovalWithFinalStateRecordsHistory) {
  Store& store = *this->store_;
  const std::vector<Envelope> before = make_parts(99, 1);
  const std::vector<Envelope> parts = make_parts(100, 3);
  const std::vector<Envelope> after = make_parts(101, 2);
  const std::vector<MessageWrite> writes = {{before, "99"}, {parts, "100"}, {after, "101"}};
  ASSERT_TRUE(store.write_batch(writes).has_value());
  const std::vector<Envelope> final_states = {
      finished(parts[0], RecipientState::delivered, "250 2.0.0 ok"),
      finished(parts[1], RecipientState::bounced, "550 5.1.1 no such user"),
      finished(parts[2], RecipientState::delivered, "250 2.0.0 queued as X"),
  };

  struct Step {
    std::string name;
    PartKey remove;
    bool with_final_state;
    std::vector<PartKey> want_queued_100;
    std::vector<PartKey> want_history_100;
    std::vector<PartKey> want_history_101;
    std::uint64_t want_count;
  };
  const std::vector<Step> steps = {
      {"last_part_first",
       key_of(100, 2),
       true,
       {key_of(100, 0), key_of(100, 1)},
       {key_of(100, 2)},
       {},
       5},
      {"first_part",
       key_of(100, 0),
       true,
       {key_of(100, 1)},
       {key_of(100, 0), key_of(100, 2)},
       {},
       4},
      {"operator_delete_of_neighbour",
       key_of(101, 1),
       false,
       {key_of(100, 1)},
       {key_of(100, 0), key_of(100, 2)},
       {},
       3},
      {"last_remaining_part",
       key_of(100, 1),
       true,
       {},
       {key_of(100, 0), key_of(100, 1), key_of(100, 2)},
       {},
       2},
  };
  for (const Step& step : steps) {
    SCOPED_TRACE(step.name);
    const Envelope* final_state = nullptr;
    if (step.with_final_state) final_state = &final_states[step.remove.part];
    ASSERT_TRUE(store.remove_part(step.remove, final_state).has_value());
    EXPECT_EQ(keys_in(store.read_message(MessageId(100))), step.want_queued_100);
    EXPECT_EQ(keys_in(store.read_history(MessageId(100))), step.want_history_100);
    EXPECT_EQ(keys_in(store.read_history(MessageId(101))), step.want_history_101);
    EXPECT_EQ(store.count().value_or(99), step.want_count);
    EXPECT_EQ(visited_parts(store).size(), step.want_count);
    EXPECT_EQ(scheduled(store).size(), step.want_count);
  }
  EXPECT_EQ(error_of(store.read_body(MessageId(100))), Errc::not_found);
  EXPECT_TRUE(keys_in(store.read_history(MessageId(99))).empty());
  EXPECT_EQ(keys_in(store.read_message(MessageId(99))), std::vector<PartKey>{key_of(99)});
  EXPECT_EQ(store.read_message(MessageId(101)).value_or(std::vector<Envelope>{}),
            std::vector<Envelope>{after[0]});

  if constexpr (TestFixture::persistent) this->reopen();
  Result<std::vector<Envelope>> history = this->store_->read_history(MessageId(100));
  ASSERT_TRUE(history.has_value()) << history.error().message();
  EXPECT_EQ(*history, final_states);  // the states given, in part order, not removal order
}

TYPED_TEST(StoreTest, FailedRemovalRecordsNoHistory) {
  Store& store = *this->store_;
  const std::vector<Envelope> parts = make_parts(7, 2);
  const MessageWrite write{parts, "body"};
  ASSERT_TRUE(store.write_batch({&write, 1}).has_value());

  // A final state the codec refuses: the part stays queued and scheduled, no history.
  Envelope oversized = finished(parts[0], RecipientState::bounced, "550 no");
  oversized.recipients[0].last_reply.assign(reply_bytes_max + 1, 'x');
  EXPECT_EQ(error_of(store.remove_part(key_of(7, 0), &oversized)), Errc::record_too_large);
  // Absent parts: not_found, and no history appears for them either.
  const Envelope absent = finished(make_envelope(7, 1, 5), RecipientState::delivered, "250");
  EXPECT_EQ(error_of(store.remove_part(key_of(7, 5), &absent)), Errc::not_found);
  const Envelope other = finished(make_envelope(8), RecipientState::delivered, "250");
  EXPECT_EQ(error_of(store.remove_part(key_of(8), &other)), Errc::not_found);
  // A write the disk refuses (the decorator stands in for it here; RocksDbStore's own test
  // below makes the WAL append fail for real).
  FailingStore_for_test failing(store);
  failing.fail_writes(1, Errc::no_space);
  const Envelope delivered = finished(parts[1], RecipientState::delivered, "250 ok");
  EXPECT_EQ(error_of(failing.remove_part(key_of(7, 1), &delivered)), Errc::no_space);

  EXPECT_TRUE(keys_in(store.read_history(MessageId(7))).empty());
  EXPECT_TRUE(keys_in(store.read_history(MessageId(8))).empty());
  EXPECT_EQ(store.read_message(MessageId(7)).value_or(std::vector<Envelope>{}), parts);
  EXPECT_EQ(scheduled(store).size(), 2U);
  EXPECT_EQ(store.read_body(MessageId(7)).value_or(""), "body");
  // The same removal, once it goes through, records the state.
  ASSERT_TRUE(failing.remove_part(key_of(7, 1), &delivered).has_value());
  EXPECT_EQ(store.read_history(MessageId(7)).value_or(std::vector<Envelope>{}),
            std::vector<Envelope>{delivered});
}

TYPED_TEST(StoreTest, HistoryOffRecordsNothing) {
  this->reopen(StoreOptions{.history = false});
  Store& store = *this->store_;
  const std::vector<Envelope> parts = make_parts(3, 2);
  const MessageWrite write{parts, "body"};
  ASSERT_TRUE(store.write_batch({&write, 1}).has_value());
  const Envelope delivered = finished(parts[0], RecipientState::delivered, "250 ok");
  ASSERT_TRUE(store.remove_part(key_of(3, 0), &delivered).has_value());
  EXPECT_TRUE(keys_in(store.read_history(MessageId(3))).empty());
  EXPECT_EQ(keys_in(store.read_message(MessageId(3))), std::vector<PartKey>{key_of(3, 1)});
  EXPECT_EQ(store.expire_history(MessageId(100)).value_or(99), 0U);
}

// expire_history(before) deletes exactly the history of ids below `before`, compared as
// numbers (ids whose little-endian bytes sort differently are among them), and never
// touches queued parts, whatever their id.
TYPED_TEST(StoreTest, ExpireHistoryDeletesIdsBelowTheBound) {
  Store& store = *this->store_;
  const std::vector<std::uint64_t> ids = {10, 20, 21, 0x0100, 0xff00000000000000ULL};
  for (const std::uint64_t id : ids) {
    const std::vector<Envelope> parts = make_parts(id, id == 20 ? 2 : 1);
    const MessageWrite write{parts, "b"};
    ASSERT_TRUE(store.write_batch({&write, 1}).has_value());
    for (const Envelope& part : parts) {
      const Envelope done = finished(part, RecipientState::delivered, "250 ok");
      ASSERT_TRUE(store.remove_part(PartKey{part.id, part.part}, &done).has_value());
    }
  }
  // Still queued, with ids on both sides of every bound below.
  ASSERT_TRUE(store.put(make_envelope(5), "queued").has_value());
  ASSERT_TRUE(store.put(make_envelope(0x0200), "queued").has_value());

  struct Step {
    std::uint64_t before;
    std::uint64_t want_expired;
    std::vector<std::uint64_t> want_with_history;
  };
  const std::vector<Step> steps = {
      {0, 0, {10, 20, 21, 0x0100, 0xff00000000000000ULL}},
      {10, 0, {10, 20, 21, 0x0100, 0xff00000000000000ULL}},  // the bound itself stays
      {11, 1, {20, 21, 0x0100, 0xff00000000000000ULL}},
      {11, 0, {20, 21, 0x0100, 0xff00000000000000ULL}},  // again: nothing left to expire
      {21, 2, {21, 0x0100, 0xff00000000000000ULL}},      // both parts of 20
      {0x0101, 2, {0xff00000000000000ULL}},
      {0xff00000000000000ULL, 0, {0xff00000000000000ULL}},
      {0xffffffffffffffffULL, 1, {}},
  };
  for (const Step& step : steps) {
    SCOPED_TRACE("before " + std::to_string(step.before));
    Result<std::uint64_t> expired = store.expire_history(MessageId(step.before));
    ASSERT_TRUE(expired.has_value()) << expired.error().message();
    EXPECT_EQ(*expired, step.want_expired);
    std::vector<std::uint64_t> with_history;
    for (const std::uint64_t id : ids) {
      if (!keys_in(store.read_history(MessageId(id))).empty()) with_history.push_back(id);
    }
    EXPECT_EQ(with_history, step.want_with_history);
    EXPECT_EQ(store.count().value_or(99), 2U);
  }
  EXPECT_EQ(keys_in(store.read_message(MessageId(5))), std::vector<PartKey>{key_of(5)});
  EXPECT_EQ(keys_in(store.read_message(MessageId(0x0200))), std::vector<PartKey>{key_of(0x0200)});
  EXPECT_EQ(store.read_body(MessageId(5)).value_or(""), "queued");
}

TYPED_TEST(StoreTest, DamagedRecordFailsReadMessageAndReadHistory) {
  ASSERT_TRUE(this->store_->put(make_envelope(1), "a").has_value());
  ASSERT_TRUE(this->store_->put(make_envelope(3), "c").has_value());
  std::string damaged = encode_envelope(make_envelope(2));
  damaged.pop_back();
  static_cast<void>(this->store_->put_raw_envelope_for_test(key_of(2), damaged));
  static_cast<void>(this->store_->put_raw_history_for_test(key_of(4), damaged));
  // A valid record under another part's key is damage too.
  static_cast<void>(
      this->store_->put_raw_history_for_test(key_of(5, 1), encode_envelope(make_envelope(5))));
  Store& store = *this->store_;

  struct Case {
    std::string name;
    bool history;
    std::uint64_t id;
    std::error_code want;
  };
  const std::vector<Case> cases = {
      {"queued_damaged", false, 2, Errc::corrupt_record},
      {"queued_neighbour_before", false, 1, std::error_code()},
      {"queued_neighbour_after", false, 3, std::error_code()},
      {"history_truncated", true, 4, Errc::corrupt_record},
      {"history_wrong_part", true, 5, Errc::corrupt_record},
      {"history_neighbour", true, 3, std::error_code()},
  };
  for (const Case& c : cases) {
    const Result<std::vector<Envelope>> got =
        c.history ? store.read_history(MessageId(c.id)) : store.read_message(MessageId(c.id));
    EXPECT_EQ(error_of(got), c.want) << c.name;
    if (!got) {  // the detail names the damaged record
      EXPECT_NE(got.error().detail.find(to_hex(MessageId(c.id))), std::string::npos)
          << c.name << ": " << got.error().detail;
    }
  }
  EXPECT_EQ(store.read_message(MessageId(1)).value_or(std::vector<Envelope>{}),
            std::vector<Envelope>{make_envelope(1)});
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

template <std::size_t N>
rocksdb::Slice as_slice(const std::array<char, N>& key) {
  return {key.data(), key.size()};
}

// A spool as a build before the history family wrote it: the format marker and the
// envelopes, bodies and schedule families only, filled through RocksDB directly with the key
// and record encodings of keys.h and envelope.h. It opens, gains the family, and keeps
// history across a reopen.
TEST(RocksDbStore, OpensSpoolWrittenWithoutHistoryFamily) {
  TempDir dir;
  const std::string path = (dir.path() / "spool").string();
  const std::vector<Envelope> parts = make_parts(77, 2);
  {
    rocksdb::DBOptions options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    const std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
        {"envelopes", rocksdb::ColumnFamilyOptions()},
        {"bodies", rocksdb::ColumnFamilyOptions()},
        {"schedule", rocksdb::ColumnFamilyOptions()},
    };
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    const rocksdb::Status opened = rocksdb::DB::Open(options, path, families, &handles, &raw);
    ASSERT_TRUE(opened.ok()) << opened.ToString();
    const std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch.Put(handles[0], "outpost.queue.format", "2").ok());
    for (const Envelope& part : parts) {
      const PartKey key{part.id, part.part};
      ASSERT_TRUE(batch.Put(handles[1], as_slice(envelope_key(key)), encode_envelope(part)).ok());
      // The second one's value damaged after its destination: still scheduled, untagged.
      const std::string value =
          part.part == 0 ? part.destination : part.destination + std::string("\0damaged", 8);
      ASSERT_TRUE(
          batch.Put(handles[3], as_slice(schedule_key(part.next_attempt_at, key)), value).ok());
    }
    ASSERT_TRUE(batch.Put(handles[2], as_slice(body_key(MessageId(77))), "old body").ok());
    ASSERT_TRUE(db->Write(rocksdb::WriteOptions(), &batch).ok());
    for (rocksdb::ColumnFamilyHandle* handle : handles) {
      ASSERT_TRUE(db->DestroyColumnFamilyHandle(handle).ok());
    }
    ASSERT_TRUE(db->Close().ok());
  }
  const Envelope delivered = finished(parts[0], RecipientState::delivered, "250 2.0.0 ok");
  {
    auto store = RocksDbStore::open(path);
    ASSERT_TRUE(store.has_value()) << store.error().message();
    EXPECT_EQ((*store)->read_message(MessageId(77)).value_or(std::vector<Envelope>{}), parts);
    EXPECT_EQ(scheduled(**store), (std::vector<Entry>{entry_of(parts[0]), entry_of(parts[1])}));
    EXPECT_TRUE(keys_in((*store)->read_history(MessageId(77))).empty());
    ASSERT_TRUE((*store)->remove_part(key_of(77, 0), &delivered).has_value());
  }
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  std::sort(names.begin(), names.end());
  {
    // Marked format 4 now, so a format-2 build refuses it rather than misread it; a marker
    // this build does not know is refused the same way.
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const auto& name : names) families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path, families, &handles, &raw).ok());
    const std::unique_ptr<rocksdb::DB> db(raw);
    const auto at = std::find(names.begin(), names.end(), rocksdb::kDefaultColumnFamilyName);
    rocksdb::ColumnFamilyHandle* defaults = handles[static_cast<std::size_t>(at - names.begin())];
    std::string format;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), defaults, "outpost.queue.format", &format).ok());
    EXPECT_EQ(format, "4");
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), defaults, "outpost.queue.format", "9").ok());
    for (rocksdb::ColumnFamilyHandle* handle : handles) {
      ASSERT_TRUE(db->DestroyColumnFamilyHandle(handle).ok());
    }
    ASSERT_TRUE(db->Close().ok());
    auto newer = RocksDbStore::open(path);
    ASSERT_FALSE(newer.has_value());
    EXPECT_NE(newer.error().message().find("has format 9"), std::string::npos);
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path, families, &handles, &raw).ok());
    const std::unique_ptr<rocksdb::DB> again(raw);
    ASSERT_TRUE(again
                    ->Put(rocksdb::WriteOptions(),
                          handles[static_cast<std::size_t>(at - names.begin())],
                          "outpost.queue.format", "4")
                    .ok());
    for (rocksdb::ColumnFamilyHandle* handle : handles) {
      ASSERT_TRUE(again->DestroyColumnFamilyHandle(handle).ok());
    }
    ASSERT_TRUE(again->Close().ok());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"bodies", "crashes", "default", "envelopes", "history",
                                             "schedule"}));
  auto store = RocksDbStore::open(path);
  ASSERT_TRUE(store.has_value()) << store.error().message();
  EXPECT_EQ((*store)->read_history(MessageId(77)).value_or(std::vector<Envelope>{}),
            std::vector<Envelope>{delivered});
  EXPECT_EQ((*store)->read_message(MessageId(77)).value_or(std::vector<Envelope>{}),
            std::vector<Envelope>{parts[1]});
  EXPECT_EQ((*store)->count().value_or(99), 1U);
  EXPECT_EQ((*store)->read_body(MessageId(77)).value_or(""), "old body");
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

TEST(RocksDbStore, FailedWriteBatchWritesNothing) {
  TempDir dir;
  const std::string path = (dir.path() / "spool").string();
  const std::vector<Envelope> kept = make_parts(1, 2);
  std::vector<std::vector<Envelope>> lost;
  for (std::uint64_t id = 2; id <= 9; ++id) lost.push_back(make_parts(id, 2));
  const std::string big_body(512 << 10, 'b');  // 8 of them: far past the limit
  std::vector<MessageWrite> writes;
  for (const auto& parts : lost) writes.push_back({parts, big_body});
  {
    auto store = RocksDbStore::open(path);
    ASSERT_TRUE(store.has_value());
    const MessageWrite keep{kept, "kept"};
    ASSERT_TRUE((*store)->write_batch({&keep, 1}).has_value());
    Result<void> wrote;
    {
      const FileSizeLimit limit(1 << 20);
      wrote = (*store)->write_batch(writes);
    }
    ASSERT_FALSE(wrote.has_value());
    EXPECT_EQ(error_of(wrote), Errc::io_error) << wrote.error().message();
    EXPECT_FALSE(wrote.error().detail.empty());
    for (const auto& parts : lost) {
      EXPECT_EQ(error_of((*store)->read_envelope(PartKey{parts[0].id, 0})), Errc::not_found);
      EXPECT_EQ(error_of((*store)->read_body(parts[0].id)), Errc::not_found);
    }
    EXPECT_EQ(scheduled(**store), (std::vector<Entry>{entry_of(kept[0]), entry_of(kept[1])}));
    // A failed WAL append other than ENOSPC is fatal to RocksDB (the log may be torn):
    // DB::Resume() refuses, so writes keep failing until the store is reopened.
    const std::vector<Envelope> refused = make_parts(10, 1);
    const MessageWrite write{refused, "refused"};
    EXPECT_EQ(error_of((*store)->write_batch({&write, 1})), Errc::io_error);
  }
  // After a restart the torn WAL tail is dropped: the failed messages are absent, the one
  // before is intact, and writes work again.
  auto store = RocksDbStore::open(path);
  ASSERT_TRUE(store.has_value()) << store.error().message();
  const std::vector<Envelope> later = make_parts(20, 1);
  const MessageWrite next{later, "later"};
  Result<void> wrote = (*store)->write_batch({&next, 1});
  ASSERT_TRUE(wrote.has_value()) << wrote.error().message();
  for (const auto& parts : lost) {
    EXPECT_EQ(error_of((*store)->read_envelope(PartKey{parts[0].id, 0})), Errc::not_found);
    EXPECT_EQ(error_of((*store)->read_body(parts[0].id)), Errc::not_found);
  }
  EXPECT_EQ((*store)->read_body(MessageId(1)).value_or(""), "kept");
  EXPECT_EQ(error_of((*store)->read_body(MessageId(10))), Errc::not_found);
  EXPECT_EQ((*store)->read_body(MessageId(20)).value_or(""), "later");
  EXPECT_EQ(visited_parts(**store), (std::vector<PartKey>{key_of(1, 0), key_of(1, 1), key_of(20)}));
  EXPECT_EQ(scheduled(**store).size(), 3U);
}

// The size of the newest write-ahead log of a spool (RocksDB names them <number>.log).
std::uintmax_t live_wal_bytes(const std::string& path) {
  std::filesystem::path newest;
  for (const auto& entry : std::filesystem::directory_iterator(path)) {
    if (entry.path().extension() != ".log") continue;
    if (newest.empty() || entry.path().stem().string().size() > newest.stem().string().size() ||
        (entry.path().stem().string().size() == newest.stem().string().size() &&
         entry.path().stem() > newest.stem())) {
      newest = entry.path();
    }
  }
  MTA_ASSERT(!newest.empty());
  return std::filesystem::file_size(newest);
}

// A removal whose WAL append fails for real (EFBIG: every byte past the live log's current
// size is refused) writes neither the removal nor the history record: the part is still
// queued, with no history, in this process and after a restart.
TEST(RocksDbStore, FailedRemovalWritesNeitherRemovalNorHistory) {
  TempDir dir;
  const std::string path = (dir.path() / "spool").string();
  const std::vector<Envelope> parts = make_parts(7, 1);
  const Envelope delivered = finished(parts[0], RecipientState::delivered, "250 2.0.0 ok");
  {
    auto store = RocksDbStore::open(path);
    ASSERT_TRUE(store.has_value());
    const MessageWrite write{parts, "body"};
    ASSERT_TRUE((*store)->write_batch({&write, 1}).has_value());
    Result<void> removed;
    {
      const FileSizeLimit limit(live_wal_bytes(path));
      removed = (*store)->remove_part(key_of(7), &delivered);
    }
    ASSERT_FALSE(removed.has_value());
    EXPECT_EQ(error_of(removed), Errc::io_error) << removed.error().message();
    EXPECT_TRUE(keys_in((*store)->read_history(MessageId(7))).empty());
    EXPECT_EQ(keys_in((*store)->read_message(MessageId(7))), std::vector<PartKey>{key_of(7)});
  }
  auto store = RocksDbStore::open(path);
  ASSERT_TRUE(store.has_value()) << store.error().message();
  EXPECT_TRUE(keys_in((*store)->read_history(MessageId(7))).empty());
  EXPECT_EQ((*store)->read_message(MessageId(7)).value_or(std::vector<Envelope>{}), parts);
  EXPECT_EQ(scheduled(**store), std::vector<Entry>{entry_of(parts[0])});
  EXPECT_EQ((*store)->read_body(MessageId(7)).value_or(""), "body");
  ASSERT_TRUE((*store)->remove_part(key_of(7), &delivered).has_value());
  EXPECT_EQ((*store)->read_history(MessageId(7)).value_or(std::vector<Envelope>{}),
            std::vector<Envelope>{delivered});
  EXPECT_EQ((*store)->count().value_or(99), 0U);
}

TEST(RocksDbStore, DamagedScheduleKeyIsSkippedAndReported) {
  TempDir dir;
  auto store = RocksDbStore::open((dir.path() / "spool").string());
  ASSERT_TRUE(store.has_value());
  ASSERT_TRUE((*store)->put(make_envelope(1), "b").has_value());
  ASSERT_TRUE((*store)->put_raw_schedule_key_for_test("short").has_value());
  std::vector<PartKey> keys;
  Result<void> scanned = (*store)->for_each_scheduled([&](ScheduledItem&& item) {
    keys.push_back(item.key);
    return true;
  });
  EXPECT_EQ(error_of(scanned), Errc::corrupt_record);
  EXPECT_EQ(keys, std::vector<PartKey>{key_of(1)});
}

// A small tmpfs mounted for the test's lifetime (needs root or CAP_SYS_ADMIN).
class TmpfsMount {
 public:
  TmpfsMount(const std::filesystem::path& at, const char* options) : path_(at) {
    std::filesystem::create_directories(at);
    mounted_ = ::mount("tmpfs", at.c_str(), "tmpfs", 0, options) == 0;
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  bool mounted() const { return mounted_; }

 private:
  std::filesystem::path path_;
  bool mounted_ = false;
};

// A real full disk: the spool on an 8 MiB tmpfs. Batches fail once it is full, with nothing
// of the failed batch readable; after space is freed the same store takes writes again
// (DB::Resume), and everything acknowledged survives a reopen.
TEST(RocksDbStore, DiskFullFailsBatchesCleanlyAndRecoversWhenSpaceIsFreed) {
  TempDir dir;
  const TmpfsMount tmpfs(dir.path() / "small", "size=8m");
  if (!tmpfs.mounted()) GTEST_SKIP() << "cannot mount tmpfs here (not root?)";
  const std::filesystem::path ballast = dir.path() / "small" / "ballast";
  {
    std::ofstream out(ballast, std::ios::binary);
    const std::string mib(1 << 20, 'z');
    for (int i = 0; i < 2; ++i) out << mib;
  }
  const std::string path = (dir.path() / "small" / "spool").string();
  auto store = RocksDbStore::open(path);
  ASSERT_TRUE(store.has_value()) << store.error().message();

  const std::string body(64 << 10, 'm');
  std::vector<std::vector<Envelope>> acknowledged;
  Result<void> failed;
  std::vector<Envelope> failed_parts;
  for (std::uint64_t id = 1; id < 400; ++id) {
    std::vector<Envelope> parts = make_parts(id, 2);
    const MessageWrite write{parts, body};
    Result<void> wrote = (*store)->write_batch({&write, 1});
    if (!wrote) {
      failed = wrote;
      failed_parts = std::move(parts);
      break;
    }
    acknowledged.push_back(std::move(parts));
  }
  ASSERT_FALSE(failed.has_value()) << "8 MiB never filled up";
  ASSERT_FALSE(acknowledged.empty());
  EXPECT_EQ(error_of(failed), Errc::no_space) << failed.error().message();
  const MessageId failed_id = failed_parts[0].id;
  EXPECT_EQ(error_of((*store)->read_envelope(PartKey{failed_id, 0})), Errc::not_found);
  EXPECT_EQ(error_of((*store)->read_body(failed_id)), Errc::not_found);
  // Still full: the next batch fails too, and writes nothing.
  const std::vector<Envelope> still_full = make_parts(1000, 1);
  const MessageWrite refused{still_full, body};
  EXPECT_FALSE((*store)->write_batch({&refused, 1}).has_value());
  EXPECT_EQ(error_of((*store)->read_body(MessageId(1000))), Errc::not_found);

  std::filesystem::remove(ballast);
  const std::vector<Envelope> after = make_parts(2000, 2);
  const MessageWrite write{after, "after"};
  Result<void> resumed = (*store)->write_batch({&write, 1});
  EXPECT_TRUE(resumed.has_value()) << resumed.error().message();

  store.value().reset();
  auto reopened = RocksDbStore::open(path);
  ASSERT_TRUE(reopened.has_value()) << reopened.error().message();
  for (const auto& parts : acknowledged) {
    EXPECT_EQ((*reopened)->read_body(parts[0].id).value_or(""), body) << to_hex(parts[0].id);
  }
  EXPECT_EQ(error_of((*reopened)->read_body(failed_id)), Errc::not_found);
  EXPECT_EQ(error_of((*reopened)->read_body(MessageId(1000))), Errc::not_found);
  if (resumed) {
    EXPECT_EQ((*reopened)->read_body(MessageId(2000)).value_or(""), "after");
  }
  const std::size_t want_parts = 2 * acknowledged.size() + (resumed ? 2 : 0);
  EXPECT_EQ((*reopened)->count().value_or(0), want_parts);
  EXPECT_EQ(scheduled(**reopened).size(), want_parts);
}

}  // namespace
}  // namespace mta::queue
