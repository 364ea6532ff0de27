// The listener limits layer: PeerCounts (the cap per address, tickets given back from any
// thread, IPv4-mapped and IPv6 /64 keys), admit()'s verdicts, Deadlines on a real shard
// (the first command, a trickle that cannot extend its line, the session maximum), and
// Connection's write timeout against a loopback peer that never reads.
#include "engine/limits.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/connection.h"
#include "engine/listener.h"
#include "engine/runtime.h"
#include "engine/test_support.h"

namespace mta::engine {
namespace {

using namespace std::chrono_literals;
using testing::blocking_connect;
using testing::loopback;
using testing::Signal;
using testing::test_options;

SocketAddress address(std::string_view text) { return SocketAddress::parse(text).value(); }

TEST(PeerCounts, CapsEachAddressAndGivesPlacesBack) {
  PeerCounts counts(2);
  std::vector<PeerCounts::Ticket> held;
  for (int i = 0; i < 2; ++i) {
    auto ticket = counts.acquire(address("127.0.0.2:1000"));
    ASSERT_TRUE(ticket.has_value());
    held.push_back(std::move(*ticket));
  }
  EXPECT_FALSE(counts.acquire(address("127.0.0.2:1001")).has_value());  // the port is no escape
  auto other = counts.acquire(address("127.0.0.3:1000"));
  EXPECT_TRUE(other.has_value());
  EXPECT_EQ(counts.open(address("127.0.0.2:1")), 2U);
  EXPECT_EQ(counts.peers(), 2U);
  held.pop_back();  // one closes: room for one more
  EXPECT_EQ(counts.open(address("127.0.0.2:1")), 1U);
  EXPECT_TRUE(counts.acquire(address("127.0.0.2:1002")).has_value());  // given back at once
  held.clear();
  other.reset();
  EXPECT_EQ(counts.peers(), 0U);  // nothing kept for addresses with no connection
}

TEST(PeerCounts, KeysMappedAddressesAndIpv6Prefixes) {
  struct Case {
    std::string_view a;
    std::string_view b;
    bool same;
  };
  const Case cases[] = {
      {"192.0.2.1:1", "[::ffff:192.0.2.1]:2", true},
      {"192.0.2.1:1", "192.0.2.2:1", false},
      {"[2001:db8:1:2::1]:1", "[2001:db8:1:2:ffff::9]:1", true},  // one /64
      {"[2001:db8:1:2::1]:1", "[2001:db8:1:3::1]:1", false},
      {"[::ffff:192.0.2.1]:1", "[::ffff:192.0.2.2]:1", false},  // mapped: by address
  };
  for (const Case& c : cases) {
    EXPECT_EQ(PeerCounts::key_of(address(c.a)) == PeerCounts::key_of(address(c.b)), c.same)
        << c.a << " vs " << c.b;
  }
}

TEST(PeerCounts, ZeroMeansNoCap) {
  PeerCounts counts(0);
  std::vector<PeerCounts::Ticket> held;
  held.reserve(500);
  for (int i = 0; i < 500; ++i) held.push_back(*counts.acquire(address("127.0.0.2:1")));
  EXPECT_EQ(counts.open(address("127.0.0.2:1")), 500U);
}

// Shards take and give back places at once: the count stays exact and never passes the cap.
TEST(PeerCounts, ThreadsShareOneCount) {
  PeerCounts counts(8);
  std::atomic<int> over{0};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&counts, &over] {
      for (int i = 0; i < 20'000; ++i) {
        auto ticket = counts.acquire(address("127.0.0.9:1"));
        if (ticket && counts.open(address("127.0.0.9:1")) > 8) ++over;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(over.load(), 0);
  EXPECT_EQ(counts.peers(), 0U);
}

TEST(Admission, VerdictsInOrder) {
  ListenerLimits limits{.connections_max = 3, .connections_per_ip = 1};
  PeerCounts counts(limits.connections_per_ip);
  const SocketAddress peer = address("127.0.0.2:1");
  EXPECT_EQ(admit(limits, &counts, peer, 0, true).verdict, Admission::Verdict::stopping);
  EXPECT_EQ(admit(limits, &counts, peer, 3, false).verdict, Admission::Verdict::listener_full);
  Admission first = admit(limits, &counts, peer, 0, false);
  EXPECT_TRUE(first.admitted());
  EXPECT_EQ(admit(limits, &counts, peer, 1, false).verdict, Admission::Verdict::peer_full);
  EXPECT_TRUE(admit(limits, nullptr, peer, 1, false).admitted());  // no table: no address cap
}

// At the listener's cap the oldest connection still in its first command makes room; one past
// its first command is never evicted, and past 5/4 of the cap (evicted ones still closing)
// nothing is.
TEST(Admission, FullListenerEvictsTheOldestStillInItsFirstCommand) {
  Signal done;
  std::vector<int> evicted;
  bool full_without_waiting = false;
  bool full_past_slack = false;
  bool admitted_by_eviction = false;
  Runtime runtime(test_options(1));
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    const ListenerLimits limits{.connections_max = 4, .connections_per_ip = 0};
                    auto queue = std::make_shared<FirstCommandQueue>();
                    auto held = std::make_shared<std::vector<std::unique_ptr<Deadlines>>>();
                    for (int i = 0; i < 4; ++i) {
                      held->push_back(std::make_unique<Deadlines>(
                          shard, limits,
                          [&evicted, i](Deadlines::Kind kind) {
                            if (kind == Deadlines::Kind::evicted) evicted.push_back(i);
                          },
                          queue.get()));
                    }
                    (*held)[0]->on_lines("EHLO x\r\n");  // past its first command
                    const SocketAddress peer = address("127.0.0.2:1");
                    admitted_by_eviction = admit(limits, nullptr, peer, 4, false, queue.get())
                                               .admitted();  // evicts #1, not #0
                    full_past_slack =
                        !admit(limits, nullptr, peer, 5, false, queue.get()).admitted();
                    (*held)[2]->on_lines("a");  // a partial line: still its first command
                    full_without_waiting =
                        !admit(limits, nullptr, peer, 4, false, nullptr).admitted();
                    EXPECT_TRUE(admit(limits, nullptr, peer, 4, false, queue.get()).admitted());
                    EXPECT_TRUE(admit(limits, nullptr, peer, 4, false, queue.get()).admitted());
                    EXPECT_FALSE(admit(limits, nullptr, peer, 4, false, queue.get()).admitted());
                    EXPECT_EQ(queue->size(), 0U);
                    held->clear();
                    done.notify();
                  })
                  .has_value());
  ASSERT_TRUE(done.wait());
  runtime.request_stop();
  runtime.wait();
  EXPECT_TRUE(admitted_by_eviction);
  EXPECT_TRUE(full_without_waiting);
  EXPECT_TRUE(full_past_slack);
  EXPECT_EQ(evicted, (std::vector<int>{1, 2, 3}));
}

