// A message's status as operators read it: the pure merge of queued parts and history records
// (table), recipient status names, then the whole path on a real RocksDB spool in a temp dir:
// parts finished as delivered, bounced, suppressed and expired read back with their replies,
// across a reopen, until the history's retention expires them.
#include "queue/message_status.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "queue/message_id.h"
#include "queue/rocksdb_store.h"
#include "queue/temp_dir_for_test.h"

namespace mta::queue {
namespace {

using namespace std::chrono_literals;

const Clock::WallTime t0 = Clock::WallTime(1'700'000'000s);

Envelope part_of(MessageId id, std::uint32_t part, const std::vector<std::string>& recipients) {
  Envelope e;
  e.id = id;
  e.part = part;
  e.destination = "d" + std::to_string(part) + ".example";
  e.mail_from = "sender@outpost.example";
  e.received_at = t0;
  e.next_attempt_at = t0 + 1min;
  e.expires_at = t0 + 72h;
  e.body_bytes = 4;
  for (const auto& address : recipients) e.recipients.push_back(Recipient{.address = address});
  return e;
}

// What a MessagePart shows, flattened for EXPECT_EQ: part, finished, then per recipient
// "address status reply".
std::vector<std::string> shown(const std::vector<MessagePart>& parts) {
  std::vector<std::string> out;
  for (const auto& p : parts) {
    out.push_back(std::to_string(p.envelope.part) + (p.finished ? " finished" : " queued"));
    for (const auto& r : p.envelope.recipients) {
      out.push_back("  " + r.address + " " + std::string(recipient_status(r)) + " " + r.last_reply);
    }
  }
  return out;
}

TEST(MergeMessageParts, HistoryWinsAndPartsComeInOrder) {
  const MessageId id(42);
  struct Case {
    std::string name;
    std::vector<std::uint32_t> queued;
    std::vector<std::uint32_t> finished;
    std::vector<std::string> want;  // "part finished|queued"
  };
  const std::vector<Case> cases = {
      {"none", {}, {}, {}},
      {"queued_only", {0, 1}, {}, {"0 queued", "1 queued"}},
      {"finished_only", {}, {1, 0}, {"0 finished", "1 finished"}},
      {"mixed", {2, 0}, {1}, {"0 queued", "1 finished", "2 queued"}},
      // Removed between read_message and read_history: in both, the history is newer.
      {"in_both", {0, 1}, {1}, {"0 queued", "1 finished"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<Envelope> queued, finished;
    for (auto part : c.queued) queued.push_back(part_of(id, part, {}));
    for (auto part : c.finished) finished.push_back(part_of(id, part, {}));
    EXPECT_EQ(shown(merge_message_parts(queued, finished)), c.want);
  }
}

TEST(RecipientStatus, NamesEveryStateAndExpiry) {
  struct Case {
    RecipientState state;
    std::string reply;
    std::string want;
  };
  const std::vector<Case> cases = {
      {RecipientState::pending, "", "pending"},
      {RecipientState::deferred, "451 4.3.0 try later", "deferred"},
      {RecipientState::delivered, "250 2.0.0 Ok", "delivered"},
      {RecipientState::bounced, "550 5.1.1 no such user", "bounced"},
      {RecipientState::suppressed, "550 5.7.1 Not attempted: recipient suppressed (hard)",
       "suppressed"},
      {RecipientState::bounced, std::string(expired_reply), "expired"},
      {RecipientState::bounced, std::string(expired_reply) + "; last reply: 451 4.3.0 busy",
       "expired"},
      // Only a bounce reads as expired: a deferral quoting the text is still deferred.
      {RecipientState::deferred, std::string(expired_reply), "deferred"},
      {RecipientState::bounced, "550 " + std::string(expired_reply), "bounced"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.want + " " + c.reply);
    EXPECT_EQ(
        recipient_status(Recipient{.address = "a@b", .state = c.state, .last_reply = c.reply}),
        c.want);
  }
}

// The final state delivery leaves: every recipient set as given.
Envelope finished(Envelope e, std::vector<std::pair<RecipientState, std::string>> outcomes) {
  for (std::size_t i = 0; i < e.recipients.size(); ++i) {
    e.recipients[i].state = outcomes[i].first;
    e.recipients[i].last_reply = outcomes[i].second;
    e.recipients[i].attempts = 1;
  }
  e.attempts = 1;
  return e;
}

TEST(ReadMessageParts, FinishedPartsReadFromHistoryOnARealSpool) {
  TempDir_for_test dir;
  const std::string path = (dir.path() / "spool").string();
  // Ids as the daemon makes them, so expiry by age (first_message_id_at) applies.
  const MessageId id = MessageId(first_message_id_at(t0).value() + 7);
  const MessageId other = MessageId(first_message_id_at(t0 + 2h).value());
  const std::vector<Envelope> parts = {
      part_of(id, 0, {"ann@d0.example", "bob@d0.example"}),
      part_of(id, 1, {"cy@d1.example", "dee@d1.example"}),
      part_of(id, 2, {"eve@d2.example"}),
  };
  const std::vector<Envelope> later = {part_of(other, 0, {"fay@d0.example"})};
  {
    auto store = RocksDbStore::open(path, {.sync = false});
    ASSERT_TRUE(store.has_value()) << store.error().message();
    const std::vector<MessageWrite> writes = {{parts, "body"}, {later, "later"}};
    ASSERT_TRUE((*store)->write_batch(writes).has_value());
    const Envelope done0 = finished(parts[0], {{RecipientState::delivered, "250 2.0.0 Ok"},
                                               {RecipientState::bounced, "550 5.1.1 unknown"}});
    const Envelope done1 = finished(
        parts[1], {{RecipientState::suppressed, "550 5.7.1 Not attempted: recipient suppressed"},
                   {RecipientState::bounced, std::string(expired_reply)}});
    ASSERT_TRUE((*store)->remove_part(PartKey{id, 0}, &done0).has_value());
    ASSERT_TRUE((*store)->remove_part(PartKey{id, 1}, &done1).has_value());
    const Envelope done_later =
        finished(later[0], {{RecipientState::delivered, "250 2.0.0 Ok later"}});
    ASSERT_TRUE((*store)->remove_part(PartKey{other, 0}, &done_later).has_value());
  }
  const std::vector<std::string> want = {
      "0 finished",
      "  ann@d0.example delivered 250 2.0.0 Ok",
      "  bob@d0.example bounced 550 5.1.1 unknown",
      "1 finished",
      "  cy@d1.example suppressed 550 5.7.1 Not attempted: recipient suppressed",
      "  dee@d1.example expired " + std::string(expired_reply),
      "2 queued",
      "  eve@d2.example pending ",
  };
  // Reopened: the history is on disk, beside the part still queued.
  auto store = RocksDbStore::open(path, {.sync = false});
  ASSERT_TRUE(store.has_value()) << store.error().message();
  auto read = read_message_parts(**store, id);
  ASSERT_TRUE(read.has_value()) << read.error().message();
  EXPECT_EQ(shown(*read), want);

  // The last part finishes: every part reads from the history now, nothing is queued.
  const Envelope done2 = finished(parts[2], {{RecipientState::delivered, "250 2.0.0 Ok 2"}});
  ASSERT_TRUE((*store)->remove_part(PartKey{id, 2}, &done2).has_value());
  EXPECT_EQ((*store)->count().value_or(99), 0U);
  read = read_message_parts(**store, id);
  ASSERT_TRUE(read.has_value()) << read.error().message();
  ASSERT_EQ(read->size(), 3U);
  EXPECT_TRUE((*read)[2].finished);
  EXPECT_EQ((*read)[2].envelope.recipients[0].last_reply, "250 2.0.0 Ok 2");

  // Retention of one hour, two hours on: the older message's history goes, the later one's
  // stays.
  auto expired = (*store)->expire_history(first_message_id_at(t0 + 2h - 1h));
  ASSERT_TRUE(expired.has_value()) << expired.error().message();
  EXPECT_EQ(*expired, 3U);
  read = read_message_parts(**store, id);
  ASSERT_TRUE(read.has_value());
  EXPECT_TRUE(read->empty());
  read = read_message_parts(**store, other);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(shown(*read), (std::vector<std::string>{
                              "0 finished", "  fay@d0.example delivered 250 2.0.0 Ok later"}));
}

}  // namespace
}  // namespace mta::queue
