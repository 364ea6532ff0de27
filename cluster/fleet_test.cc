// Fleet mode's lease exchange against a real redis-server on loopback, started by the test.
#include "cluster/fleet.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

extern char** environ;

namespace mta::cluster {
namespace {

using namespace std::chrono_literals;

const char* const redis_binary = "/usr/bin/redis-server";

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  EXPECT_TRUE(bound);
  return bound ? ntohs(address.sin_port) : 0;
}

// A redis-server of the test's own, without persistence, ended by its pid.
class RedisServer {
 public:
  explicit RedisServer(std::uint16_t port) : port_(port) { start(); }
  ~RedisServer() { stop(); }
  void start() {
    const std::string port = std::to_string(port_);
    const char* argv[] = {redis_binary, "--port",    port.c_str(),   "--bind", "127.0.0.1",
                          "--save",     "",          "--appendonly", "no",     "--daemonize",
                          "no",         "--logfile", "/dev/null",    nullptr};
    ASSERT_EQ(posix_spawn(&pid_, redis_binary, nullptr, nullptr, const_cast<char**>(argv), environ),
              0);
    for (int i = 0; i < 500; ++i) {  // until it accepts
      if (RedisConnection::connect(endpoint(), 100ms)) return;
      std::this_thread::sleep_for(10ms);
    }
    FAIL() << "redis-server did not start";
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::uint16_t port_;
  pid_t pid_ = 0;
};

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(redis_binary)) GTEST_SKIP() << "no redis-server";
    redis_ = std::make_unique<RedisServer>(free_port());
  }
  FleetOptions options(std::string node) const {
    return FleetOptions{.redis = redis_->endpoint(),
                        .node = std::move(node),
                        .prefix = "test",
                        .lease_ttl = 400ms,
                        .timeout = 200ms};
  }
  // A shard's turn: its standing, and these claims in.
  static Standing turn(Fleet& fleet, std::uint32_t shard, std::vector<Claim> claims) {
    Standing seen;
    fleet.exchange(shard, [&](const Standing& standing) {
      seen = standing;
      return claims;
    });
    return seen;
  }
  // One shard's claim, synced, and the grant it got.
  static Grant claim(Fleet& fleet, std::uint64_t limit, std::uint64_t want, std::uint64_t held) {
    const Claim claim{.key = "mx:example", .limit = limit, .want = want, .held = held};
    turn(fleet, 0, {claim});
    fleet.sync();
    const Standing standing = turn(fleet, 0, {claim});
    EXPECT_TRUE(standing.connected);
    const auto found = standing.grants.find("mx:example");
    return found == standing.grants.end() ? Grant{.connections = 999, .holders = 0} : found->second;
  }
  std::unique_ptr<RedisServer> redis_;
};

TEST_F(FleetTest, TwoNodesNeverHoldMoreThanTheLimitBetweenThem) {
  Fleet a(options("a"), 1);
  Fleet b(options("b"), 1);
  EXPECT_EQ(claim(a, 4, 8, 0).connections, 4u);  // alone: all of it
  EXPECT_EQ(claim(b, 4, 8, 0).connections, 0u);  // a holds all four
  const Grant shrunk = claim(a, 4, 8, 4);        // b wants some: a's fair share
  EXPECT_EQ(shrunk.connections, 2u);
  EXPECT_EQ(shrunk.holders, 2u);
  EXPECT_EQ(claim(b, 4, 8, 0).connections, 0u);  // a still has four open
  EXPECT_EQ(claim(a, 4, 8, 2).connections, 2u);  // closed down to its grant
  const Grant grown = claim(b, 4, 8, 0);
  EXPECT_EQ(grown.connections, 2u);
  EXPECT_EQ(grown.holders, 2u);
  EXPECT_EQ(claim(a, 4, 1, 1).connections, 1u);  // a wants less: b may grow into it...
  EXPECT_EQ(claim(b, 4, 8, 2).connections, 2u);  // ... once a is known to use the smaller one
  EXPECT_EQ(claim(a, 4, 1, 1).connections, 1u);
  EXPECT_EQ(claim(b, 4, 8, 2).connections, 3u);
  EXPECT_EQ(claim(a, 4, 0, 0).holders, 2u);  // a is done, but may use its grant until it hears
  EXPECT_EQ(claim(a, 4, 0, 0).holders, 1u);  // now only b shares the rates
  EXPECT_EQ(claim(b, 4, 8, 3).connections, 4u);
}

TEST_F(FleetTest, ADeadNodesLeaseEnds) {
  Fleet b(options("b"), 1);
  {
    Fleet a(options("a"), 1);
    EXPECT_EQ(claim(a, 3, 3, 3).connections, 3u);
    EXPECT_EQ(claim(b, 3, 3, 0).connections, 0u);
  }                                    // a stops exchanging
  std::this_thread::sleep_for(500ms);  // past its lease
  EXPECT_EQ(claim(b, 3, 3, 0).connections, 3u);
  EXPECT_EQ(b.counters().nodes, 1u);
}

