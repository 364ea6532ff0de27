// HttpListener on a real shard and loopback sockets: thousands of requests pipelined on one
// connection, answered at once or later, all in order (the listener once resumed reading while
// a request was complete and the daemon aborted in the parser); the output cap holding
// pipelined requests back; 503 over the per-address cap; 408 for a head that trickles.
#include "server/http_listener.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
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

// One shard serving an HttpListener on a kernel-chosen loopback port. `later`: answer each
// request from a timer instead of from inside the handler.
class Served {
 public:
  Served(HttpOptions options, bool later) : runtime_(test_options(1)) {
    auto fd = engine::open_listen_socket(loopback(0));
    EXPECT_TRUE(fd.has_value());
    port_ = engine::local_address(*fd)->port();
    EXPECT_TRUE(runtime_
                    .start([this, options, later, fd = *fd](engine::Shard& shard) {
                      listener_ = std::make_unique<HttpListener>(
                          shard, options,
                          [this, later, &shard](http::Request&& request,
                                                const engine::SocketAddress& /*peer*/,
                                                const Respond& respond) {
                            ++requests_;
                            http::Response response{.status = 200,
                                                    .content_type = "text/plain",
                                                    .body = request.path + "\n"};
                            if (request.path == "/big") response.body.append(64 * 1024, 'b');
                            if (!later) return respond(std::move(response));
                            shard.schedule(0ms, [respond, response] { respond(response); });
                          });
                      listener_->listen(fd);
                    })
                    .has_value());
  }
  ~Served() {
    runtime_.request_stop();
    runtime_.wait();
  }
  std::uint16_t port() const { return port_; }
  int requests() const { return requests_.load(); }

 private:
  engine::Runtime runtime_;
  std::unique_ptr<HttpListener> listener_;
  std::uint16_t port_ = 0;
  std::atomic<int> requests_{0};
};

std::string pipelined(int count, std::string_view path = "/healthz") {
  std::string out;
  for (int i = 0; i < count; ++i)
    out += "GET " + std::string(path) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  out += "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  return out;
}

std::size_t count_of(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Sends in pieces of odd sizes from another thread while this one reads, or all before reading
// (std::async, not std::thread: threads outside engine/ are for tests only).
std::string exchange(std::uint16_t port, const std::string& requests, bool read_while_sending) {
  const int fd = blocking_connect(loopback(port));
  EXPECT_GE(fd, 0);
  auto sender = std::async(std::launch::async, [&] {
    for (std::size_t at = 0; at < requests.size(); at += 997) {
      const std::string_view piece = std::string_view(requests).substr(at, 997);
      EXPECT_EQ(::send(fd, piece.data(), piece.size(), MSG_NOSIGNAL),
                static_cast<ssize_t>(piece.size()));
    }
  });
  if (!read_while_sending) sender.wait();
  std::string got = read_all(fd);
  if (read_while_sending) sender.wait();
  ::close(fd);
  return got;
}

TEST(HttpListener, ThousandsOfPipelinedRequestsAnsweredInOrder) {
  for (const bool later : {false, true}) {
    for (const bool read_while_sending : {true, false}) {
      Served served(HttpOptions{}, later);
      const std::string got = exchange(served.port(), pipelined(2000), read_while_sending);
      EXPECT_EQ(count_of(got, "HTTP/1.1 200 "), 2001U) << later << read_while_sending;
      EXPECT_EQ(count_of(got, "/healthz\n"), 2000U);
      EXPECT_NE(got.rfind("/last\n"), std::string::npos);
      EXPECT_EQ(served.requests(), 2001);
    }
  }
}

// Past the output cap the next pipelined request waits for the client to read: while it does
// not, the handler sees only the requests whose answers fit.
TEST(HttpListener, OutputCapHoldsPipelinedRequestsBack) {
  HttpOptions options;
  options.peer_limits.output_buffer_max = 4096;
  Served served(options, false);
  const int fd = blocking_connect(loopback(served.port()));
  ASSERT_GE(fd, 0);
  // 400 short requests (12 KB, the kernel takes them all) asking for 64 KiB answers each.
  const std::string requests = pipelined(400, "/big");
  ASSERT_EQ(::send(fd, requests.data(), requests.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(requests.size()));
  std::this_thread::sleep_for(500ms);  // not reading: the socket buffers fill, then the cap
  EXPECT_LT(served.requests(), 400);
  std::string got;
  char chunk[65536];
  for (;;) {  // reading lets the rest through
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    got.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  EXPECT_EQ(count_of(got, "HTTP/1.1 200 "), 401U);
  EXPECT_EQ(served.requests(), 401);
}

TEST(HttpListener, PerAddressCapAndHeadDeadline) {
  engine::PeerCounts counts(2);
  HttpOptions options;
  options.peer_limits.command_timeout = 200ms;
  options.peer_counts = &counts;
  Served served(options, false);
  std::vector<int> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(blocking_connect(loopback(served.port())));
    const std::string_view get = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(::send(held.back(), get.data(), get.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(get.size()));
    char reply[512];
    ASSERT_GT(::recv(held.back(), reply, sizeof reply, 0), 0);  // admitted and answered
  }
  const int over = blocking_connect(loopback(served.port()));
  ASSERT_GE(over, 0);
  EXPECT_NE(read_all(over).find("503"), std::string::npos);
  ::close(over);
  // A held connection starts a head and trickles: 408 at the deadline, then its place is free.
  const std::string_view start = "GET /slow HTTP/1.1\r\n";
  ASSERT_EQ(::send(held[0], start.data(), start.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(start.size()));
  EXPECT_EQ(read_all(held[0]).rfind("HTTP/1.1 408 ", 0), 0U);
  for (const int fd : held) ::close(fd);
}

TEST(HttpListener, LargeBodyOnlyAfterAuthentication) {
  HttpOptions options;
  options.authenticated = [](const http::Request& head, const engine::SocketAddress&) {
    return head.header("Authorization") == "Bearer right";
  };
  options.unauthenticated_body_max = 1024;
  Served served(options, false);
  const auto send_head = [&](const std::string& head) {
    const int fd = blocking_connect(loopback(served.port()));
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(head.size()));
    return fd;
  };
  // 10 MB announced without the key: 401 at once, before a body byte was sent.
  int fd = send_head("POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n");
  std::string got = read_all(fd);
  ::close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.1 401 ", 0), 0u) << got;
  // Chunked counts as large.
  fd = send_head("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  got = read_all(fd);
  ::close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.1 401 ", 0), 0u) << got;
  EXPECT_EQ(served.requests(), 0);
  // A small body, or the key, is read and handed to the handler.
  const std::string body(2000, 'b');
  fd = send_head(
      "POST /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 10\r\n\r\n" +
      std::string(10, 'b'));
  got = read_all(fd);
  ::close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.1 200 ", 0), 0u) << got;
  fd = send_head(
      "POST /keyed HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer "
      "right\r\nContent-Length: 2000\r\n\r\n" +
      body);
  got = read_all(fd);
  ::close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.1 200 ", 0), 0u) << got;
  EXPECT_EQ(served.requests(), 2);
}

}  // namespace
}  // namespace mta::server
