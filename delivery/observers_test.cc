#include "delivery/observers.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace mta::delivery {
namespace {

class Recorder final : public OutcomeObserver {
 public:
  explicit Recorder(std::string name, std::vector<std::string>& heard)
      : name_(std::move(name)), heard_(heard) {}
  void on_outcome(std::uint32_t shard, const RecipientOutcome& outcome) override {
    heard_.push_back(name_ + "@" + std::to_string(shard) + ":" + outcome.recipient.address);
  }

 private:
  std::string name_;
  std::vector<std::string>& heard_;
};

TEST(TellObservers, EveryObserverInOrderOnTheShardGiven) {
  std::vector<std::string> heard;
  Recorder first("first", heard);
  Recorder second("second", heard);
  const OutcomeFn tell = tell_observers(3, {&first, nullptr, &second});
  queue::Envelope envelope;
  queue::Recipient recipient;
  recipient.address = "ann@example.com";
  tell(RecipientOutcome{.envelope = envelope, .recipient = recipient});
  const std::vector<std::string> want = {"first@3:ann@example.com", "second@3:ann@example.com"};
  EXPECT_EQ(heard, want);
}

}  // namespace
}  // namespace mta::delivery
