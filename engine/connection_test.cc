// Connections and listeners over real loopback sockets (port 0): echo on two shards with
// SO_REUSEPORT, many concurrent echoes larger than the recv buffer, connect failures and
// timeouts, idle timeout, abort with a recv in flight, graceful close, pause/resume, and the
// drain gate with held and stuck sessions.
#include "engine/connection.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/listener.h"
#include "engine/runtime.h"
#include "engine/test_support.h"

namespace mta::engine {
namespace {

using namespace std::chrono_literals;
using testing::blocking_connect;
using testing::loopback;
using testing::read_all;
using testing::Signal;
using testing::test_options;

// Server side: adopts accepted sockets and hands each to a session made by `make`.
// Lives on one shard; sessions are freed after their connection's on_closed.
class Server {
 public:
  class Session : public ConnectionHandler {
   public:
    Session(Server& server, int fd) : server_(server) {
      connection_ = &Connection::adopt(*server.shard_, fd, *this);
    }
    void on_data(Buffer& input) override {
      if (server_.on_data) server_.on_data(*this, input);
    }
    void on_closed(int error) override {
      server_.closed_errors.push_back(error);
      if (server_.on_closed) server_.on_closed(*this, error);
      const std::uint64_t id = connection_->id();
      connection_ = nullptr;
      server_.shard_->defer([id, &server = server_] { server.sessions_.erase(id); });
    }
    Connection* connection() { return connection_; }

   private:
    Server& server_;
    Connection* connection_;
  };

  std::function<void(Session&, Buffer&)> on_data;
  std::function<void(Session&)> on_open;
  std::function<void(Session&, int)> on_closed;
  std::vector<int> closed_errors;  // shard thread only; read after Runtime::wait

  void listen(Shard& shard, int fd) {
    shard_ = &shard;
    shard.listen(fd, [this](int accepted, const SocketAddress& peer) {
      peers.push_back(peer);
      auto session = std::make_unique<Session>(*this, accepted);
      Session& ref = *session;
      sessions_.emplace(session->connection()->id(), std::move(session));
      if (on_open) on_open(ref);
    });
  }
  std::size_t open_sessions() const { return sessions_.size(); }
  std::vector<SocketAddress> peers;

 private:
  Shard* shard_ = nullptr;
  std::unordered_map<std::uint64_t, std::unique_ptr<Session>> sessions_;
};

void echo(Server::Session& session, Buffer& input) {
  session.connection()->write(input.readable());
  input.consume(input.size());
}

// Opens `count` SO_REUSEPORT sockets on one loopback port chosen by the kernel.
std::vector<int> open_reuseport_sockets(std::size_t count, std::uint16_t& port) {
  std::vector<int> fds;
  auto first = open_listen_socket(loopback(0));
  EXPECT_TRUE(first.has_value());
  if (!first) return fds;
  fds.push_back(*first);
  port = local_address(*first)->port();
  for (std::size_t i = 1; i < count; ++i) {
    auto next = open_listen_socket(loopback(port));
    EXPECT_TRUE(next.has_value()) << next.error().message();
    if (next) fds.push_back(*next);
  }
  return fds;
}

// Client side: connects, writes `payload` at once (before the connect completes), reads it
// back and closes.
class EchoClient : public ConnectionHandler {
 public:
  EchoClient(std::string payload, std::function<void()> on_done)
      : payload_(std::move(payload)), on_done_(std::move(on_done)) {}

  void start(Shard& shard, const SocketAddress& to) {
    connection_ = &Connection::connect(shard, to, 5s, *this);
    connection_->write(payload_);
  }
  void on_connected(int error) override { connected_error = error; }
  void on_data(Buffer& input) override {
    received.append(input.readable());
    input.consume(input.size());
    if (received.size() >= payload_.size()) connection_->close();
  }
  void on_closed(int error) override {
    closed_error = error;
    ++closed_calls;
    on_done_();
  }
  bool echoed() const { return received == payload_; }

  int connected_error = 1;
  int closed_error = 1;
  int closed_calls = 0;
  std::string received;

