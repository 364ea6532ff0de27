// Recipient dispositions from transaction results: table of reply combinations, and the
// retry/remove decision.
#include "delivery/disposition.h"

#include <gtest/gtest.h>

namespace mta::delivery {
namespace {

using queue::RecipientState;

smtp::Reply reply(int code) {
  smtp::Reply r;
  r.code = code;
  r.lines = {"text " + std::to_string(code)};
  return r;
}

queue::Envelope envelope_with(std::size_t recipient_count) {
  queue::Envelope envelope;
  envelope.id = MessageId(7);
  for (std::size_t i = 0; i < recipient_count; ++i) {
    envelope.recipients.push_back({.address = "r" + std::to_string(i) + "@example.net"});
  }
  return envelope;
}

struct Case {
  const char* name;
  std::vector<int> rcpt_codes;
  int final_code;
  std::vector<RecipientState> want_states;
  NextStep want_step;
};

TEST(Disposition, UndeliveredTransactionNeverMarksARecipientDelivered) {
  const auto now = Clock::WallTime{} + std::chrono::hours(1000);
  auto envelope = envelope_with(2);
  envelope.expires_at = now + std::chrono::hours(24);
  smtp::TransactionResult result{
      .delivered = false, .reply = reply(250), .recipient_replies = {reply(250), reply(550)}};
  const Outcome outcome =
      apply_transaction(envelope, {0, 1}, result, now, queue::RetryPolicy{}, 0.5);
  EXPECT_EQ(envelope.recipients[0].state, RecipientState::deferred);
  EXPECT_EQ(envelope.recipients[0].last_reply, "451 4.5.0 delivery not confirmed: 250 text 250");
  EXPECT_EQ(envelope.recipients[1].state, RecipientState::bounced);
  EXPECT_EQ(outcome.step, NextStep::retry);
}

TEST(Disposition, TransactionTable) {
  const Case cases[] = {
      {"all delivered",
       {250, 250},
       250,
       {RecipientState::delivered, RecipientState::delivered},
       NextStep::remove},
      {"one rcpt rejected",
       {250, 550},
       250,
       {RecipientState::delivered, RecipientState::bounced},
       NextStep::remove},
      {"one rcpt deferred",
       {451, 250},
       250,
       {RecipientState::deferred, RecipientState::delivered},
       NextStep::retry},
      {"data deferred",
       {250, 250},
       451,
       {RecipientState::deferred, RecipientState::deferred},
       NextStep::retry},
      {"data rejected",
       {250, 250},
       554,
       {RecipientState::bounced, RecipientState::bounced},
       NextStep::remove},
      {"mixed with data 4xx",
       {550, 250},
       452,
       {RecipientState::bounced, RecipientState::deferred},
       NextStep::retry},
  };
  const auto now = Clock::WallTime{} + std::chrono::hours(1000);
  const queue::RetryPolicy policy{.initial = std::chrono::seconds(30),
                                  .multiplier = 2.0,
                                  .max_delay = std::chrono::hours(1),
                                  .jitter = 0.0,
                                  .max_age = std::chrono::hours(24)};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto envelope = envelope_with(c.rcpt_codes.size());
    envelope.expires_at = now + std::chrono::hours(24);
    smtp::TransactionResult result{.delivered = c.final_code / 100 == 2,
                                   .reply = reply(c.final_code),
                                   .recipient_replies = {}};
    for (int code : c.rcpt_codes) result.recipient_replies.push_back(reply(code));
    const auto tried = recipients_to_try(envelope);
    const Outcome outcome = apply_transaction(envelope, tried, result, now, policy, 0.5);
    const NextStep got = outcome.step;
    EXPECT_EQ(got, c.want_step);
    std::vector<std::size_t> want_bounced;
    for (std::size_t i = 0; i < c.want_states.size(); ++i) {
      if (c.want_states[i] == RecipientState::bounced) want_bounced.push_back(i);
    }
    EXPECT_EQ(outcome.newly_bounced, want_bounced);
    for (std::size_t i = 0; i < c.want_states.size(); ++i) {
      EXPECT_EQ(envelope.recipients[i].state, c.want_states[i]) << "recipient " << i;
      EXPECT_EQ(envelope.recipients[i].attempts, 1U);
      EXPECT_FALSE(envelope.recipients[i].last_reply.empty());
    }
    EXPECT_EQ(envelope.attempts, 1U);
    if (got == NextStep::retry) {
      EXPECT_EQ(envelope.next_attempt_at, now + std::chrono::seconds(30));
    }
  }
}

TEST(Disposition, RetryTriesOnlyUnfinishedRecipients) {
  auto envelope = envelope_with(3);
  envelope.recipients[0].state = RecipientState::delivered;
  envelope.recipients[1].state = RecipientState::deferred;
  envelope.recipients[2].state = RecipientState::bounced;
  const auto tried = recipients_to_try(envelope);
  ASSERT_EQ(tried, std::vector<std::size_t>{1});
  smtp::TransactionResult result{
      .delivered = true, .reply = reply(250), .recipient_replies = {reply(250)}};
  EXPECT_EQ(apply_transaction(envelope, tried, result, {}, {}, 0.5).step, NextStep::remove);
  EXPECT_EQ(envelope.recipients[1].state, RecipientState::delivered);
}

TEST(Disposition, MoreRecipientsThanATransactionTakesGoInSeveralOfOneAttempt) {
  auto envelope = envelope_with(7);
  envelope.expires_at = Clock::WallTime{} + std::chrono::hours(1);
  const Clock::WallTime now = Clock::WallTime{} + std::chrono::minutes(1);
  const queue::RetryPolicy policy{.initial = std::chrono::minutes(5)};
  auto first = recipients_to_try(envelope, 3);
  ASSERT_EQ(first, (std::vector<std::size_t>{0, 1, 2}));
  smtp::TransactionResult result{.delivered = true,
                                 .reply = reply(250),
                                 .recipient_replies = {reply(451), reply(250), reply(250)}};
  // Pending recipients are left: the attempt goes on now, and is not counted yet.
  EXPECT_EQ(apply_transaction(envelope, first, result, now, policy, 0.5).step, NextStep::retry);
  EXPECT_EQ(envelope.next_attempt_at, now);
  EXPECT_EQ(envelope.attempts, 0u);
  // The next batch is the never-tried ones only: the deferred one waits for the next attempt.
  const auto second = recipients_to_try(envelope, 3);
  ASSERT_EQ(second, (std::vector<std::size_t>{3, 4, 5}));
  result.recipient_replies = {reply(250), reply(250), reply(250)};
  (void)apply_transaction(envelope, second, result, now, policy, 0.5);
  const auto third = recipients_to_try(envelope, 3);
  ASSERT_EQ(third, (std::vector<std::size_t>{6}));
  result.recipient_replies = {reply(250)};
  EXPECT_EQ(apply_transaction(envelope, third, result, now, policy, 0.5).step, NextStep::retry);
  EXPECT_EQ(envelope.attempts, 1u);          // one attempt, in three transactions
  EXPECT_GT(envelope.next_attempt_at, now);  // the deferred one: backoff
  EXPECT_EQ(recipients_to_try(envelope, 3), (std::vector<std::size_t>{0}));
  // Never-tried recipients (a part cut off in the middle of its batches) go before deferred.
  envelope.recipients[5].state = RecipientState::pending;
  EXPECT_EQ(recipients_to_try(envelope, 3), (std::vector<std::size_t>{5}));
}

TEST(Disposition, ConnectionFailureDefersTried) {
  auto envelope = envelope_with(2);
  envelope.expires_at = Clock::WallTime{} + std::chrono::hours(1);
  const auto tried = recipients_to_try(envelope);
  EXPECT_EQ(apply_failure(envelope, tried, "connection lost", {}, {}, 0.5).step, NextStep::retry);
  for (const auto& recipient : envelope.recipients) {
    EXPECT_EQ(recipient.state, RecipientState::deferred);
    EXPECT_EQ(recipient.last_reply, "connection lost");
  }
}

TEST(Disposition, PermanentFailureWithoutAReplyBouncesTheTriedRecipients) {
  auto envelope = envelope_with(3);
  envelope.recipients[2].state = RecipientState::delivered;
  const Outcome outcome =
      apply_permanent_failure(envelope, {0, 1}, "5.1.10 null MX", {}, queue::RetryPolicy{}, 0.5);
  EXPECT_EQ(outcome.step, NextStep::remove);
  EXPECT_EQ(outcome.newly_bounced, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(envelope.recipients[0].state, RecipientState::bounced);
  EXPECT_EQ(envelope.recipients[1].last_reply, "5.1.10 null MX");
  EXPECT_EQ(envelope.recipients[1].attempts, 1U);
  EXPECT_EQ(envelope.attempts, 1U);
}

TEST(Disposition, OperatorBounceKeepsFinalRecipientsAndTheLastReply) {
  auto envelope = envelope_with(3);
  envelope.recipients[0].state = RecipientState::delivered;
  envelope.recipients[1].state = RecipientState::deferred;
  envelope.recipients[1].last_reply = "451 4.7.1 greylisted";
  const Outcome outcome = bounce_by_operator(envelope);
  EXPECT_EQ(outcome.step, NextStep::remove);
  EXPECT_EQ(outcome.newly_bounced, (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(envelope.recipients[0].state, RecipientState::delivered);
  EXPECT_EQ(envelope.recipients[1].state, RecipientState::bounced);
  EXPECT_EQ(envelope.recipients[1].last_reply,
            "5.0.0 returned to sender by the queue operator; last reply: 451 4.7.1 greylisted");
  EXPECT_EQ(envelope.recipients[2].last_reply, "5.0.0 returned to sender by the queue operator");
}

}  // namespace
}  // namespace mta::delivery

namespace mta::delivery {
namespace {

TEST(Disposition, NoAttemptLeftBeforeExpiryBouncesTheDeferred) {
  auto envelope = envelope_with(2);
  const auto now = Clock::WallTime{} + std::chrono::hours(10);
  envelope.expires_at = now + std::chrono::seconds(10);  // the next retry would be later
  const queue::RetryPolicy policy{.initial = std::chrono::minutes(1), .jitter = 0.0};
  smtp::TransactionResult result{
      .delivered = true, .reply = reply(250), .recipient_replies = {reply(250), reply(451)}};
  const Outcome outcome =
      apply_transaction(envelope, recipients_to_try(envelope), result, now, policy, 0.5);
  EXPECT_EQ(outcome.step, NextStep::remove);
  EXPECT_EQ(outcome.newly_bounced, std::vector<std::size_t>{1});
  EXPECT_EQ(envelope.recipients[1].state, RecipientState::bounced);
  EXPECT_NE(envelope.recipients[1].last_reply.find("4.4.7"), std::string::npos);
  EXPECT_NE(envelope.recipients[1].last_reply.find("451"), std::string::npos);
}

TEST(Disposition, ExpireBouncesOnlyUnfinished) {
  auto envelope = envelope_with(3);
  envelope.recipients[0].state = RecipientState::delivered;
  const Outcome outcome = expire(envelope);
  EXPECT_EQ(outcome.newly_bounced, (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(envelope.recipients[0].state, RecipientState::delivered);
}

}  // namespace
}  // namespace mta::delivery
