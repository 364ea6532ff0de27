// The shard loop: io_uring submission with an in-flight cap, completion dispatch by slot and
// generation, the timer heap, deferred tasks, cross-shard messages, the blocking worker
// behind offload(), and the drain at stop.
#include "engine/shard.h"

#include <liburing.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "engine/connection.h"
#include "engine/errc.h"
#include "engine/listener.h"
#include "engine/runtime.h"

namespace mta::engine {
namespace {

// user_data of cancel requests; their completions carry no information we need. Distinct
// from liburing's internal LIBURING_UDATA_TIMEOUT (all ones).
constexpr std::uint64_t kCancelTag = ~std::uint64_t{0} - 1;

std::uint64_t pack(std::uint32_t index, std::uint32_t generation) {
  return (static_cast<std::uint64_t>(generation) << 32) | index;
}

bool timer_later(const auto& a, const auto& b) {
  return a.deadline != b.deadline ? a.deadline > b.deadline : a.id > b.id;
}

}  // namespace

Shard::Shard(Runtime& runtime, ShardId id, const RuntimeOptions& options, Clock& clock)
    : runtime_(runtime),
      id_(id),
      clock_(clock),
      ring_entries_(options.ring_entries),
      drain_timeout_(options.drain_timeout),
      wake_op_([this](int result) { on_wake_done(result); }),
      outside_capacity_(options.channel_capacity) {
  // The eventfd exists before the thread does, so post_from_outside() can be used before
  // start(), and stays open until the Runtime is destroyed, so a late wake() never writes
  // to a recycled descriptor.
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  inbound_.reserve(options.shard_count);
  for (std::uint32_t from = 0; from < options.shard_count; ++from) {
    inbound_.push_back(std::make_unique<SpscChannel<Message>>(options.channel_capacity));
  }
}

Shard::~Shard() {
  MTA_ASSERT(ring_ == nullptr);
  stop_worker();  // normally joined by teardown(); not when this shard's ring never existed
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

// ---- ring set-up and teardown ----

Result<void> Shard::setup_ring() {
  if (wake_fd_ < 0) {
    return unexpected(Errc::ring_setup_failed, "eventfd failed");
  }
  ring_ = std::make_unique<io_uring>();
  // Newest flags first; an older kernel answers EINVAL and gets the next set.
  const unsigned flag_sets[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
      IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
      0,
  };
  int rc = -EINVAL;
  io_uring_params params{};
  for (const unsigned flags : flag_sets) {
    params = io_uring_params{};
    params.flags = flags;
    rc = io_uring_queue_init_params(ring_entries_, ring_.get(), &params);
    if (rc != -EINVAL) break;
  }
  if (rc < 0) {
    ring_.reset();
    return unexpected(Errc::ring_setup_failed,
                      "shard " + std::to_string(id_.value()) + ": " + std::strerror(-rc));
  }
  kernel_ops_max_ = std::max<std::size_t>(1, params.cq_entries / 2);
  slots_.resize(kernel_ops_max_);
  free_slots_.reserve(kernel_ops_max_);
  for (std::size_t i = kernel_ops_max_; i > 0; --i) {
    free_slots_.push_back(static_cast<std::uint32_t>(i - 1));
  }
  reaped_.reserve(params.cq_entries);
  return {};
}

void Shard::teardown() {
  // Nothing may be left in the kernel: its buffers belong to objects about to go away. Nor
  // on the worker: a `done` still to run may own what the work writes to. The loop only
  // exits with no offload in flight, but a callback run here may still offload.
  exiting_ = true;
  if (wake_op_.in_flight()) cancel(wake_op_);
  while (kernel_ops_ + kernel_cancels_ > 0 || !local_completions_.empty() ||
         !offload_done_.empty() || !deferred_.empty()) {
    if (kernel_ops_ + kernel_cancels_ > 0) {
      io_uring_submit_and_wait(ring_.get(), 1);
    } else if (local_completions_.empty() && deferred_.empty() && !offloads_finished_unseen()) {
      // Only offloads are left and the eventfd is no longer read: block on the counter.
      offloads_finished_.wait(offloads_done_ran_, std::memory_order_seq_cst);
    }
    reap_completions();
    run_local_completions();
    run_finished_offloads();
    run_deferred();
  }
  free_closed_connections();
  stop_worker();
  connections_.clear();
  owned_listeners_.clear();
  timer_heap_.clear();
  timer_tasks_.clear();
  stop_hooks_.clear();
  io_uring_queue_exit(ring_.get());
  ring_.reset();
}

// ---- operations ----

void Shard::submit(Op& op) {
  MTA_ASSERT(ring_ != nullptr);
  MTA_ASSERT(!op.in_flight_);
  MTA_ASSERT(op.kind_ != Op::Kind::none);
  op.in_flight_ = true;
  op.queued_ = false;
  op.cancel_requested_ = false;
  if (refusing_ops_ && &op != &wake_op_) {
    op.queued_ = true;
    op.cancel_requested_ = true;
    local_completions_.emplace_back(&op, -ECANCELED);
    return;
  }
  if (kernel_ops_ >= kernel_ops_max_ || !waiting_ops_.empty()) {
    op.queued_ = true;
    waiting_ops_.push_back(&op);
    return;
  }
  start_op(op);
}

void Shard::cancel(Op& op) {
  if (!op.in_flight_ || op.cancel_requested_) return;
  op.cancel_requested_ = true;
  if (op.queued_) {
    const auto it = std::find(waiting_ops_.begin(), waiting_ops_.end(), &op);
    MTA_ASSERT(it != waiting_ops_.end());
    waiting_ops_.erase(it);
    local_completions_.emplace_back(&op, -ECANCELED);
    return;
  }
  io_uring_sqe* sqe = nullptr;
  while ((sqe = io_uring_get_sqe(ring_.get())) == nullptr) {
    io_uring_submit(ring_.get());  // a full SQ means submit, then retry
  }
  io_uring_prep_cancel64(sqe, op.user_data_, 0);
  io_uring_sqe_set_data64(sqe, kCancelTag);
  ++kernel_cancels_;
}

void Shard::start_op(Op& op) {
  MTA_ASSERT(!free_slots_.empty());
  const std::uint32_t index = free_slots_.back();
  free_slots_.pop_back();
  Slot& slot = slots_[index];
  MTA_ASSERT(slot.op == nullptr);
  slot.op = &op;
  op.user_data_ = pack(index, slot.generation);

  io_uring_sqe* sqe = nullptr;
  while ((sqe = io_uring_get_sqe(ring_.get())) == nullptr) {
    io_uring_submit(ring_.get());
  }
  switch (op.kind_) {
    case Op::Kind::recv:
      io_uring_prep_recv(sqe, op.fd_, op.data_, op.length_, 0);
      break;
    case Op::Kind::send:
      io_uring_prep_send(sqe, op.fd_, op.data_, op.length_, MSG_NOSIGNAL);
      break;
    case Op::Kind::read:
      io_uring_prep_read(sqe, op.fd_, op.data_, static_cast<unsigned>(op.length_), 0);
      break;
    case Op::Kind::accept:
      io_uring_prep_accept(sqe, op.fd_, static_cast<sockaddr*>(op.data_), op.address_length_,
                           SOCK_CLOEXEC);
      break;
    case Op::Kind::connect:
      io_uring_prep_connect(sqe, op.fd_, static_cast<const sockaddr*>(op.data_),
                            static_cast<socklen_t>(op.length_));
      break;
    case Op::Kind::poll:
      io_uring_prep_poll_add(sqe, op.fd_, static_cast<unsigned>(op.length_));
      break;
    case Op::Kind::none:
      MTA_ASSERT(false);
  }
  io_uring_sqe_set_data64(sqe, op.user_data_);
  ++kernel_ops_;
}

void Shard::promote_waiting_ops() {
  while (!waiting_ops_.empty() && kernel_ops_ < kernel_ops_max_) {
    Op* op = waiting_ops_.front();
    waiting_ops_.pop_front();
    op->queued_ = false;
    start_op(*op);
  }
}

void Shard::complete(Op& op, int result) {
  op.in_flight_ = false;
  op.queued_ = false;
  op.on_complete_(result);
}

void Shard::reap_completions() {
  // Copy out first: callbacks may submit and even wait, which must not see a half-consumed CQ.
  reaped_.clear();
  unsigned head = 0;
  unsigned seen = 0;
  io_uring_cqe* cqe = nullptr;
  io_uring_for_each_cqe(ring_.get(), head, cqe) {
    reaped_.emplace_back(cqe->user_data, cqe->res);
    ++seen;
  }
  io_uring_cq_advance(ring_.get(), seen);

  for (const auto& [user_data, result] : reaped_) {
    if (user_data == kCancelTag) {
      --kernel_cancels_;
      continue;
    }
    const auto index = static_cast<std::uint32_t>(user_data);
    const auto generation = static_cast<std::uint32_t>(user_data >> 32);
    if (index >= slots_.size()) continue;
    Slot& slot = slots_[index];
    // A stale completion cannot hit a reused slot: the generation would differ.
    if (slot.op == nullptr || slot.generation != generation) continue;
    Op* op = slot.op;
    slot.op = nullptr;
    ++slot.generation;
    free_slots_.push_back(index);
    --kernel_ops_;
    complete(*op, result);
  }
  promote_waiting_ops();
}

void Shard::run_local_completions() {
  // Only those present now: a callback that resubmits (and is refused again) waits a turn.
  for (std::size_t n = local_completions_.size(); n > 0 && !local_completions_.empty(); --n) {
    const auto [op, result] = local_completions_.front();
    local_completions_.pop_front();
    complete(*op, result);
  }
}

std::size_t Shard::ops_in_flight() const {
  std::size_t count =
      kernel_ops_ + kernel_cancels_ + waiting_ops_.size() + local_completions_.size();
  if (wake_op_.in_flight()) --count;
  return count;
}

// ---- wake-up ----

void Shard::wake() {
  // Pairs with the fence in on_wake_done(): either we see false and write, or the shard
  // resets the flag after our push and then drains its channels, seeing the message.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!wake_pending_.exchange(true, std::memory_order_seq_cst)) {
    const std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
  }
}

void Shard::on_wake_done(int /*result*/) {
  wake_pending_.store(false, std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (exiting_) return;
  wake_op_.prepare_read(wake_fd_, {reinterpret_cast<char*>(&wake_value_), sizeof(wake_value_)});
  submit(wake_op_);
}

void Shard::request_stop() {
  stop_requested_.store(true, std::memory_order_seq_cst);
  wake();
}

// ---- offloads ----

void Shard::start_worker() {
  MTA_ASSERT(!worker_.joinable());
  worker_ = std::thread([this] { worker_main(); });
}

void Shard::stop_worker() {
  if (!worker_.joinable()) return;
  {
    std::lock_guard lock(worker_mutex_);
    worker_stop_ = true;
  }
  worker_changed_.notify_one();
  worker_.join();
}

void Shard::offload(std::function<void()> work, Task done) {
  MTA_ASSERT(work != nullptr);
  MTA_ASSERT(worker_.joinable());
  offload_done_.push_back(std::move(done));
  {
    std::lock_guard lock(worker_mutex_);
    worker_queue_.push_back(std::move(work));
  }
  worker_changed_.notify_one();
}

void Shard::worker_main() {
  std::unique_lock lock(worker_mutex_);
  for (;;) {
    worker_changed_.wait(lock, [this] { return worker_stop_ || !worker_queue_.empty(); });
    // A stop never drops queued work: the shard is waiting for each item's `done`.
    if (worker_queue_.empty()) return;
    std::function<void()> work = std::move(worker_queue_.front());
    worker_queue_.pop_front();
    lock.unlock();
    work();
    work = nullptr;  // captures die here, before the shard can run `done`
    // Same protocol as post_from_outside(): publish, then wake the loop (or the teardown).
    offloads_finished_.fetch_add(1, std::memory_order_seq_cst);
    offloads_finished_.notify_one();
    wake();
    lock.lock();
  }
}

bool Shard::offloads_finished_unseen() const {
  return offloads_finished_.load(std::memory_order_seq_cst) != offloads_done_ran_;
}

void Shard::run_finished_offloads() {
  // Only those finished now; a `done` may offload again, which appends behind them.
  const std::uint64_t finished = offloads_finished_.load(std::memory_order_seq_cst);
  while (offloads_done_ran_ != finished) {
    MTA_ASSERT(!offload_done_.empty());
    Task done = std::move(offload_done_.front());
    offload_done_.pop_front();
    ++offloads_done_ran_;
    if (done) done();
  }
}

// ---- timers, deferred tasks, messages ----

TimerId Shard::schedule(Clock::Duration delay, Task task) {
  if (delay < Clock::Duration::zero()) delay = Clock::Duration::zero();
  // Clamp so that now + delay cannot overflow the time point.
  delay = std::min<Clock::Duration>(delay, std::chrono::hours(24 * 365 * 100));
  const TimerId id = next_timer_id_++;
  timer_heap_.push_back(TimerEntry{clock_.now() + delay, id});
  std::push_heap(timer_heap_.begin(), timer_heap_.end(),
                 [](const TimerEntry& a, const TimerEntry& b) { return timer_later(a, b); });
  timer_tasks_.emplace(id, std::move(task));
  return id;
}

void Shard::cancel_timer(TimerId id) {
  if (timer_tasks_.erase(id) == 0) return;
  // Cancelled entries stay in the heap until due; rebuild when they dominate it.
  if (timer_heap_.size() > 64 && timer_heap_.size() > 2 * timer_tasks_.size()) {
    std::erase_if(timer_heap_,
                  [this](const TimerEntry& entry) { return !timer_tasks_.contains(entry.id); });
    std::make_heap(timer_heap_.begin(), timer_heap_.end(),
                   [](const TimerEntry& a, const TimerEntry& b) { return timer_later(a, b); });
  }
}

void Shard::run_due_timers() {
  if (timer_heap_.empty()) return;
  const Clock::TimePoint now = clock_.now();
  due_timers_.clear();
  while (!timer_heap_.empty() && timer_heap_.front().deadline <= now) {
    std::pop_heap(timer_heap_.begin(), timer_heap_.end(),
                  [](const TimerEntry& a, const TimerEntry& b) { return timer_later(a, b); });
    due_timers_.push_back(timer_heap_.back().id);
    timer_heap_.pop_back();
  }
  // A timer task may cancel a later due timer: look each one up just before running it.
  for (std::size_t i = 0; i < due_timers_.size(); ++i) {
    const auto it = timer_tasks_.find(due_timers_[i]);
    if (it == timer_tasks_.end()) continue;
    Task task = std::move(it->second);
    timer_tasks_.erase(it);
    task();
  }
}

void Shard::defer(Task task) { deferred_.push_back(std::move(task)); }

void Shard::run_deferred() {
  if (deferred_.empty()) return;
  std::vector<Task> batch;
  batch.swap(deferred_);
  for (Task& task : batch) task();
}

bool Shard::post(ShardId to, Message task) {
  Shard& target = runtime_.shard(to);
  if (!target.inbound_[id_.value()]->try_push(task)) return false;
  // Our own loop checks its channels before it sleeps; other shards need the eventfd.
  if (&target != this) target.wake();
  return true;
}

void Shard::post_until_taken(ShardId to, const Message& task) {
  if (post(to, task)) return;
  schedule(std::chrono::milliseconds(1), [this, to, task] { post_until_taken(to, task); });
}

bool Shard::post_from_outside(Message task) {
  {
    std::lock_guard lock(outside_mutex_);
    if (outside_.size() >= outside_capacity_) return false;
    outside_.push_back(std::move(task));
    outside_size_.store(outside_.size(), std::memory_order_seq_cst);
  }
  wake();
  return true;
}

void Shard::drain_messages() {
  Message message;
  for (auto& channel : inbound_) {
    // Only what is there now, so a message that posts to this shard again waits a turn.
    for (std::size_t n = channel->size(); n > 0 && channel->try_pop(message); --n) {
      message(*this);
      message = nullptr;
    }
  }
  if (outside_size_.load(std::memory_order_seq_cst) > 0) {
    std::deque<Message> batch;
    {
      std::lock_guard lock(outside_mutex_);
      batch.swap(outside_);
      outside_size_.store(0, std::memory_order_seq_cst);
    }
    for (Message& task : batch) task(*this);
  }
}

// ---- the loop ----

bool Shard::has_immediate_work() const {
  if (!deferred_.empty() || !local_completions_.empty()) return true;
  if (!stopping_ && stop_requested_.load(std::memory_order_relaxed)) return true;
  if (stopping_ && !aborted_ && holds_ == 0 && offload_done_.empty()) return true;
  if (outside_size_.load(std::memory_order_seq_cst) > 0) return true;
  if (offloads_finished_unseen()) return true;
  return std::any_of(inbound_.begin(), inbound_.end(),
                     [](const auto& channel) { return channel->size() > 0; });
}

void Shard::wait_for_events() {
  io_uring* ring = ring_.get();
  if (has_immediate_work()) {
    io_uring_submit_and_get_events(ring);
    return;
  }
  bool have_deadline = false;
  Clock::TimePoint deadline{};
  if (!timer_heap_.empty()) {
    deadline = timer_heap_.front().deadline;
    have_deadline = true;
  }
  if (stopping_ && !aborted_ && (!have_deadline || drain_deadline_ < deadline)) {
    deadline = drain_deadline_;
    have_deadline = true;
  }
  if (!have_deadline) {
    io_uring_submit_and_wait(ring, 1);
    return;
  }
  const Clock::Duration left = deadline - clock_.now();
  if (left <= Clock::Duration::zero()) {
    io_uring_submit_and_get_events(ring);
    return;
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
  __kernel_timespec timeout{};
  timeout.tv_sec = seconds.count();
  timeout.tv_nsec = (left - seconds).count();
  io_uring_cqe* cqe = nullptr;
  // One kernel wait bounded by the nearest deadline: no timeout operation per timer.
  io_uring_submit_and_wait_timeout(ring, &cqe, 1, &timeout, nullptr);
}

void Shard::run_loop() {
  on_wake_done(0);  // arms the eventfd read
  for (;;) {
    wait_for_events();
    reap_completions();
    run_local_completions();
    drain_messages();
    run_finished_offloads();
    run_due_timers();
    if (!stopping_ && stop_requested_.load(std::memory_order_seq_cst)) begin_stop();
    run_deferred();
    free_closed_connections();
    if (stopping_) {
      // An offload in flight holds the gate like hold(), but even the drain timeout cannot
      // end it: the work runs to completion and its `done` runs before the loop exits.
      const bool drained = holds_ == 0 && offload_done_.empty();
      if (!aborted_ && (drained || clock_.now() >= drain_deadline_)) abort_everything();
      if (aborted_ && ops_in_flight() == 0 && deferred_.empty() && offload_done_.empty()) break;
    }
  }
}

// ---- stop ----

void Shard::on_stop(Task hook) {
  if (stopping_) {
    defer(std::move(hook));
    return;
  }
  stop_hooks_.push_back(std::move(hook));
}

void Shard::release() {
  MTA_ASSERT(holds_ > 0);
  --holds_;
}

void Shard::begin_stop() {
  stopping_ = true;
  drain_deadline_ = clock_.now() + drain_timeout_;
  const std::vector<Listener*> listeners = listeners_;
  for (Listener* listener : listeners) listener->close();
  std::vector<Task> hooks;
  hooks.swap(stop_hooks_);
  for (Task& hook : hooks) hook();
}

void Shard::abort_everything() {
  aborted_ = true;
  refusing_ops_ = true;
  const std::vector<Listener*> listeners = listeners_;
  for (Listener* listener : listeners) listener->close();
  std::vector<Connection*> open;
  for (auto& [id, connection] : connections_) open.push_back(connection.get());
  for (Connection* connection : open) connection->abort();
  // Whatever else is in flight (an owner's own Op) is cancelled too; the owner sees
  // -ECANCELED and must not resubmit (it would be refused with -ECANCELED again).
  for (Slot& slot : slots_) {
    if (slot.op != nullptr && slot.op != &wake_op_) cancel(*slot.op);
  }
  const std::deque<Op*> waiting = waiting_ops_;
  for (Op* op : waiting) cancel(*op);
}

// ---- connections and listeners ----

Connection& Shard::add_connection(std::unique_ptr<Connection> connection) {
  Connection& ref = *connection;
  connections_.emplace(connection->id(), std::move(connection));
  return ref;
}

void Shard::on_connection_closed(std::uint64_t connection_id) {
  closed_connections_.push_back(connection_id);
}

void Shard::free_closed_connections() {
  std::erase_if(closed_connections_, [this](std::uint64_t id) {
    const auto it = connections_.find(id);
    if (it == connections_.end()) return true;
    if (!it->second->releasable()) return false;
    connections_.erase(it);
    return true;
  });
}

Listener& Shard::listen(int listen_fd, AcceptFn on_accept) {
  owned_listeners_.push_back(std::make_unique<Listener>(*this, listen_fd, std::move(on_accept)));
  return *owned_listeners_.back();
}

void Shard::add_listener(Listener* listener) { listeners_.push_back(listener); }

void Shard::remove_listener(Listener* listener) { std::erase(listeners_, listener); }

}  // namespace mta::engine