 private:
  std::string payload_;
  std::function<void()> on_done_;
  Connection* connection_ = nullptr;
};

std::string make_payload(std::size_t size, std::size_t seed) {
  std::string payload(size, '\0');
  for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
  return payload;
}

TEST(Listener, CheckPortFreeSeesAnotherListener) {
  std::uint16_t port = 0;
  std::vector<int> fds = open_reuseport_sockets(1, port);
  ASSERT_EQ(fds.size(), 1u);
  // A second SO_REUSEPORT socket binds silently (the hazard); the probe refuses.
  auto taken = check_port_free(loopback(port));
  ASSERT_FALSE(taken.has_value());
  EXPECT_EQ(taken.error().code, std::error_code(EADDRINUSE, std::system_category()));
  EXPECT_NE(taken.error().message().find("another process listens on"), std::string::npos);
  ::close(fds[0]);
  EXPECT_TRUE(check_port_free(loopback(port)).has_value());
}

TEST(Connection, EchoOnTwoShardsWithReusePort) {
  std::uint16_t port = 0;
  std::vector<int> fds = open_reuseport_sockets(2, port);
  ASSERT_EQ(fds.size(), 2u);
  Runtime runtime(test_options(2));
  Server servers[2];
  std::vector<std::unique_ptr<EchoClient>> clients[2];
  std::atomic<int> remaining{8};
  Signal done;
  for (auto& server : servers) server.on_data = echo;
  ASSERT_TRUE(
      runtime
          .start([&](Shard& shard) {
            const std::uint32_t i = shard.id().value();
            servers[i].listen(shard, fds[i]);
            for (int c = 0; c < 4; ++c) {
              clients[i].push_back(std::make_unique<EchoClient>(
                  "hello from shard " + std::to_string(i) + " client " + std::to_string(c), [&] {
                    if (--remaining == 0) done.notify();
                  }));
              clients[i].back()->start(shard, loopback(port));
            }
          })
          .has_value());
  ASSERT_TRUE(done.wait());
  runtime.request_stop();
  runtime.wait();
  std::size_t accepted = 0;
  for (int i = 0; i < 2; ++i) {
    accepted += servers[i].peers.size();
    for (const auto& peer : servers[i].peers) EXPECT_EQ(peer.family(), AF_INET);
    for (const auto& client : clients[i]) {
      EXPECT_EQ(client->connected_error, 0);
      EXPECT_TRUE(client->echoed()) << client->received;
      EXPECT_EQ(client->closed_error, 0);
      EXPECT_EQ(client->closed_calls, 1);
    }
  }
  EXPECT_EQ(accepted, 8u);
}

TEST(Connection, ManyConcurrentEchoesLargerThanTheRecvBuffer) {
  constexpr int kClients = 200;
  constexpr std::size_t kPayload = 3 * Connection::kRecvBytes + 123;
  std::uint16_t port = 0;
  std::vector<int> fds = open_reuseport_sockets(2, port);
  ASSERT_EQ(fds.size(), 2u);
  Runtime runtime(test_options(2));
  Server servers[2];
  std::vector<std::unique_ptr<EchoClient>> clients[2];
  std::atomic<int> remaining{kClients};
  Signal done;
  for (auto& server : servers) server.on_data = echo;
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    const std::uint32_t i = shard.id().value();
                    servers[i].listen(shard, fds[i]);
                    for (int c = static_cast<int>(i); c < kClients; c += 2) {
                      clients[i].push_back(
                          std::make_unique<EchoClient>(make_payload(kPayload, c), [&] {
                            if (--remaining == 0) done.notify();
                          }));
                      clients[i].back()->start(shard, loopback(port));
                    }
                  })
                  .has_value());
  ASSERT_TRUE(done.wait(std::chrono::seconds(30)));
  runtime.request_stop();
  runtime.wait();
  int echoed = 0;
  for (int i = 0; i < 2; ++i) {
    for (const auto& client : clients[i]) {
      echoed += client->echoed() ? 1 : 0;
      EXPECT_EQ(client->closed_error, 0);
    }
  }
  EXPECT_EQ(echoed, kClients);
}

