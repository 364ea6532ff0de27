#include "delivery/error_groups.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace mta::delivery {
namespace {

Clock::WallTime at(int seconds) {
  return Clock::WallTime(std::chrono::seconds(1'800'000'000 + seconds));
}

TEST(NormalizeReply, ReplacesWhatVariesPerRecipientOrMessage) {
  EXPECT_EQ(normalize_reply("<ann@example.com>: user unknown"), "<address>: user unknown");
  EXPECT_EQ(normalize_reply("ann@example.com unknown"), "<address> unknown");
  EXPECT_EQ(normalize_reply("<ann@example.com unknown"), "<<address> unknown");  // unclosed
  EXPECT_EQ(normalize_reply("try again in 300 seconds"), "try again in <n> seconds");
  EXPECT_EQ(normalize_reply("Ok: queued as 4F3A2B1C0D."), "Ok: queued as <id>.");
  EXPECT_EQ(normalize_reply("mx.example.net [192.0.2.17] refused"),
            "mx.example.net [<ip>] refused");
  EXPECT_EQ(normalize_reply("rate limited a640c23a62f3a-abc gsmtp"), "rate limited <id> gsmtp");
  EXPECT_EQ(normalize_reply("  too\r\n   many\tspaces "), "too many spaces");
  EXPECT_EQ(normalize_reply("see https://mail.example/?p=421"), "see https://mail.example/?p=<n>");
  // Words without digits, and short ones with a digit, stay.
  EXPECT_EQ(normalize_reply("IPv6 x509 mailbox full"), "IPv6 x509 mailbox full");
  EXPECT_EQ(normalize_reply(""), "");
}

TEST(NormalizeReply, TwoRecipientsOfOneFailureReadTheSame) {
  EXPECT_EQ(normalize_reply("<a1@x.test> quota exceeded (1234/1000 MB) id=AB12CD34EF"),
            normalize_reply("<bob@y.test> quota exceeded (99999/1000 MB) id=ZZ98YY76XX"));
}

TEST(NormalizeReply, IsBounded) {
  const std::string longer(5000, 'a');
  EXPECT_LE(normalize_reply(longer + " " + longer).size(), 300u);
  EXPECT_LE(normalize_reply(std::string(5000, '<')).size(), 300u);
}

TEST(ErrorGroups, IdenticalDeferralsOfADestinationAreOneGroupWithACount) {
  ErrorGroups groups;
  for (int i = 0; i < 20; ++i) {
    groups.add("picky.test", false,
               "451 4.3.2 <user" + std::to_string(i) + "@picky.test> try again later", at(i));
  }
  groups.add("other.test", true, "550 5.1.1 <x@other.test>: user unknown", at(5));
  const auto snapshot = groups.snapshot(10);
  ASSERT_EQ(snapshot.size(), 2u);
  EXPECT_EQ(snapshot[0].destination, "picky.test");
  EXPECT_EQ(snapshot[0].count, 20u);
  EXPECT_EQ(snapshot[0].code, 451);
  EXPECT_EQ(snapshot[0].enhanced, "4.3.2");
  EXPECT_EQ(snapshot[0].text, "<address> try again later");
  EXPECT_EQ(snapshot[0].first_seen, at(0));
  EXPECT_EQ(snapshot[0].last_seen, at(19));
  EXPECT_EQ(snapshot[0].example, "451 4.3.2 <user19@picky.test> try again later");
  EXPECT_FALSE(snapshot[0].bounced);
  EXPECT_EQ(snapshot[1].destination, "other.test");
  EXPECT_TRUE(snapshot[1].bounced);
  EXPECT_EQ(snapshot[1].count, 1u);
}

TEST(ErrorGroups, CodesAndOutcomesSeparateGroups) {
  ErrorGroups groups;
  groups.add("a.test", false, "451 4.3.2 busy", at(0));
  groups.add("a.test", false, "421 4.3.2 busy", at(1));
  groups.add("a.test", false, "451 4.7.1 busy", at(2));
  groups.add("a.test", true, "451 4.3.2 busy", at(3));
  groups.add("A.TEST", false, "451 4.3.2 busy", at(4));  // the same destination
  EXPECT_EQ(groups.size(), 4u);
}

TEST(ErrorGroups, OneDestinationWithEndlessDistinctRepliesDoesNotHideTheOthers) {
  ErrorGroups groups(/*groups_max=*/10, /*per_destination_max=*/4);
  groups.add("quiet.test", false, "451 4.4.1 connection refused", at(0));
  groups.add("other.test", true, "550 5.7.1 policy", at(1));
  for (int i = 0; i < 100; ++i) {
    // Words without digits differ: each reply a group of its own.
    std::string word;
    for (int n = i; n >= 0; n /= 26) {
      word += static_cast<char>('a' + n % 26);
      if (n < 26) break;
    }
    groups.add("noisy.test", false, "451 4.3.0 reason " + word, at(10 + i));
  }
  const auto snapshot = groups.snapshot(100);
  std::size_t noisy = 0;
  bool quiet = false;
  bool other = false;
  for (const auto& group : snapshot) {
    noisy += group.destination == "noisy.test" ? 1 : 0;
    quiet = quiet || group.destination == "quiet.test";
    other = other || group.destination == "other.test";
  }
  EXPECT_EQ(noisy, 4u);
  EXPECT_TRUE(quiet);
  EXPECT_TRUE(other);
  // The noisy destination kept its latest groups.
  EXPECT_EQ(snapshot[0].destination, "noisy.test");
  EXPECT_EQ(snapshot[0].last_seen, at(109));
}

TEST(ErrorGroups, TheTotalCapEvictsTheGroupSeenLeastRecently) {
  ErrorGroups groups(/*groups_max=*/3, /*per_destination_max=*/3);
  groups.add("a.test", false, "451 4.0.0 x", at(0));
  groups.add("b.test", false, "451 4.0.0 x", at(1));
  groups.add("c.test", false, "451 4.0.0 x", at(2));
  groups.add("a.test", false, "451 4.0.0 x", at(3));  // a is recent again
  groups.add("d.test", false, "451 4.0.0 x", at(4));  // evicts b
  const auto snapshot = groups.snapshot(10);
  ASSERT_EQ(snapshot.size(), 3u);
  EXPECT_EQ(snapshot[0].destination, "d.test");
  EXPECT_EQ(snapshot[1].destination, "a.test");
  EXPECT_EQ(snapshot[1].count, 2u);
  EXPECT_EQ(snapshot[2].destination, "c.test");
}

TEST(ErrorGroups, OnlyDeferralsAndBouncesAreGrouped) {
  ErrorGroups groups;
  queue::Envelope envelope;
  envelope.destination = "a.test";
  queue::Recipient recipient;
  recipient.last_reply = "250 2.0.0 Ok";
  recipient.state = queue::RecipientState::delivered;
  groups.on_outcome(0, RecipientOutcome{.envelope = envelope, .recipient = recipient});
  EXPECT_EQ(groups.size(), 0u);
  recipient.state = queue::RecipientState::deferred;
  recipient.last_reply = "451 4.3.2 later";
  groups.on_outcome(1, RecipientOutcome{.envelope = envelope, .recipient = recipient, .at = at(0)});
  EXPECT_EQ(groups.size(), 1u);
}

}  // namespace
}  // namespace mta::delivery
