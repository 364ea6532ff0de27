// Runtime: shard threads and their start-up handshake, CPU pinning, stop and signals.
#include "engine/runtime.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>

#include "engine/errc.h"

namespace mta::engine {

// Start-up handshake: every thread reports whether its ring exists, then waits for the
// verdict (all rings up: run; otherwise: exit without running init).
struct Runtime::StartGate {
  std::mutex mutex;
  std::condition_variable changed;
  std::uint32_t reported = 0;
  std::optional<Error> failure;
  bool decided = false;
  bool go = false;
};

namespace {

void pin_to_cpu(std::uint32_t shard_index) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return;
  const int count = CPU_COUNT(&allowed);
  if (count <= 0) return;
  int wanted = static_cast<int>(shard_index % static_cast<std::uint32_t>(count));
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    if (wanted-- == 0) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      (void)::pthread_setaffinity_np(::pthread_self(), sizeof(one), &one);  // best effort
      return;
    }
  }
}

}  // namespace

Runtime::Runtime(RuntimeOptions options) : options_(options) {
  if (options_.shard_count == 0) {
    options_.shard_count = std::max(1u, std::thread::hardware_concurrency());
  }
  Clock& clock = options_.clock != nullptr ? *options_.clock : real_clock_;
  shards_.reserve(options_.shard_count);
  for (std::uint32_t i = 0; i < options_.shard_count; ++i) {
    shards_.push_back(std::make_unique<Shard>(*this, ShardId(i), options_, clock));
  }
}

Runtime::~Runtime() {
  for (const std::thread& thread : threads_) MTA_ASSERT(!thread.joinable());
}

Shard& Runtime::shard(ShardId id) {
  MTA_ASSERT(id.value() < shards_.size());
  return *shards_[id.value()];
}

Result<void> Runtime::start(std::function<void(Shard&)> init) {
  if (started_) return unexpected(Errc::already_started);
  started_ = true;
  init_ = std::move(init);
  gate_ = std::make_unique<StartGate>();
  // Workers first, from this thread: they inherit its CPU mask and signal mask rather than
  // the pin of their shard, so blocking work does not compete with the loop for its core.
  for (auto& shard : shards_) shard->start_worker();
  threads_.reserve(shards_.size());
  for (auto& shard : shards_) {
    threads_.emplace_back([this, s = shard.get()] { shard_main(*s); });
  }
  std::unique_lock lock(gate_->mutex);
  gate_->changed.wait(lock, [this] { return gate_->reported == shards_.size(); });
  gate_->decided = true;
  gate_->go = !gate_->failure.has_value();
  gate_->changed.notify_all();
  if (gate_->go) return {};
  const Error failure = *gate_->failure;
  lock.unlock();
  wait();
  return unexpected(failure);
}

void Runtime::shard_main(Shard& shard) {
  if (options_.pin_threads) pin_to_cpu(shard.id().value());
  Result<void> ring = shard.setup_ring();
  {
    std::unique_lock lock(gate_->mutex);
    if (!ring && !gate_->failure) gate_->failure = ring.error();
    ++gate_->reported;
    gate_->changed.notify_all();
    gate_->changed.wait(lock, [this] { return gate_->decided; });
    if (!gate_->go) {
      lock.unlock();
      if (ring) {
        shard.teardown();
      } else {
        shard.stop_worker();
      }
      return;
    }
  }
  init_(shard);
  shard.run_loop();
  shard.teardown();
}

bool Runtime::post_from_outside(ShardId to, Shard::Message task) {
  return shard(to).post_from_outside(std::move(task));
}

void Runtime::request_stop() {
  for (auto& shard : shards_) shard->request_stop();
}

void Runtime::wait() {
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void Runtime::block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int Runtime::run_until_signal(const std::function<void()>& on_hangup) {
  block_stop_signals();
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  int signal_number = 0;
  while (::sigwait(&set, &signal_number) != 0 || signal_number == SIGHUP) {
    if (signal_number == SIGHUP && on_hangup) on_hangup();
    signal_number = 0;
  }
  request_stop();
  wait();
  return signal_number;
}

}  // namespace mta::engine