// Records the callbacks of a connection that is expected to fail.
class RecordingHandler : public ConnectionHandler {
 public:
  explicit RecordingHandler(Signal& done) : done_(done) {}
  void on_connected(int error) override { events.push_back("connected " + std::to_string(error)); }
  void on_data(Buffer& input) override {
    events.push_back("data " + std::string(input.readable()));
    input.consume(input.size());
  }
  void on_closed(int error) override {
    events.push_back("closed " + std::to_string(error));
    done_.notify();
  }
  std::vector<std::string> events;

 private:
  Signal& done_;
};

TEST(Connection, ConnectToClosedPortIsRefused) {
  // A bound socket that does not listen keeps the port ours and answers SYN with RST.
  const int reserved = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const SocketAddress any = loopback(0);
  ASSERT_EQ(::bind(reserved, any.sockaddr_ptr(), any.length), 0);
  const std::uint16_t port = local_address(reserved)->port();
  Runtime runtime(test_options(1));
  Signal done;
  RecordingHandler handler(done);
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    Connection::connect(shard, loopback(port), 5s, handler).write("lost");
                  })
                  .has_value());
  ASSERT_TRUE(done.wait());
  runtime.request_stop();
  runtime.wait();
  ::close(reserved);
  const std::vector<std::string> want = {"connected " + std::to_string(-ECONNREFUSED),
                                         "closed " + std::to_string(-ECONNREFUSED)};
  EXPECT_EQ(handler.events, want);
}

TEST(Connection, ConnectFromASourceAddress) {
  // A listener the test accepts on itself, so the peer address the kernel saw can be read.
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const SocketAddress any = loopback(0);
  ASSERT_EQ(::bind(listener, any.sockaddr_ptr(), any.length), 0);
  ASSERT_EQ(::listen(listener, 8), 0);
  const std::uint16_t port = local_address(listener)->port();
  const SocketAddress from = SocketAddress::parse("127.0.0.5:0").value();
  const SocketAddress nowhere = SocketAddress::parse("192.0.2.1:0").value();  // on no interface
  Runtime runtime(test_options(1));
  Signal done;
  Signal failed;
  RecordingHandler handler(done);
  RecordingHandler refused(failed);
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    Connection::connect(shard, loopback(port), 5s, handler, &from).write("hi");
                    Connection::connect(shard, loopback(port), 5s, refused, &nowhere);
                  })
                  .has_value());
  const int accepted = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(accepted, 0);
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  ASSERT_EQ(::getpeername(accepted, reinterpret_cast<sockaddr*>(&peer), &length), 0);
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&peer)->sin_addr, text, sizeof text);
  EXPECT_STREQ(text, "127.0.0.5");
  ::close(accepted);  // EOF: the client's connection closes
  ASSERT_TRUE(done.wait());
  ASSERT_TRUE(failed.wait());
  runtime.request_stop();
  runtime.wait();
  ::close(listener);
  ASSERT_FALSE(handler.events.empty());
  EXPECT_EQ(handler.events.front(), "connected 0");
  const std::vector<std::string> want = {"connected " + std::to_string(-EADDRNOTAVAIL),
                                         "closed " + std::to_string(-EADDRNOTAVAIL)};
  EXPECT_EQ(refused.events, want);
}

TEST(Connection, ConnectTimesOutWhenTheBacklogIsFull) {
  // backlog 0 admits one queued connection; once it is there the kernel drops further SYNs,
  // so the next connect neither succeeds nor fails until our timer cancels it.
  auto listen_fd = open_listen_socket(loopback(0), 0);
  ASSERT_TRUE(listen_fd.has_value());
  const std::uint16_t port = local_address(*listen_fd)->port();
  const int filler = blocking_connect(loopback(port));
  ASSERT_GE(filler, 0);
  std::this_thread::sleep_for(20ms);
  Runtime runtime(test_options(1));
  Signal done;
  RecordingHandler handler(done);
  std::chrono::steady_clock::duration elapsed{};
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      runtime
          .start([&](Shard& shard) { Connection::connect(shard, loopback(port), 150ms, handler); })
          .has_value());
  ASSERT_TRUE(done.wait());
  elapsed = std::chrono::steady_clock::now() - start;
  runtime.request_stop();
  runtime.wait();
  ::close(filler);
  ::close(*listen_fd);
  const std::vector<std::string> want = {"connected " + std::to_string(-ETIMEDOUT),
                                         "closed " + std::to_string(-ETIMEDOUT)};
  EXPECT_EQ(handler.events, want);
  EXPECT_GE(elapsed, 150ms);
}

