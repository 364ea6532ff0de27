// Group commit on a real shard: batches gather while a write is in flight, respect the batch
// cap, and a failed write answers every message of its batch with the error and stores none.
#include "injection/committer.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <vector>

#include "engine/runtime.h"
#include "queue/failing_store_for_test.h"
#include "queue/memory_store.h"

namespace mta::injection {
namespace {

using namespace std::chrono_literals;

// Forwards to an inner store; write_batch records the batch size and, while the gate is
// closed, blocks (on the shard's worker thread) until the test opens it.
class GatedStore final : public queue::Store {
 public:
  explicit GatedStore(queue::Store& inner) : inner_(inner) {}

  void close_gate() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }
  void open_gate() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    changed_.notify_all();
  }
  // Waits until `count` writes have started.
  bool wait_for_writes(std::size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return batches_.size() >= count; });
  }
  std::vector<std::size_t> batches() {
    std::lock_guard lock(mutex_);
    return batches_;
  }

  Result<void> write_batch(std::span<const queue::MessageWrite> writes) override {
    std::unique_lock lock(mutex_);
    batches_.push_back(writes.size());
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    lock.unlock();
    return inner_.write_batch(writes);
  }
  Result<queue::Envelope> read_envelope(queue::PartKey key) override {
    return inner_.read_envelope(key);
  }
  Result<std::string> read_body(MessageId id) override { return inner_.read_body(id); }
  Result<void> update_envelope(const queue::Envelope& envelope) override {
    return inner_.update_envelope(envelope);
  }
  Result<void> remove_part(queue::PartKey key,
                           const queue::Envelope* final_state = nullptr) override {
    return inner_.remove_part(key, final_state);
  }
  Result<void> for_each_scheduled(const std::function<bool(queue::ScheduledItem&&)>& fn) override {
    return inner_.for_each_scheduled(fn);
  }
  Result<void> for_each_envelope_from(queue::PartKey from,
                                      const std::function<bool(queue::Envelope&&)>& fn) override {
    return inner_.for_each_envelope_from(from, fn);
  }
  Result<std::uint64_t> count() override { return inner_.count(); }
  Result<std::vector<queue::Envelope>> read_message(MessageId id) override {
    return inner_.read_message(id);
  }
  Result<std::vector<queue::Envelope>> read_history(MessageId id) override {
    return inner_.read_history(id);
  }
  Result<std::uint64_t> expire_history(MessageId before) override {
    return inner_.expire_history(before);
  }

 private:
  queue::Store& inner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::size_t> batches_;
  bool open_ = true;
};

queue::Envelope envelope(std::uint64_t id) {
  queue::Envelope e;
  e.id = MessageId(id);
  e.destination = "relay";
  e.recipients.push_back({.address = "r@example.net"});
  return e;
}

// Runs `body` on a one-shard runtime and waits for `results_expected` callbacks.
class CommitterTest : public ::testing::Test {
 protected:
  void run(queue::Store& store, CommitOptions options, std::size_t first_wave,
           std::size_t second_wave) {
    engine::Runtime runtime({.shard_count = 1, .pin_threads = false});
    std::unique_ptr<Committer> committer;
    std::promise<void> all_done;
    const std::size_t total = first_wave + second_wave;
    auto submit = [&](std::uint64_t id) {
      committer->submit({envelope(id)}, "body " + std::to_string(id),
                        [&, id](const Result<void>& result) {
                          results_.emplace_back(id, result.has_value());
                          if (results_.size() == total) all_done.set_value();
                        });
    };
    ASSERT_TRUE(runtime
                    .start([&](engine::Shard& shard) {
                      committer = std::make_unique<Committer>(shard, store, options);
                      for (std::size_t i = 0; i < first_wave; ++i) submit(i + 1);
                    })
                    .has_value());
    after_first_wave();
    ASSERT_TRUE(runtime.post_from_outside(ShardId(0), [&](engine::Shard&) {
      for (std::size_t i = 0; i < second_wave; ++i) submit(first_wave + i + 1);
    }));
    // Wait (without sleeping on a guess) until the second wave queues behind the write.
    for (int tries = 0; tries < 10'000; ++tries) {
      std::promise<std::size_t> waiting;
      auto got = waiting.get_future();
      ASSERT_TRUE(runtime.post_from_outside(
          ShardId(0), [&](engine::Shard&) { waiting.set_value(committer->waiting()); }));
      if (got.get() >= second_wave) break;
      std::this_thread::sleep_for(1ms);
    }
    before_wait();
    ASSERT_EQ(all_done.get_future().wait_for(10s), std::future_status::ready);
    ASSERT_TRUE(runtime.post_from_outside(ShardId(0), [&](engine::Shard&) { committer.reset(); }));
    runtime.request_stop();
    runtime.wait();
  }
  std::function<void()> after_first_wave = [] {};
  std::function<void()> before_wait = [] {};
  std::vector<std::pair<std::uint64_t, bool>> results_;  // shard thread until wait()
};

TEST_F(CommitterTest, BatchesGatherWhileAWriteIsInFlight) {
  queue::MemoryStore memory;
  GatedStore store(memory);
  store.close_gate();
  after_first_wave = [&] { ASSERT_TRUE(store.wait_for_writes(1)); };
  before_wait = [&] { store.open_gate(); };
  run(store, {}, 1, 10);
  EXPECT_EQ(store.batches(), (std::vector<std::size_t>{1, 10}));
  ASSERT_EQ(results_.size(), 11U);
  for (std::size_t i = 0; i < results_.size(); ++i) {
    EXPECT_EQ(results_[i].first, i + 1);  // answered in submission order
    EXPECT_TRUE(results_[i].second);
  }
  EXPECT_EQ(*memory.count(), 11U);
}

TEST_F(CommitterTest, BatchCapSplitsTheQueue) {
  queue::MemoryStore memory;
  GatedStore store(memory);
  store.close_gate();
  after_first_wave = [&] { ASSERT_TRUE(store.wait_for_writes(1)); };
  before_wait = [&] { store.open_gate(); };
  run(store, {.batch_messages_max = 4}, 1, 10);
  EXPECT_EQ(store.batches(), (std::vector<std::size_t>{1, 4, 4, 2}));
  EXPECT_EQ(*memory.count(), 11U);
}

TEST_F(CommitterTest, FailedBatchAnswersEveryMessageAndStoresNothing) {
  queue::MemoryStore memory;
  GatedStore gated(memory);
  queue::FailingStore_for_test store(gated);  // decides before the gate: batch 1 passes
  gated.close_gate();
  after_first_wave = [&] {
    ASSERT_TRUE(gated.wait_for_writes(1));
    store.fail_writes(1);  // the next batch, the ten, fails as a whole
  };
  before_wait = [&] { gated.open_gate(); };
  run(store, {}, 1, 10);
  EXPECT_EQ(gated.batches(), (std::vector<std::size_t>{1}));
  ASSERT_EQ(results_.size(), 11U);
  EXPECT_TRUE(results_[0].second);
  for (std::size_t i = 1; i < results_.size(); ++i) EXPECT_FALSE(results_[i].second);
  EXPECT_EQ(*memory.count(), 1U);
  EXPECT_FALSE(memory.read_envelope({.message = MessageId(2), .part = 0}).has_value());
}

}  // namespace
}  // namespace mta::injection
