#include "delivery/destination_view.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace mta::delivery {
namespace {

Clock::WallTime at(int seconds) {
  return Clock::WallTime(std::chrono::seconds(1'800'000'000 + seconds));
}

class Outcomes {
 public:
  explicit Outcomes(DestinationActivity& activity) : activity_(activity) {}
  void tell(const std::string& destination, std::uint64_t id, const std::string& rcpt,
            queue::RecipientState state, int when, std::string reply = "") {
    queue::Envelope envelope;
    envelope.id = MessageId(id);
    envelope.destination = destination;
    envelope.received_at = at(static_cast<int>(id));
    queue::Recipient recipient;
    recipient.address = rcpt;
    recipient.state = state;
    recipient.last_reply = std::move(reply);
    activity_.on_outcome(
        0, RecipientOutcome{.envelope = envelope, .recipient = recipient, .at = at(when)});
  }

 private:
  DestinationActivity& activity_;
};

TEST(DestinationActivity, RateCountsTheLastTenWholeSeconds) {
  DestinationActivity activity;
  Outcomes outcomes(activity);
  for (int i = 0; i < 30; ++i) {
    outcomes.tell("Sink.test", 1, "r" + std::to_string(i) + "@sink.test",
                  queue::RecipientState::delivered, 100 + i / 3);  // 3 a second, 100..109
  }
  auto view = activity.snapshot(at(110));
  ASSERT_TRUE(view.contains("sink.test"));
  EXPECT_DOUBLE_EQ(view["sink.test"].delivered_per_second, 3.0);
  EXPECT_DOUBLE_EQ(activity.snapshot(at(115))["sink.test"].delivered_per_second, 1.5);
  EXPECT_DOUBLE_EQ(activity.snapshot(at(200))["sink.test"].delivered_per_second, 0.0);
}

TEST(DestinationActivity, WaitingRecipientsAndTheOldestMessageFollowTheOutcomes) {
  DestinationActivity activity;
  Outcomes outcomes(activity);
  using S = queue::RecipientState;
  outcomes.tell("picky.test", 10, "a@picky.test", S::deferred, 20, "451 4.3.2 later");
  outcomes.tell("picky.test", 10, "b@picky.test", S::deferred, 20, "451 4.3.2 later");
  outcomes.tell("picky.test", 12, "c@picky.test", S::deferred, 21, "451 4.3.2 later");
  outcomes.tell("picky.test", 10, "a@picky.test", S::deferred, 30, "451 4.3.2 again");
  auto view = activity.snapshot(at(31))["picky.test"];
  EXPECT_EQ(view.recipients_waiting, 3u);
  EXPECT_EQ(view.oldest_received, at(10));
  EXPECT_EQ(view.last_error, "451 4.3.2 again");
  EXPECT_EQ(view.last_error_at, at(30));

  outcomes.tell("picky.test", 10, "a@picky.test", S::delivered, 40, "250 ok");
  outcomes.tell("picky.test", 10, "b@picky.test", S::bounced, 41, "550 5.1.1 gone");
  view = activity.snapshot(at(42))["picky.test"];
  EXPECT_EQ(view.recipients_waiting, 1u);
  EXPECT_EQ(view.oldest_received, at(12));
  EXPECT_EQ(view.last_error, "550 5.1.1 gone");
}

TEST(DestinationActivity, BoundedInDestinations) {
  DestinationActivity activity(/*destinations_max=*/2);
  Outcomes outcomes(activity);
  outcomes.tell("a.test", 1, "x@a.test", queue::RecipientState::delivered, 1);
  outcomes.tell("b.test", 1, "x@b.test", queue::RecipientState::delivered, 2);
  outcomes.tell("c.test", 1, "x@c.test", queue::RecipientState::delivered, 3);
  const auto view = activity.snapshot(at(4));
  EXPECT_EQ(view.size(), 2u);
  EXPECT_FALSE(view.contains("a.test"));
}

}  // namespace
}  // namespace mta::delivery