TEST_F(FleetTest, NoLimitGrantsWhatIsWanted) {
  Fleet a(options("a"), 2);
  EXPECT_EQ(claim(a, Claim::unlimited, 50, 0).connections, 50u);
}

TEST_F(FleetTest, ShardsAreHoldersOfTheirOwn) {
  Fleet a(options("a"), 2);
  turn(a, 0, {Claim{.key = "relay", .limit = 5, .want = 5}});
  turn(a, 1, {Claim{.key = "relay", .limit = 5, .want = 5}});
  a.sync();  // shard 0 first: all five; shard 1: nothing left yet
  a.sync();  // shard 0 down to its share (2: the remainder goes last in name order)...
  turn(a, 0, {Claim{.key = "relay", .limit = 5, .want = 5, .held = 2}});
  a.sync();  // ... and having closed to 2, shard 1 gets the other 3
  const Standing zero = turn(a, 0, {});
  const Standing one = turn(a, 1, {});
  EXPECT_EQ(zero.grants.at("relay").connections, 2u);
  EXPECT_EQ(one.grants.at("relay").connections, 3u);
  EXPECT_EQ(one.grants.at("relay").holders, 2u);
  EXPECT_EQ(a.counters().nodes, 1u);
}

TEST_F(FleetTest, AnOutageIsReportedAndEnds) {
  Fleet a(options("a"), 1);
  EXPECT_EQ(claim(a, 4, 2, 0).connections, 2u);
  redis_->stop();
  a.sync();
  Standing standing = turn(a, 0, {});
  EXPECT_FALSE(standing.connected);
  EXPECT_EQ(standing.nodes, 1u);
  a.sync();  // still down: one outage
  EXPECT_EQ(a.counters().outages, 1u);
  EXPECT_EQ(a.counters().failures, 2u);
  redis_->start();
  a.sync();
  EXPECT_TRUE(turn(a, 0, {}).connected);
  EXPECT_EQ(a.counters().outages, 1u);
}

TEST_F(FleetTest, UnreachableFromTheStartUsesTheExpectedSize) {
  FleetOptions unreachable = options("a");
  unreachable.redis = "127.0.0.1:1";
  unreachable.nodes_expected = 3;
  Fleet a(unreachable, 1);
  a.sync();
  const Standing standing = turn(a, 0, {});
  EXPECT_FALSE(standing.connected);
  EXPECT_EQ(standing.nodes, 3u);
  EXPECT_EQ(a.counters().outages, 1u);
}

TEST_F(FleetTest, AScriptFlushIsLoadedAgain) {
  Fleet a(options("a"), 1);
  EXPECT_EQ(claim(a, 4, 2, 0).connections, 2u);
  auto admin = RedisConnection::connect(redis_->endpoint(), 200ms);
  ASSERT_TRUE(admin);
  ASSERT_TRUE(admin.value().command({"SCRIPT", "FLUSH"}));
  EXPECT_EQ(claim(a, 4, 3, 2).connections, 3u);
  EXPECT_EQ(a.counters().failures, 0u);
}

TEST_F(FleetTest, DailyCountsAreTheFleetsAndOutliveARestart) {
  struct Node {
    std::uint64_t count = 0;
    std::int64_t day = 0;
    DailyCount daily() {
      return DailyCount{.key = "warmup:192.0.2.1",
                        .local = [this](std::int64_t d) { return (day = d, count); },
                        .add = [this](std::int64_t, std::uint64_t more) { count += more; }};
    }
  };
  Node one, two;
  Fleet a(options("a"), 1);
  Fleet b(options("b"), 1);
  a.add_daily_count(one.daily());
  b.add_daily_count(two.daily());
  one.count = 5;
  a.sync();
  two.count = 3;
  b.sync();
  EXPECT_EQ(two.count, 8u);  // a's five as well
  a.sync();
  EXPECT_EQ(one.count, 8u);
  one.count += 1;
  a.sync();
  b.sync();
  EXPECT_EQ(one.count, 9u);
  EXPECT_EQ(two.count, 9u);
  // A node that starts again starts from the fleet's count, not from zero.
  Node again;
  Fleet restarted(options("a"), 1);
  restarted.add_daily_count(again.daily());
  restarted.sync();
  EXPECT_EQ(again.count, 9u);
  auto admin = RedisConnection::connect(redis_->endpoint(), 200ms);
  ASSERT_TRUE(admin);
  auto stored =
      admin.value().command({"GET", "test:daily:warmup:192.0.2.1:" + std::to_string(again.day)});
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored.value().string, "9");
}

TEST(RedisConnection, RefusesABadEndpoint) {
  EXPECT_FALSE(RedisConnection::connect("127.0.0.1:notaport", 100ms));
  EXPECT_FALSE(RedisConnection::connect(":6379", 100ms));
}

}  // namespace
}  // namespace mta::cluster