TEST(Connection, IdleTimeoutClosesASilentPeer) {
  auto listen_fd = open_listen_socket(loopback(0));
  ASSERT_TRUE(listen_fd.has_value());
  const std::uint16_t port = local_address(*listen_fd)->port();
  Runtime runtime(test_options(1));
  Server server;
  Signal done;
  server.on_open = [](Server::Session& session) { session.connection()->set_idle_timeout(100ms); };
  server.on_data = echo;
  server.on_closed = [&](Server::Session&, int) { done.notify(); };
  ASSERT_TRUE(runtime.start([&](Shard& shard) { server.listen(shard, *listen_fd); }).has_value());
  const int client = blocking_connect(loopback(port));
  ASSERT_GE(client, 0);
  const auto start = std::chrono::steady_clock::now();
  // Bytes reset the idle clock: one echo 60 ms in, then silence.
  std::this_thread::sleep_for(60ms);
  ASSERT_EQ(::write(client, "ping", 4), 4);
  char echoed[4];
  ASSERT_EQ(::read(client, echoed, sizeof(echoed)), 4);
  ASSERT_TRUE(done.wait());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(read_all(client), "");  // the server closed: EOF
  ::close(client);
  runtime.request_stop();
  runtime.wait();
  ASSERT_EQ(server.closed_errors.size(), 1u);
  EXPECT_EQ(server.closed_errors[0], -ETIMEDOUT);
  EXPECT_GE(elapsed, 160ms);
}

TEST(Connection, AbortWithRecvInFlightReleasesCleanly) {
  auto listen_fd = open_listen_socket(loopback(0));
  ASSERT_TRUE(listen_fd.has_value());
  const std::uint16_t port = local_address(*listen_fd)->port();
  Runtime runtime(test_options(1));
  Server server;
  Signal done;
  std::size_t connections_after = 99;
  Shard* shard_ptr = nullptr;
  server.on_open = [](Server::Session& session) {
    session.connection()->write("never sent completely?");
    session.connection()->abort();  // the recv armed by adopt() is in flight
    session.connection()->abort();  // idempotent
    session.connection()->write("ignored");
  };
  server.on_closed = [&](Server::Session&, int) {
    shard_ptr->schedule(1ms, [&] {
      connections_after = shard_ptr->connection_count();
      done.notify();
    });
  };
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    shard_ptr = &shard;
                    server.listen(shard, *listen_fd);
                  })
                  .has_value());
  const int client = blocking_connect(loopback(port));
  ASSERT_GE(client, 0);
  ASSERT_TRUE(done.wait());
  read_all(client);  // EOF or reset, either way it ends
  ::close(client);
  runtime.request_stop();
  runtime.wait();
  ASSERT_EQ(server.closed_errors.size(), 1u);
  EXPECT_EQ(server.closed_errors[0], -ECONNABORTED);
  EXPECT_EQ(connections_after, 0u);
}

TEST(Connection, CloseFlushesPendingOutputThenEof) {
  const std::string big = make_payload(1 << 20, 3);
  auto listen_fd = open_listen_socket(loopback(0));
  ASSERT_TRUE(listen_fd.has_value());
  const std::uint16_t port = local_address(*listen_fd)->port();
  Runtime runtime(test_options(1));
  Server server;
  int drained = 0;
  server.on_open = [&](Server::Session& session) {
    for (std::size_t at = 0; at < big.size(); at += 1000) {
      session.connection()->write(std::string_view(big).substr(at, 1000));
    }
    session.connection()->close();
    session.connection()->close();  // idempotent
  };
  // Stop only after the server saw our EOF: a stop during the linger would abort it.
  Signal closed;
  server.on_closed = [&](Server::Session&, int) { closed.notify(); };
  ASSERT_TRUE(runtime.start([&](Shard& shard) { server.listen(shard, *listen_fd); }).has_value());
  const int client = blocking_connect(loopback(port));
  ASSERT_GE(client, 0);
  const std::string got = read_all(client);
  ::close(client);
  ASSERT_TRUE(closed.wait());
  runtime.request_stop();
  runtime.wait();
  EXPECT_EQ(got.size(), big.size());
  EXPECT_TRUE(got == big);
  ASSERT_EQ(server.closed_errors.size(), 1u);
  EXPECT_EQ(server.closed_errors[0], 0);
  EXPECT_EQ(drained, 0);
}

