// What the JSON delivery log costs per recipient outcome: formatting the line on the shard,
// appending it to the shard's channel, and the worker's batched write to a real file. And what
// the ready queue costs per part: push and pop among N tenants, one of them capped.
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "delivery/outcome.h"
#include "delivery/ready_queue.h"
#include "delivery/shaping.h"
#include "metrics/line_log.h"

namespace mta::delivery {
namespace {

struct Sample {
  Sample() {
    envelope.id = MessageId(0x0000019a2b3c4d5eULL);
    envelope.destination = "example.net";
    envelope.mail_from = "bounce+1a2b3c=rcpt=example.net@bounces.example.com";
    envelope.received_at = Clock::WallTime(std::chrono::seconds(1'800'000'000));
    envelope.recipients.push_back({.address = "someone.with.a.name@example.net",
                                   .state = queue::RecipientState::delivered,
                                   .attempts = 1,
                                   .last_reply = "250 2.0.0 Ok: queued as 4N2xYz1Q3kz9"});
  }
  queue::Envelope envelope;
  tls::Info info{.protocol = "TLSv1.3",
                 .cipher = "TLS_AES_256_GCM_SHA384",
                 .verified = true,
                 .verify_result = "ok",
                 .resumed = true,
                 .peer_name = "mx1.example.net"};
  Hop hop{.mx_host = "mx1.example.net", .address = "192.0.2.25:25", .tls = &info};
  RecipientOutcome outcome() const {
    return {.envelope = envelope,
            .recipient = envelope.recipients[0],
            .hop = &hop,
            .at = envelope.received_at + std::chrono::milliseconds(1234)};
  }
};

void BM_DeliveryLogLine(benchmark::State& state) {
  const Sample sample;
  const RecipientOutcome outcome = sample.outcome();
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string line = delivery_log_line(outcome);
    bytes += line.size();
    benchmark::DoNotOptimize(line);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_DeliveryLogLine);

// Format, append, and a write of the batch every 1000 lines (the worker's turn), to a file.
void BM_DeliveryLogLineAppendWrite(benchmark::State& state) {
  const Sample sample;
  const RecipientOutcome outcome = sample.outcome();
  char path[] = "/tmp/delivery_bench.XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd >= 0) ::close(fd);
  auto log = metrics::LineLog::open(path, 1);
  if (!log) {
    state.SkipWithError("cannot open the log file");
    return;
  }
  std::size_t n = 0;
  for (auto _ : state) {
    (void)(*log)->append(0, delivery_log_line(outcome));
    if (++n % 1000 == 0) (*log)->write_pending();
  }
  (*log)->write_pending();
  state.counters["written"] = static_cast<double>((*log)->lines_written());
  log->reset();
  std::remove(path);
}
BENCHMARK(BM_DeliveryLogLineAppendWrite);

// A backlog of 100,000 parts spread over state.range(0) tenants and one more that is capped
// (skipped by every pop, its parts pile up), bulk and transactional mixed: one pop and one
// push per iteration.
void BM_ReadyQueuePushPop(benchmark::State& state) {
  const auto tenants = static_cast<TenantIndex>(state.range(0));
  ReadyQueue queue;
  std::uint64_t next = 1;
  const auto make = [&] {
    const std::uint64_t id = next++;
    return ReadyPart{.key = {.message = MessageId(id), .part = 0},
                     .tenant = static_cast<TenantIndex>(2 + id % (tenants + 1)),
                     .traffic_class = id % 4 == 0 ? queue::TrafficClass::transactional
                                                  : queue::TrafficClass::bulk};
  };
  for (int i = 0; i < 100'000; ++i) queue.push(make());
  const auto eligible = [](TenantIndex tenant, PoolIndex) { return tenant != 2; };
  for (auto _ : state) {
    auto part = queue.pop(eligible);
    benchmark::DoNotOptimize(part);
    queue.push(make());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReadyQueuePushPop)->Arg(1)->Arg(10)->Arg(1000);

// A tenant cap's cost per message: the node-wide SharedRate (one CAS on an atomic word, taken
// by every shard) next to the per-shard TokenBucket it replaced; a rate high enough that every
// take succeeds. Threads: shards taking from the same cap at once.
void BM_SharedRateTake(benchmark::State& state) {
  static SharedRate rate(1e12, std::chrono::seconds(1));
  Clock::TimePoint now = std::chrono::steady_clock::now();
  for (auto _ : state) {
    now += std::chrono::nanoseconds(1);
    benchmark::DoNotOptimize(rate.take(now));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SharedRateTake)->Threads(1)->Threads(2);

void BM_TokenBucketTake(benchmark::State& state) {
  Clock::TimePoint now = std::chrono::steady_clock::now();
  TokenBucket bucket(1e12, std::chrono::seconds(1), now);
  for (auto _ : state) {
    now += std::chrono::nanoseconds(1);
    benchmark::DoNotOptimize(bucket.take(now));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TokenBucketTake);

}  // namespace
}  // namespace mta::delivery

BENCHMARK_MAIN();
