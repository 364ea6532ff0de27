// Benchmarks of the queue: envelope encode/decode (10 recipients) and RocksDbStore::put of a
// 4 KiB body, unsynced (the store's own cost) and synced (what a lone 250 waits for).
// RocksDB runs in a fresh temp dir under $TMPDIR or /tmp, removed afterwards.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "queue/envelope.h"
#include "queue/rocksdb_store.h"

namespace {

using mta::queue::Envelope;
using namespace std::chrono_literals;

Envelope bench_envelope(std::uint64_t id) {
  Envelope e;
  e.id = mta::MessageId(id);
  e.mail_from = "bounces+1234=example.com@outpost.example";
  e.received_at = mta::Clock::WallTime(1'700'000'000s);
  e.next_attempt_at = e.received_at + 5min;
  e.body_bytes = 4096;
  for (int i = 0; i < 10; ++i) {
    e.recipients.push_back(mta::queue::Recipient{
        std::string("recipient").append(std::to_string(i)).append("@example.com"),
        mta::queue::RecipientState::deferred, 1, "451 4.3.0 try again later"});
  }
  return e;
}

void BM_EncodeEnvelope(benchmark::State& state) {
  const Envelope e = bench_envelope(1);
  for (auto _ : state) benchmark::DoNotOptimize(mta::queue::encode_envelope(e));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeEnvelope);

void BM_DecodeEnvelope(benchmark::State& state) {
  const std::string bytes = mta::queue::encode_envelope(bench_envelope(1));
  for (auto _ : state) benchmark::DoNotOptimize(mta::queue::decode_envelope(bytes));
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
}
BENCHMARK(BM_DecodeEnvelope);

class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/outpost_queue_bench.XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

void BM_RocksDbPut4KiB(benchmark::State& state) {
  const bool sync = state.range(0) != 0;
  TempDir dir;
  auto store = mta::queue::RocksDbStore::open((dir.path() / "spool").string(),
                                              mta::queue::StoreOptions{.sync = sync});
  if (!store) {
    state.SkipWithError(store.error().message().c_str());
    return;
  }
  const std::string body(4096, 'x');
  Envelope e = bench_envelope(0);
  std::uint64_t id = 0;
  for (auto _ : state) {
    e.id = mta::MessageId(++id);
    if (!(*store)->put(e, body)) {
      state.SkipWithError("put failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_RocksDbPut4KiB)->ArgName("sync")->Arg(0);
// A synced put waits for an fsync; a few hundred are enough to see its latency.
BENCHMARK(BM_RocksDbPut4KiB)
    ->ArgName("sync")
    ->Arg(1)
    ->Iterations(300)
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
