// Operator filters and the queue summary.
#include "queue/query.h"

#include <gtest/gtest.h>

#include <chrono>

namespace mta::queue {
namespace {

Envelope envelope(std::uint64_t id, std::string destination, std::string sender,
                  std::vector<std::string> recipients) {
  Envelope e;
  e.id = MessageId(id);
  e.destination = std::move(destination);
  e.mail_from = std::move(sender);
  for (auto& address : recipients) e.recipients.push_back(Recipient{.address = std::move(address)});
  return e;
}

TEST(QueueFilter, EachFieldNarrowsTheSelection) {
  const Envelope e = envelope(0x2a, "example.com", "News@Sender.example", {"a@example.com"});
  const Envelope bounce = envelope(0x2b, "sender.example", "", {"news@sender.example"});
  struct Case {
    QueueFilter filter;
    bool want_e;
    bool want_bounce;
  };
  const Case cases[] = {
      {{}, true, true},
      {{.id = MessageId(0x2a)}, true, false},
      {{.destination = "EXAMPLE.com"}, true, false},
      {{.destination = "example.org"}, false, false},
      {{.sender = "news@sender.example"}, true, false},
      {{.sender = "@SENDER.example"}, true, false},
      {{.sender = "@example"}, false, false},
      {{.sender = "<>"}, false, true},
      {{.recipient = "A@example.com"}, true, false},
      {{.destination = "example.com", .sender = "<>"}, false, false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(matches(c.filter, e), c.want_e) << c.filter.destination << c.filter.sender;
    EXPECT_EQ(matches(c.filter, bounce), c.want_bounce) << c.filter.destination << c.filter.sender;
  }
}

TEST(QueueFilter, ParsesMessageIdsAsListed) {
  EXPECT_EQ(parse_message_id("0000019a2b3c4d5e").value_or(MessageId(0)), MessageId(0x19a2b3c4d5e));
  EXPECT_EQ(parse_message_id("0000019A2B3C4D5E.3").value_or(MessageId(0)),
            MessageId(0x19a2b3c4d5e));
  for (const char* bad : {"", ".1", "xyz", "00000000000000001", "12-4"}) {
    EXPECT_FALSE(parse_message_id(bad).has_value()) << bad;
  }
}

TEST(QueueSummary, CountsPartsAndRecipientsPerDestination) {
  QueueSummary summary;
  Envelope a = envelope(1, "a.example", "s@x", {"1@a.example", "2@a.example"});
  a.recipients[1].state = RecipientState::deferred;
  a.received_at = Clock::WallTime(std::chrono::seconds(200));
  Envelope b = envelope(2, "b.example", "s@x", {"3@b.example"});
  b.received_at = Clock::WallTime(std::chrono::seconds(100));
  Envelope c = envelope(3, "a.example", "s@x", {"4@a.example"});
  c.received_at = Clock::WallTime(std::chrono::seconds(300));
  for (const auto* e : {&a, &b, &c}) summary.add(*e);

  EXPECT_EQ(summary.total.parts, 3U);
  EXPECT_EQ(summary.total.recipients[static_cast<int>(RecipientState::pending)], 3U);
  EXPECT_EQ(summary.total.recipients[static_cast<int>(RecipientState::deferred)], 1U);
  EXPECT_EQ(summary.total.oldest, Clock::WallTime(std::chrono::seconds(100)));
  ASSERT_EQ(summary.by_destination.size(), 2U);
  EXPECT_EQ(summary.by_destination["a.example"].parts, 2U);
  EXPECT_EQ(summary.by_destination["a.example"].oldest, Clock::WallTime(std::chrono::seconds(200)));
  EXPECT_EQ(summary.by_destination["b.example"].recipients[0], 1U);
}

}  // namespace
}  // namespace mta::queue