TEST(Connection, CloseWithUnreadInputStillDeliversTheReply) {
  // The peer sent bytes the handler never read. Closing such a socket makes the kernel send
  // RST and drop whatever of the reply is still in its send queue; close() lingers and reads
  // instead, so a reply larger than the socket buffers arrives whole.
  const std::string reply = make_payload(16 << 20, 5);
  auto listen_fd = open_listen_socket(loopback(0));
  ASSERT_TRUE(listen_fd.has_value());
  const std::uint16_t port = local_address(*listen_fd)->port();
  Runtime runtime(test_options(1));
  Server server;
  Shard* shard_ptr = nullptr;
  Signal closed;  // set before start: the shard thread reads the callbacks
  server.on_closed = [&](Server::Session&, int) { closed.notify(); };
  server.on_open = [&](Server::Session& session) {
    session.connection()->pause_reading();
    shard_ptr->schedule(50ms, [&, c = session.connection()] {
      c->write(reply);
      c->close();
    });
  };
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    shard_ptr = &shard;
                    server.listen(shard, *listen_fd);
                  })
                  .has_value());
  const int client = blocking_connect(loopback(port));
  ASSERT_GE(client, 0);
  const std::string junk(100'000, 'x');
  ASSERT_EQ(::write(client, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
  std::this_thread::sleep_for(150ms);  // let the server finish handing the reply to the kernel
  const std::string got = read_all(client);
  ::close(client);
  ASSERT_TRUE(closed.wait());  // a stop during the server's linger would abort it
  runtime.request_stop();
  runtime.wait();
  EXPECT_EQ(got.size(), reply.size());
  EXPECT_TRUE(got == reply);
  ASSERT_EQ(server.closed_errors.size(), 1u);
  EXPECT_EQ(server.closed_errors[0], 0);
}

TEST(Connection, PeerEofClosesCleanlyAndDrainedIsReported) {
  auto listen_fd = open_listen_socket(loopback(0));
  ASSERT_TRUE(listen_fd.has_value());
  const std::uint16_t port = local_address(*listen_fd)->port();
  Runtime runtime(test_options(1));

  class Client : public ConnectionHandler {
   public:
    void on_connected(int error) override {
      events.push_back("connected " + std::to_string(error));
    }
    void on_data(Buffer& input) override {
      events.push_back("data " + std::string(input.readable()));
      input.consume(input.size());
    }
    void on_drained() override {
      if (!drained_once) events.push_back("drained");
      drained_once = true;
    }
    void on_closed(int error) override {
      events.push_back("closed " + std::to_string(error));
      done.notify();
    }
    std::vector<std::string> events;
    bool drained_once = false;
    Signal done;
  } client;

  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    Connection::connect(shard, loopback(port), 5s, client).write("hi");
                  })
                  .has_value());
  sockaddr_storage peer{};
  socklen_t peer_length = sizeof(peer);
  const int accepted = ::accept(*listen_fd, reinterpret_cast<sockaddr*>(&peer), &peer_length);
  ASSERT_GE(accepted, 0);
  char got[2];
  ASSERT_EQ(::read(accepted, got, 2), 2);
  ASSERT_EQ(::write(accepted, "bye", 3), 3);
  ::close(accepted);
  ASSERT_TRUE(client.done.wait());
  runtime.request_stop();
  runtime.wait();
  ::close(*listen_fd);
  EXPECT_EQ(std::string(got, 2), "hi");
  const std::vector<std::string> want = {"connected 0", "drained", "data bye", "closed 0"};
  EXPECT_EQ(client.events, want);
}

