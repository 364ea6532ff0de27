#include "delivery/observers.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "proto/http/json.h"

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

// A connection that failed before its session was up (refused, unreachable): the line names
// the MX host and the address that was dialled, never null, so an operator sees which of a
// domain's hosts is down.
TEST(DeliveryLogWriter, ConnectFailureNamesTheHostAndAddressTried) {
  char dir[] = "/tmp/observers_test.XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/delivery.jsonl";
  {
    auto log = metrics::LineLog::open(path, 1);
    ASSERT_TRUE(log.has_value()) << log.error().message();
    DeliveryLogWriter writer(**log);
    queue::Envelope envelope;
    envelope.destination = "example.net";
    queue::Recipient recipient{
        .address = "ann@example.net",
        .state = queue::RecipientState::deferred,
        .attempts = 1,
        .last_reply = "4.4.1 connect to 127.0.0.1:1 failed: Connection refused"};
    const Hop tried{.mx_host = "mx1.example.net", .address = "127.0.0.1:1"};
    writer.on_outcome(
        0, RecipientOutcome{.envelope = envelope, .recipient = recipient, .hop = &tried});
    (*log)->write_pending();
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string line = text.str();
  ASSERT_TRUE(line.ends_with("\n")) << line;
  line.pop_back();
  auto parsed = http::parse_json(line);
  ASSERT_TRUE(parsed.has_value()) << line;
  ASSERT_NE(parsed->find("mx_host"), nullptr);
  ASSERT_TRUE(parsed->find("mx_host")->is_string()) << line;
  EXPECT_EQ(parsed->find("mx_host")->as_string(), "mx1.example.net");
  ASSERT_TRUE(parsed->find("address")->is_string()) << line;
  EXPECT_EQ(parsed->find("address")->as_string(), "127.0.0.1:1");
  EXPECT_TRUE(parsed->find("tls")->is_null());
  EXPECT_EQ(parsed->find("enhanced_code")->as_string(), "4.4.1");
  EXPECT_EQ(parsed->find("event")->as_string(), "deferred");
  std::remove(path.c_str());
  ::rmdir(dir);
}

}  // namespace
}  // namespace mta::delivery