// Runs `body` on a one-shard runtime and waits for `done`.
template <typename Body>
void on_shard(Body body, Signal& done) {
  Runtime runtime(test_options(1));
  ASSERT_TRUE(runtime.start([&](Shard& shard) { body(shard); }).has_value());
  EXPECT_TRUE(done.wait());
  runtime.request_stop();
  runtime.wait();
}

TEST(Deadlines, FirstCommandMustComeInTime) {
  Signal done;
  std::optional<Deadlines::Kind> expired;
  std::unique_ptr<Deadlines> deadlines;
  on_shard(
      [&](Shard& shard) {
        deadlines = std::make_unique<Deadlines>(
            shard, ListenerLimits{.command_timeout = 50ms, .session_max = 0s},
            [&](Deadlines::Kind kind) {
              expired = kind;
              shard.defer([&] {
                deadlines.reset();  // on its shard, before the runtime goes
                done.notify();
              });
            });
      },
      done);
  ASSERT_TRUE(expired.has_value());
  EXPECT_EQ(*expired, Deadlines::Kind::command);
}

// One byte of a line every 10 ms: the line's deadline runs from its first byte, so it passes
// while bytes are still coming. Complete lines in between reset it.
TEST(Deadlines, TricklingDoesNotExtendALine) {
  Signal done;
  std::optional<Deadlines::Kind> expired;
  int bytes_sent = 0;
  std::unique_ptr<Deadlines> deadlines;
  std::function<void(Shard&)> trickle;
  on_shard(
      [&](Shard& shard) {
        deadlines = std::make_unique<Deadlines>(
            shard, ListenerLimits{.command_timeout = 100ms, .session_max = 0s},
            [&](Deadlines::Kind kind) {
              expired = kind;
              shard.defer([&] {
                deadlines.reset();  // on its shard, before the runtime goes
                done.notify();
              });
            });
        deadlines->on_lines("EHLO x\r\nNO");  // a full line, then the next one begins
        trickle = [&](Shard& s) {
          if (expired || bytes_sent > 1000) return;
          deadlines->on_lines("O");
          ++bytes_sent;
          s.schedule(10ms, [&] { trickle(s); });
        };
        trickle(shard);
      },
      done);
  ASSERT_TRUE(expired.has_value());
  EXPECT_EQ(*expired, Deadlines::Kind::command);
  EXPECT_LT(bytes_sent, 1000);  // cut while trickling, long before the trickle ended
}