TEST(Connection, PauseKeepsDataInTheKernelUntilResume) {
  // Two pauses: one from a timer while a recv is in flight (its bytes are held back until
  // resume), one from inside on_data (no recv is issued, the bytes stay in the kernel).
  auto listen_fd = open_listen_socket(loopback(0));
  ASSERT_TRUE(listen_fd.has_value());
  const std::uint16_t port = local_address(*listen_fd)->port();
  Runtime runtime(test_options(1));
  Server server;
  std::vector<std::string> log;
  Signal done;
  Shard* shard_ptr = nullptr;
  server.on_open = [&](Server::Session& session) {
    shard_ptr->schedule(10ms, [&, c = session.connection()] {
      log.push_back("pause 1");
      c->pause_reading();
      shard_ptr->schedule(110ms, [&, c] {
        log.push_back("resume 1");
        c->resume_reading();
      });
    });
  };
  server.on_data = [&](Server::Session& session, Buffer& input) {
    log.push_back("data " + std::string(input.readable()));
    input.consume(input.size());
    if (log.back() == "data first") {
      log.push_back("pause 2");
      session.connection()->pause_reading();
      shard_ptr->schedule(100ms, [&, c = session.connection()] {
        log.push_back("resume 2");
        c->resume_reading();
      });
    } else {
      done.notify();
    }
  };
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    shard_ptr = &shard;
                    server.listen(shard, *listen_fd);
                  })
                  .has_value());
  const int client = blocking_connect(loopback(port));
  ASSERT_GE(client, 0);
  std::this_thread::sleep_for(60ms);
  ASSERT_EQ(::write(client, "first", 5), 5);  // into the recv in flight since before pause 1
  std::this_thread::sleep_for(100ms);
  ASSERT_EQ(::write(client, "second", 6), 6);  // while paused by pause 2
  ASSERT_TRUE(done.wait());
  ::close(client);
  runtime.request_stop();
  runtime.wait();
  const std::vector<std::string> want = {"pause 1", "resume 1", "data first",
                                         "pause 2", "resume 2", "data second"};
  EXPECT_EQ(log, want);
}

TEST(Connection, ResumeInsideOnDataBeforeConsumingKeepsTheBuffer) {
  // A handler that pauses and resumes while it still holds the input (a protocol that waits
  // for a decision, then gets it at once), and consumes afterwards: the next receive must not
  // be armed on the buffer it is about to consume from.
  auto listen_fd = open_listen_socket(loopback(0));
  ASSERT_TRUE(listen_fd.has_value());
  const std::uint16_t port = local_address(*listen_fd)->port();
  Runtime runtime(test_options(1));
  Server server;
  std::string got;
  Signal done;
  server.on_data = [&](Server::Session& session, Buffer& input) {
    session.connection()->pause_reading();
    session.connection()->resume_reading();
    got += input.readable();
    input.consume(input.size());
    if (got.size() >= 10) done.notify();
  };
  ASSERT_TRUE(runtime.start([&](Shard& shard) { server.listen(shard, *listen_fd); }).has_value());
  const int client = blocking_connect(loopback(port));
  ASSERT_GE(client, 0);
  ASSERT_EQ(::write(client, "first", 5), 5);
  std::this_thread::sleep_for(50ms);
  ASSERT_EQ(::write(client, "again", 5), 5);
  ASSERT_TRUE(done.wait());
  ::close(client);
  runtime.request_stop();
  runtime.wait();
  EXPECT_EQ(got, "firstagain");
}

