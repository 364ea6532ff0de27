// Benchmarks of the queue: envelope encode/decode (10 recipients); RocksDbStore::put of a
// 4 KiB body, unsynced and synced; group commit (N messages in one synced write_batch) against
// one synced batch per message; reading bodies back from a 60,000-message backlog in SST
// files; and Schedule::pop_due from 1,000,000 entries, with the RSS
// those entries cost. RocksDB runs in a fresh temp dir under $TMPDIR or /tmp, removed after.
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "queue/envelope.h"
#include "queue/inflight_table.h"
#include "queue/rocksdb_store.h"
#include "queue/schedule.h"

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

// The crash-loop breaker's cost per delivery attempt: a mark before it and a clear after it,
// plain stores into the mapped <spool>/inflight file (no system call).
void BM_InFlightMarkAndClear(benchmark::State& state) {
  TempDir dir;
  auto table = mta::queue::InFlightTable::open((dir.path() / "inflight").string());
  if (!table) {
    state.SkipWithError(table.error().message().c_str());
    return;
  }
  const std::uint32_t slot = (*table)->acquire().value_or(0);
  std::uint64_t id = 0;
  for (auto _ : state) {
    (*table)->mark(slot, mta::queue::PartKey{mta::MessageId(++id), 0});
    (*table)->clear(slot);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_InFlightMarkAndClear);
// A synced put waits for an fsync; a few hundred are enough to see its latency.
BENCHMARK(BM_RocksDbPut4KiB)
    ->ArgName("sync")
    ->Arg(1)
    ->Iterations(300)
    ->Unit(benchmark::kMicrosecond);

// `batch` messages of one part and a 4 KiB body, with ids from `next_id` on.
std::vector<Envelope> one_part_messages(std::size_t batch, std::uint64_t& next_id) {
  std::vector<Envelope> envelopes;
  for (std::size_t i = 0; i < batch; ++i) {
    envelopes.push_back(bench_envelope(++next_id));
    envelopes.back().destination = "example.com";
  }
  return envelopes;
}

// Each iteration writes `batch` messages; `per_message` makes it one synced batch each
// instead of one for all. Items are messages, so the two read side by side as messages/s.
void write_messages(benchmark::State& state, std::size_t batch, bool per_message) {
  TempDir dir;
  auto store = mta::queue::RocksDbStore::open((dir.path() / "spool").string());
  if (!store) {
    state.SkipWithError(store.error().message().c_str());
    return;
  }
  const std::string body(4096, 'x');
  std::uint64_t next_id = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::vector<Envelope> envelopes = one_part_messages(batch, next_id);
    std::vector<mta::queue::MessageWrite> writes;
    for (const Envelope& e : envelopes) writes.push_back({{&e, 1}, body});
    state.ResumeTiming();
    bool ok = true;
    if (per_message) {
      for (const auto& write : writes) ok = ok && (*store)->write_batch({&write, 1}).has_value();
    } else {
      ok = (*store)->write_batch(writes).has_value();
    }
    if (!ok) {
      state.SkipWithError("write_batch failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(batch * body.size()));
}

void BM_GroupCommit(benchmark::State& state) {
  write_messages(state, static_cast<std::size_t>(state.range(0)), /*per_message=*/false);
}
// Real time: the cost is waiting for fsync, which CPU time does not see.
BENCHMARK(BM_GroupCommit)
    ->Arg(1)
    ->Arg(8)
    ->Arg(64)
    ->Arg(256)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

void BM_OneSyncPerMessage(benchmark::State& state) {
  write_messages(state, static_cast<std::size_t>(state.range(0)), /*per_message=*/true);
}
BENCHMARK(BM_OneSyncPerMessage)->Arg(8)->Arg(64)->UseRealTime()->Unit(benchmark::kMicrosecond);

// A backlog: `count` messages with distinct, compressible 4 KiB bodies (like newsletter text),
// written unsynced in batches of 256 and compacted into large SST files, as a bulk injection
// leaves them once delivery falls behind.
struct Backlog {
  static constexpr std::uint64_t count = 60'000;
  TempDir dir;
  std::unique_ptr<mta::queue::RocksDbStore> store;

  Backlog() {
    auto opened = mta::queue::RocksDbStore::open((dir.path() / "spool").string(),
                                                 mta::queue::StoreOptions{.sync = false});
    if (!opened) return;
    store = std::move(opened).value();
    std::uint64_t next_id = 0;
    while (next_id < count) {
      const std::vector<Envelope> envelopes = one_part_messages(256, next_id);
      std::vector<std::string> bodies;
      std::vector<mta::queue::MessageWrite> writes;
      bodies.reserve(envelopes.size());
      for (const Envelope& e : envelopes) {
        std::string body = "Subject: Hello reader " + std::to_string(e.id.value()) + "\r\n\r\n";
        while (body.size() < 4096) body += "Dear reader, here is this week's news. ";
        bodies.push_back(std::move(body));
        writes.push_back({{&e, 1}, bodies.back()});
      }
      if (!store->write_batch(writes)) {
        store.reset();
        return;
      }
    }
    if (!store->compact_for_test()) store.reset();
  }
};

// Reads the bodies of a backlog in id order, as delivery does once it falls behind a bulk
// injection: each read finds its body in an SST file, not the memtable. The cost to watch is
// per read, and it must not grow with the size of the files (index blocks must stay cached).
void BM_ReadBodyBacklog(benchmark::State& state) {
  static Backlog backlog;
  if (backlog.store == nullptr) {
    state.SkipWithError("filling the backlog failed");
    return;
  }
  std::uint64_t id = 0;
  for (auto _ : state) {
    id = id % Backlog::count + 1;
    auto body = backlog.store->read_body(mta::MessageId(id));
    if (!body) {
      state.SkipWithError(body.error().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(body->data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReadBodyBacklog)->Unit(benchmark::kMicrosecond);

// Resident set size from /proc/self/statm, in bytes.
std::int64_t rss_bytes() {
  long pages_total = 0;
  long pages_resident = 0;
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return 0;
  const int got = std::fscanf(statm, "%ld %ld", &pages_total, &pages_resident);
  std::fclose(statm);
  return got == 2 ? static_cast<std::int64_t>(pages_resident) * ::sysconf(_SC_PAGESIZE) : 0;
}

constexpr std::size_t schedule_entries = 1'000'000;

struct BigSchedule {
  mta::queue::Schedule schedule;
  std::int64_t rss_growth = 0;

  BigSchedule() {
    const std::int64_t before = rss_bytes();
    const mta::Clock::WallTime t0(1'700'000'000s);
    for (std::uint64_t i = 0; i < schedule_entries; ++i) {
      // Due times scattered over 1000 s, a part number now and then: a realistic queue.
      schedule.add(t0 + std::chrono::milliseconds(i * 7919 % schedule_entries),
                   mta::queue::PartKey{mta::MessageId(i), static_cast<std::uint32_t>(i % 3)});
    }
    rss_growth = rss_bytes() - before;
  }
};

// Pops the 100 earliest entries and adds them back 1000 s later: the owner shard's steady
// state (due parts go out, deferred ones come back) on a queue of a million parts.
void BM_SchedulePopDue(benchmark::State& state) {
  static BigSchedule big;
  std::vector<mta::queue::PartKey> due;
  due.reserve(100);
  for (auto _ : state) {
    due.clear();
    const mta::Clock::WallTime first = *big.schedule.next_due();
    if (big.schedule.pop_due(mta::Clock::WallTime::max(), 100, due) != 100) {
      state.SkipWithError("schedule ran dry");
      break;
    }
    for (const mta::queue::PartKey& key : due) big.schedule.add(first + 1000s, key);
  }
  state.SetItemsProcessed(state.iterations() * 100);
  state.counters["entries"] = static_cast<double>(big.schedule.size());
  state.counters["rss_MiB_for_1M"] = static_cast<double>(big.rss_growth) / (1 << 20);
  state.counters["rss_B_per_entry"] =
      static_cast<double>(big.rss_growth) / static_cast<double>(schedule_entries);
}
BENCHMARK(BM_SchedulePopDue);

}  // namespace

BENCHMARK_MAIN();
