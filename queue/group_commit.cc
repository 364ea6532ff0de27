// GroupCommit: a two-slot pipeline. `waiting_` gathers submissions; when no write is in flight
// (and the window, if any, has passed or the batch is full) it becomes `writing_`, goes to the
// worker as one Store::write_batch, and its callbacks run when the worker is done.
#include "queue/group_commit.h"

#include <utility>

#include "base/assert.h"

namespace mta::queue {

GroupCommit::GroupCommit(Executor& executor, Store& store, GroupCommitOptions options)
    : executor_(executor), store_(store), options_(options) {}

GroupCommit::~GroupCommit() {
  // The shard's drain waits for offloads, so no write can still be in flight here.
  MTA_ASSERT(!writing());
  executor_.cancel_timer(window_timer_);
}

void GroupCommit::submit(std::vector<Envelope>&& parts, std::string&& body, Done done) {
  std::vector<Message> one;
  one.push_back(Message{std::move(parts), std::move(body)});
  submit_group(std::move(one), std::move(done));
}

void GroupCommit::submit_group(std::vector<Message>&& messages, Done done) {
  MTA_ASSERT(!messages.empty());
  std::size_t bytes = 0;
  for (const Message& message : messages) bytes += message.body.size();
  waiting_messages_ += messages.size();
  waiting_bytes_ += bytes;
  waiting_.push_back(Pending{std::move(messages), bytes, std::move(done)});
  maybe_write();
}

bool GroupCommit::batch_full() const {
  return waiting_messages_ >= options_.batch_messages_max ||
         waiting_bytes_ >= options_.batch_bytes_max;
}

void GroupCommit::maybe_write() {
  if (writing() || waiting_.empty()) return;
  if (options_.window == Clock::Duration::zero() || batch_full()) {
    write();
    return;
  }
  if (window_timer_ == 0) {
    window_timer_ = executor_.schedule(options_.window, [this] {
      window_timer_ = 0;
      if (!writing() && !waiting_.empty()) write();
    });
  }
}

void GroupCommit::write() {
  MTA_ASSERT(!writing());
  MTA_ASSERT(!waiting_.empty());
  executor_.cancel_timer(window_timer_);
  window_timer_ = 0;
  // Take at most one batch (the first submission whatever its size: a group is never split);
  // the rest waits for the next write.
  std::size_t count = 0;
  std::size_t messages = 0;
  std::size_t bytes = 0;
  while (
      count < waiting_.size() &&
      (count == 0 || (messages + waiting_[count].messages.size() <= options_.batch_messages_max &&
                      bytes + waiting_[count].bytes <= options_.batch_bytes_max))) {
    messages += waiting_[count].messages.size();
    bytes += waiting_[count].bytes;
    ++count;
  }
  writing_.assign(std::make_move_iterator(waiting_.begin()),
                  std::make_move_iterator(waiting_.begin() + static_cast<std::ptrdiff_t>(count)));
  waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(count));
  waiting_messages_ -= messages;
  waiting_bytes_ -= bytes;
  writes_.clear();
  for (const auto& pending : writing_) {
    for (const Message& message : pending.messages) {
      writes_.push_back(MessageWrite{.parts = message.parts, .body = message.body});
    }
  }
  write_started_ = std::chrono::steady_clock::now();
  executor_.offload([this] { result_ = store_.write_batch(writes_); }, [this] { on_written(); });
}

void GroupCommit::on_written() {
  ++probe_.batches;
  if (probe_.commit_seconds != nullptr) {
    probe_.commit_seconds->observe(std::chrono::steady_clock::now() - write_started_);
  }
  probe_.messages += writes_.size();
  if (writes_.size() > probe_.largest_batch) probe_.largest_batch = writes_.size();
  if (!result_) ++probe_.failed_batches;
  std::vector<Pending> finished = std::move(writing_);
  writing_.clear();
  const Result<void> result = result_;
  // Start the next write before running callbacks: they may submit more.
  maybe_write();
  for (auto& pending : finished) pending.done(result);
}

}  // namespace mta::queue