TEST(Connection, CloseInsideOnDataBeforeConsumingKeepsTheBuffer) {
  // A handler that answers and closes while it still holds the input, and consumes afterwards
  // (a protocol core fed first, then told to hang up): the linger's discarding receive must
  // not be armed on the buffer it is about to consume from.
  auto listen_fd = open_listen_socket(loopback(0));
  ASSERT_TRUE(listen_fd.has_value());
  const std::uint16_t port = local_address(*listen_fd)->port();
  Runtime runtime(test_options(1));
  Server server;
  std::string got;
  Signal closed;
  server.on_closed = [&](Server::Session&, int) { closed.notify(); };
  server.on_data = [&](Server::Session& session, Buffer& input) {
    got += input.readable();
    session.connection()->write("bye\r\n");
    session.connection()->close();
    input.consume(input.size());
  };
  ASSERT_TRUE(runtime.start([&](Shard& shard) { server.listen(shard, *listen_fd); }).has_value());
  const int client = blocking_connect(loopback(port));
  ASSERT_GE(client, 0);
  ASSERT_EQ(::write(client, "hello", 5), 5);
  const std::string reply = read_all(client);
  ::close(client);
  ASSERT_TRUE(closed.wait());
  runtime.request_stop();
  runtime.wait();
  EXPECT_EQ(got, "hello");
  EXPECT_EQ(reply, "bye\r\n");
  ASSERT_EQ(server.closed_errors.size(), 1u);
  EXPECT_EQ(server.closed_errors[0], 0);
}

TEST(Connection, StopWaitsForAHeldSessionToFinish) {
  auto listen_fd = open_listen_socket(loopback(0));
  ASSERT_TRUE(listen_fd.has_value());
  const std::uint16_t port = local_address(*listen_fd)->port();
  Runtime runtime(test_options(1));
  Server server;
  Shard* shard_ptr = nullptr;
  Signal opened;
  std::vector<Server::Session*> live;
  server.on_open = [&](Server::Session& session) {
    shard_ptr->hold();
    live.push_back(&session);
    opened.notify();
  };
  server.on_closed = [&](Server::Session& session, int) {
    std::erase(live, &session);
    shard_ptr->release();
  };
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    shard_ptr = &shard;
                    server.listen(shard, *listen_fd);
                    // The session says goodbye 50 ms after the stop, then closes.
                    shard.on_stop([&, s = &shard] {
                      s->schedule(50ms, [&] {
                        for (Server::Session* session : live) {
                          session->connection()->write("421 shutting down\r\n");
                          session->connection()->close();
                        }
                      });
                    });
                  })
                  .has_value());
  const int client = blocking_connect(loopback(port));
  ASSERT_GE(client, 0);
  ASSERT_TRUE(opened.wait());
  runtime.request_stop();
  const std::string got = read_all(client);
  ::close(client);  // the server lingers for our EOF after its own
  runtime.wait();
  EXPECT_EQ(got, "421 shutting down\r\n");
  ASSERT_EQ(server.closed_errors.size(), 1u);
  EXPECT_EQ(server.closed_errors[0], 0);
  // The listener was closed at stop: nobody accepts on the port any more.
  EXPECT_LT(blocking_connect(loopback(port)), 0);
}

TEST(Connection, DrainTimeoutAbortsAStuckSession) {
  auto listen_fd = open_listen_socket(loopback(0));
  ASSERT_TRUE(listen_fd.has_value());
  const std::uint16_t port = local_address(*listen_fd)->port();
  RuntimeOptions options = test_options(1);
  options.drain_timeout = 100ms;
  Runtime runtime(options);
  Server server;
  Shard* shard_ptr = nullptr;
  Signal opened;
  server.on_open = [&](Server::Session&) {
    shard_ptr->hold();  // never released: a stuck session
    opened.notify();
  };
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    shard_ptr = &shard;
                    server.listen(shard, *listen_fd);
                  })
                  .has_value());
  const int client = blocking_connect(loopback(port));
  ASSERT_GE(client, 0);
  ASSERT_TRUE(opened.wait());
  const auto start = std::chrono::steady_clock::now();
  runtime.request_stop();
  runtime.wait();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ::close(client);
  ASSERT_EQ(server.closed_errors.size(), 1u);
  EXPECT_EQ(server.closed_errors[0], -ECONNABORTED);
  EXPECT_GE(elapsed, 100ms);
  EXPECT_LT(elapsed, 5s);
  EXPECT_EQ(server.open_sessions(), 0u);
}

}  // namespace
}  // namespace mta::engine
