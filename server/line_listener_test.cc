// LineListener on a real shard and loopback sockets with a toy protocol (a greeting, each line
// echoed, "QUIT" ends): output in order, the refusal over the per-address cap, the goodbye for
// a line that does not finish within command_timeout.
#include "server/line_listener.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>

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

class EchoConnection final : public LineConnection {
 public:
  EchoConnection(LineListener& listener, std::uint64_t id) : LineConnection(listener, id) {}

 private:
  void feed(std::string_view bytes) override {
    line_ += bytes;
    for (auto end = line_.find("\r\n"); end != std::string::npos; end = line_.find("\r\n")) {
      const std::string line = line_.substr(0, end);
      line_.erase(0, end + 2);
      if (line == "QUIT") {
        out_ += "BYE\r\n";
        ended_ = true;
        return;
      }
      out_ += "ECHO " + line + "\r\n";
    }
  }
  void drive() override {
    flush();
    if (ended_ && out_.empty()) close();
  }
  void tls_started() override {}
  bool input_blocked() const override { return false; }
  std::string_view pending_output() const override { return out_; }
  void output_taken(std::size_t bytes) override { out_.erase(0, bytes); }

  std::string line_, out_ = "HELLO\r\n";
  bool ended_ = false;
};

class EchoListener final : public LineListener {
 public:
  EchoListener(engine::Shard& shard, LineOptions options)
      : LineListener(shard, options, "echo", "GOODBYE ", probe_) {}
  ListenerProbe probe_;

 private:
  std::unique_ptr<LineConnection> open_connection(std::uint64_t id, bool /*tls*/) override {
    return std::make_unique<EchoConnection>(*this, id);
  }
};

class Served {
 public:
  explicit Served(LineOptions options) : runtime_(test_options(1)) {
    auto fd = engine::open_listen_socket(loopback(0));
    EXPECT_TRUE(fd.has_value());
    port_ = engine::local_address(*fd)->port();
    EXPECT_TRUE(runtime_
                    .start([this, options, fd = *fd](engine::Shard& shard) {
                      listener_ = std::make_unique<EchoListener>(shard, options);
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
  const ListenerProbe& probe() const { return listener_->probe_; }

 private:
  engine::Runtime runtime_;
  std::unique_ptr<EchoListener> listener_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
};

std::string send_and_read(int fd, std::string_view text) {
  EXPECT_EQ(::send(fd, text.data(), text.size(), MSG_NOSIGNAL), static_cast<ssize_t>(text.size()));
  return read_all(fd);
}

TEST(LineListener, AnswersInOrderAndCloses) {
  Served served(LineOptions{});
  const int fd = blocking_connect(loopback(served.port()));
  ASSERT_GE(fd, 0);
  EXPECT_EQ(send_and_read(fd, "one\r\ntwo\r\nQUIT\r\n"),
            "HELLO\r\nECHO one\r\nECHO two\r\nBYE\r\n");
  ::close(fd);
  served.stop();
  EXPECT_EQ(served.probe().connections_accepted, 1U);
}

TEST(LineListener, OverThePerAddressCapTheRefusal) {
  engine::PeerCounts counts(1);
  Served served(LineOptions{.peer_limits = {.connections_max = 10, .connections_per_ip = 1},
                            .peer_counts = &counts});
  const int first = blocking_connect(loopback(served.port()));
  ASSERT_GE(first, 0);
  char greeting[16];
  ASSERT_GT(::read(first, greeting, sizeof(greeting)), 0);  // the first one is in
  const int second = blocking_connect(loopback(served.port()));
  ASSERT_GE(second, 0);
  EXPECT_EQ(read_all(second), "GOODBYE Too many connections from your address, try later\r\n");
  ::close(second);
  ::close(first);
  served.stop();
  EXPECT_EQ(served.probe().connections_refused, 1U);
}

TEST(LineListener, ALineTooSlowGetsTheGoodbye) {
  Served served(LineOptions{.peer_limits = {.command_timeout = 200ms}});
  const int fd = blocking_connect(loopback(served.port()));
  ASSERT_GE(fd, 0);
  EXPECT_EQ(send_and_read(fd, "half a li"),
            "HELLO\r\nGOODBYE Command timeout exceeded, closing\r\n");
  ::close(fd);
}

}  // namespace
}  // namespace mta::server
