// dns benchmarks: a cached MX lookup (the per-message cost once a domain is known) and the
// ordering of a five-host MX answer (plan, addresses, equal-preference shuffle). No I/O.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "base/clock.h"
#include "dns/caching_resolver.h"
#include "dns/fake_resolver.h"
#include "dns/mx.h"

namespace {

using namespace std::chrono_literals;
using namespace mta::dns;

void BM_CachedMxLookup(benchmark::State& state) {
  mta::ManualClock clock;
  FakeResolver fake;
  fake.set_mx("example.test", {{"mx1.example.test", 10}, {"mx2.example.test", 10}}, 3600s);
  fake.set_addresses("mx1.example.test", {{Family::ipv4, "192.0.2.1"}}, 3600s);
  fake.set_addresses("mx2.example.test", {{Family::ipv4, "192.0.2.2"}}, 3600s);
  CachingResolver resolver(fake, clock, CacheOptions{}, MxOptions{}, seeded_random(1));
  std::size_t hosts = 0;
  resolver.resolve_mx("example.test", [&hosts](MxResult r) { hosts = r.hosts.size(); });
  for (auto _ : state) {
    resolver.resolve_mx("example.test", [&hosts](MxResult r) { hosts += r.hosts.size(); });
  }
  benchmark::DoNotOptimize(hosts);
  if (fake.queries() != 3) state.SkipWithError("cache missed");
}
BENCHMARK(BM_CachedMxLookup);

void BM_OrderFiveHostAnswer(benchmark::State& state) {
  const MxAnswer answer{QueryStatus::ok,
                        {{"mx3.example.test", 20},
                         {"mx1.example.test", 10},
                         {"mx2.example.test", 10},
                         {"mx4.example.test", 20},
                         {"mx5.example.test", 30}},
                        300s,
                        {}};
  std::vector<AddressAnswer> addresses;
  for (int i = 0; i < 5; ++i) {
    addresses.push_back(AddressAnswer{QueryStatus::ok,
                                      {{Family::ipv6, "2001:db8::" + std::to_string(i)},
                                       {Family::ipv4, "192.0.2." + std::to_string(i)}},
                                      300s,
                                      {}});
  }
  const MxOptions options;
  const RandomBelow random = seeded_random(1);
  for (auto _ : state) {
    const MxPlan plan = plan_mx("example.test", answer, options);
    MxResult result = finish_mx(plan, addresses, options);
    shuffle_equal_preference(result.hosts, random);
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_OrderFiveHostAnswer);

}  // namespace

BENCHMARK_MAIN();