TEST(Deadlines, CompleteLinesKeepTheCommandDeadlineAway) {
  Signal done;
  std::optional<Deadlines::Kind> expired;
  int lines = 0;
  std::unique_ptr<Deadlines> deadlines;
  std::function<void(Shard&)> talk;
  on_shard(
      [&](Shard& shard) {
        // The session maximum ends it: the command deadline never fired in between.
        deadlines = std::make_unique<Deadlines>(
            shard, ListenerLimits{.command_timeout = 100ms, .session_max = 400ms},
            [&](Deadlines::Kind kind) {
              expired = kind;
              shard.defer([&] {
                deadlines.reset();  // on its shard, before the runtime goes
                done.notify();
              });
            });
        talk = [&](Shard& s) {
          if (expired) return;
          deadlines->on_lines("NOOP\r\n");
          ++lines;
          s.schedule(20ms, [&] { talk(s); });
        };
        talk(shard);
      },
      done);
  ASSERT_TRUE(expired.has_value());
  EXPECT_EQ(*expired, Deadlines::Kind::session);
  EXPECT_GT(lines, 3);
}

// A peer that never reads: the server's output fills the socket buffers, the send stays in
// flight, and the write timeout ends the connection although reading is paused.
TEST(Connection, WriteTimeoutDropsAPeerThatDoesNotRead) {
  auto listen_fd = open_listen_socket(loopback(0));
  ASSERT_TRUE(listen_fd.has_value());
  const std::uint16_t port = local_address(*listen_fd)->port();

  struct Session : ConnectionHandler {
    Signal* done = nullptr;
    int error = 1;
    void on_data(Buffer& input) override { input.consume(input.size()); }
    void on_closed(int e) override {
      error = e;
      done->notify();
    }
  };
  Signal done;
  Session session;
  session.done = &done;
  Runtime runtime(test_options(1));
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    shard.listen(*listen_fd, [&](int fd, const SocketAddress&) {
                      Connection& connection = Connection::adopt(shard, fd, session);
                      connection.set_write_timeout(200ms);
                      connection.pause_reading();  // the idle timer would not run either
                      connection.set_idle_timeout(100ms);
                      connection.write(std::string(32 * 1024 * 1024, 'x'));
                    });
                  })
                  .has_value());
  const int client = blocking_connect(loopback(port));
  ASSERT_GE(client, 0);
  EXPECT_TRUE(done.wait());
  ::close(client);
  runtime.request_stop();
  runtime.wait();
  EXPECT_EQ(session.error, -ETIMEDOUT);
}

}  // namespace
}  // namespace mta::engine
