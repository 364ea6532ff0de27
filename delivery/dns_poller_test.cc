// DnsPoller on a real shard against a real unbound on loopback: lookups complete through
// io_uring polls and the shard timer (including a timeout against a server that never
// answers), many lookups of one domain cost one query, close() leaves nothing in flight, and
// a shard stop with a query in flight ends cleanly.
#include "delivery/dns_poller.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dns/caching_resolver.h"
#include "dns/unbound_for_test.h"
#include "engine/runtime.h"
#include "engine/test_support.h"

namespace mta::delivery {
namespace {

using namespace std::chrono_literals;
using engine::testing::Signal;

constexpr const char* zone = R"(
  local-zone: "test." static
  local-data: "test. 3600 IN SOA ns.test. admin.test. 1 3600 600 86400 60"
  local-data: "shared.test. 300 IN MX 10 mx.shared.test."
  local-data: "mx.shared.test. 300 IN A 127.0.0.70"
  local-data: "mx.shared.test. 300 IN AAAA ::1"
)";

// A bound UDP socket that never reads: a DNS server that does not answer.
struct SilentServer {
  SilentServer() {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(addr);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length), 0);
    address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  }
  ~SilentServer() { ::close(fd); }
  int fd = -1;
  std::string address;
};

// What one shard owns for DNS: resolver, poller, cache; built and torn down on the shard.
struct ShardDns {
  std::unique_ptr<dns::AresResolver> ares;
  std::unique_ptr<DnsPoller> poller;
  std::unique_ptr<dns::CachingResolver> cache;

  bool open(engine::Shard& shard, const std::string& server, std::chrono::milliseconds timeout) {
    auto created = dns::AresResolver::create(dns::AresOptions{{server}, timeout, 1});
    if (!created) return false;
    ares = std::move(*created);
    poller = std::make_unique<DnsPoller>(shard, *ares);
    cache = std::make_unique<dns::CachingResolver>(*ares, shard.clock(), dns::CacheOptions{},
                                                   dns::MxOptions{}, dns::seeded_random(1));
    return true;
  }
  // close(), then free everything once the cancelled polls are back.
  void shut(engine::Shard& shard, std::function<void()> then) {
    poller->close();
    wait_idle(shard, std::move(then));
  }
  void wait_idle(engine::Shard& shard, std::function<void()> then) {
    if (!poller->idle()) {
      shard.schedule(1ms, [this, &shard, then = std::move(then)] { wait_idle(shard, then); });
      return;
    }
    cache.reset();
    poller.reset();
    ares.reset();
    then();
  }
};

TEST(DnsPoller, LookupsCompleteOnTheShardRing) {
  dns::testing::Unbound unbound;
  ASSERT_TRUE(unbound.start(zone));
  SilentServer silent;
  engine::Runtime runtime(engine::testing::test_options(1));
  ShardDns good;
  ShardDns dead;
  constexpr int lookups = 50;
  int delivered = 0;
  std::optional<dns::MxResult> missing;
  std::optional<dns::MxResult> timed_out;
  std::size_t watched_during = 0;
  bool opened = false;
  Signal done;
  ASSERT_TRUE(runtime
                  .start([&](engine::Shard& shard) {
                    opened = good.open(shard, unbound.server(), 1000ms) &&
                             dead.open(shard, silent.address, 150ms);
                    if (!opened) {
                      done.notify();
                      return;
                    }
                    const auto maybe_finish = [&, s = &shard] {
                      if (delivered < lookups || !missing || !timed_out) return;
                      good.shut(*s, [&, s] { dead.shut(*s, [&] { done.notify(); }); });
                    };
                    for (int i = 0; i < lookups; ++i) {
                      good.cache->resolve_mx("shared.test", [&, maybe_finish](dns::MxResult r) {
                        if (r.kind == dns::MxResult::deliver && r.hosts.size() == 1) ++delivered;
                        maybe_finish();
                      });
                    }
                    good.cache->resolve_mx("missing.test", [&, maybe_finish](dns::MxResult r) {
                      missing = std::move(r);
                      maybe_finish();
                    });
                    dead.cache->resolve_mx("shared.test", [&, maybe_finish](dns::MxResult r) {
                      timed_out = std::move(r);
                      maybe_finish();
                    });
                    watched_during = good.poller->sockets_watched();
                  })
                  .has_value());
  ASSERT_TRUE(done.wait());
  runtime.request_stop();
  runtime.wait();
  ASSERT_TRUE(opened);
  EXPECT_GE(watched_during, 1u);
  EXPECT_EQ(delivered, lookups);
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, "5.1.2");
  ASSERT_TRUE(timed_out.has_value());
  EXPECT_EQ(timed_out->kind, dns::MxResult::defer);
  EXPECT_EQ(timed_out->status, "4.4.3");
  EXPECT_EQ(unbound.query_count("shared.test", "MX"), 1u);
  EXPECT_EQ(unbound.query_count("mx.shared.test", "A"), 1u);
}

TEST(DnsPoller, ShardStopWithAQueryInFlightEndsCleanly) {
  SilentServer silent;
  engine::Runtime runtime(engine::testing::test_options(1));
  ShardDns dead;
  bool answered = false;
  Signal started;
  ASSERT_TRUE(runtime
                  .start([&](engine::Shard& shard) {
                    ASSERT_TRUE(dead.open(shard, silent.address, 10000ms));
                    dead.cache->resolve_mx("x.test", [&](dns::MxResult) { answered = true; });
                    started.notify();
                  })
                  .has_value());
  ASSERT_TRUE(started.wait());
  runtime.request_stop();  // the engine cancels the poll; the poller must not re-arm it
  runtime.wait();
  EXPECT_FALSE(answered);
  EXPECT_TRUE(dead.poller->idle());
  dead.poller.reset();
  dead.cache.reset();
  dead.ares.reset();  // drops the pending callback without calling it
  EXPECT_FALSE(answered);
}

}  // namespace
}  // namespace mta::delivery
