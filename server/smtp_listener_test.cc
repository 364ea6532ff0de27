// SmtpListener: the reply each MessageOutcome gets (a table), and the skeleton on a real shard
// and loopback sockets with a fake handler: the handler's refusals at MAIL and RCPT reach the
// client, a message is answered only when the handler says so (at once or from a timer), AUTH
// is not offered when the options name no mechanism, and the per-address cap says 421 4.7.0.
#include "server/smtp_listener.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "engine/listener.h"
#include "engine/runtime.h"
#include "engine/test_support.h"

namespace mta::server {
namespace {

using namespace std::chrono_literals;
using engine::testing::blocking_connect;
using engine::testing::loopback;
using engine::testing::read_all;
using engine::testing::test_options;

TEST(SmtpReply, EachOutcomeHasItsReply) {
  using Status = MessageOutcome::Status;
  struct Case {
    MessageOutcome outcome;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{.status = Status::queued, .queued_as = MessageId(0xab)},
       "250 2.0.0 Ok: queued as 00000000000000ab"},
      {{.status = Status::queued}, "250 2.0.0 Ok"},
      {{.status = Status::queued, .detail = "stored: dsn"}, "250 2.0.0 Ok: stored: dsn"},
      {{.status = Status::refused, .detail = "unsignable header"}, "554 5.6.0 unsignable header"},
      {{.status = Status::failed, .detail = "write failed"},
       "451 4.3.0 Error: write failed, try again later"},
      {{.status = Status::no_space, .detail = "ignored"}, "452 4.3.1 Insufficient system storage"},
  };
  for (const Case& c : cases) {
    const std::string got = smtp_reply(c.outcome);
    EXPECT_EQ(got, c.want);
  }
}

// Refuses the second MAIL (and clients not on 127.0.0.1) and recipients outside ok.test;
// queues every message as id 7, at once or from a timer.
class FakeHandler final : public SmtpHandler {
 public:
  FakeHandler(engine::Shard& shard, bool later) : shard_(shard), later_(later) {}

  std::optional<std::string> check_sender(const SmtpClient& client) override {
    if (client.ip != "127.0.0.1") return "550 5.7.1 wrong address";
    if (++senders_ == 2) return "451 4.7.1 second transaction refused";
    return std::nullopt;
  }
  std::optional<std::string> check_recipient(const SmtpClient& /*client*/,
                                             std::string_view recipient) override {
    if (recipient.ends_with("@ok.test")) return std::nullopt;
    return "550 5.7.1 <" + std::string(recipient) + ">: not here";
  }
  void on_auth(const SmtpClient& /*client*/, smtp::AuthRequested&& /*auth*/,
               AuthDone done) override {
    done(AuthVerdict{});
  }
  void on_message(const SmtpClient& /*client*/, smtp::MessageReceived&& message,
                  MessageDone done) override {
    bodies_.push_back(message.body);
    MessageOutcome outcome{.status = MessageOutcome::Status::queued, .queued_as = MessageId(7)};
    if (!later_) return done(outcome);
    shard_.schedule(20ms, [done = std::move(done), outcome] { done(outcome); });
  }

  std::vector<std::string> bodies_;  // read after the runtime stopped

 private:
  engine::Shard& shard_;
  const bool later_;
  int senders_ = 0;
};

class Served {
 public:
  Served(const SmtpOptions& options, bool later) : runtime_(test_options(1)) {
    auto fd = engine::open_listen_socket(loopback(0));
    EXPECT_TRUE(fd.has_value());
    port_ = engine::local_address(*fd)->port();
    EXPECT_TRUE(runtime_
                    .start([this, options, later, fd = *fd](engine::Shard& shard) {
                      handler_ = std::make_unique<FakeHandler>(shard, later);
                      listener_ = std::make_unique<SmtpListener>(shard, options, *handler_, probe_);
                      listener_->listen(fd);
                    })
                    .has_value());
  }
  ~Served() { stop(); }
  void stop() {
    if (stopped_) return;
    stopped_ = true;
    runtime_.request_stop();
    runtime_.wait();
  }
  std::uint16_t port() const { return port_; }
  const FakeHandler& handler() const { return *handler_; }
  const ListenerProbe& probe() const { return probe_; }

 private:
  engine::Runtime runtime_;
  ListenerProbe probe_;
  std::unique_ptr<FakeHandler> handler_;
  std::unique_ptr<SmtpListener> listener_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
};

std::string exchange(int fd, const std::string& commands) {
  EXPECT_EQ(::send(fd, commands.data(), commands.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(commands.size()));
  return read_all(fd);
}

TEST(SmtpListener, HandlerDecidesAndAnswers) {
  for (const bool later : {false, true}) {
    SmtpOptions options;
    options.smtp.hostname = "mx.test";
    options.smtp.auth_mechanisms = {};  // none: AUTH is not offered
    Served served(options, later);
    const int fd = blocking_connect(loopback(served.port()));
    ASSERT_GE(fd, 0);
    const std::string got = exchange(fd,
                                     "EHLO client.test\r\n"
                                     "MAIL FROM:<a@client.test>\r\n"
                                     "RCPT TO:<b@elsewhere.test>\r\n"
                                     "RCPT TO:<b@ok.test>\r\n"
                                     "DATA\r\n"
                                     "Subject: hi\r\n\r\nbody\r\n.\r\n"
                                     "MAIL FROM:<a@client.test>\r\n"
                                     "QUIT\r\n");
    ::close(fd);
    EXPECT_TRUE(got.starts_with("220 mx.test")) << got;
    EXPECT_EQ(got.find("AUTH"), std::string::npos) << got;
    EXPECT_NE(got.find("550 5.7.1 <b@elsewhere.test>: not here\r\n"), std::string::npos) << got;
    EXPECT_NE(got.find("250 2.0.0 Ok: queued as 0000000000000007\r\n"), std::string::npos) << got;
    EXPECT_NE(got.find("451 4.7.1 second transaction refused\r\n"), std::string::npos) << got;
    EXPECT_NE(got.find("221 "), std::string::npos) << got;
    served.stop();
    ASSERT_EQ(served.handler().bodies_.size(), 1U);
    EXPECT_EQ(served.handler().bodies_[0], "Subject: hi\r\n\r\nbody\r\n");
    EXPECT_EQ(served.probe().connections_accepted, 1U);
  }
}

TEST(SmtpListener, OverThePerAddressCapSays421) {
  SmtpOptions options;
  options.smtp.hostname = "mx.test";
  engine::PeerCounts counts(1);
  options.peer_limits.connections_per_ip = 1;
  options.peer_counts = &counts;
  Served served(options, false);
  const int first = blocking_connect(loopback(served.port()));
  ASSERT_GE(first, 0);
  char greeting[64];
  ASSERT_GT(::read(first, greeting, sizeof(greeting)), 0);  // the first one is in
  const int second = blocking_connect(loopback(served.port()));
  ASSERT_GE(second, 0);
  const std::string got = read_all(second);
  EXPECT_EQ(got, "421 4.7.0 mx.test Too many connections from your address, try later\r\n");
  ::close(second);
  ::close(first);
  served.stop();
  EXPECT_EQ(served.probe().connections_refused, 1U);
}

}  // namespace
}  // namespace mta::server
