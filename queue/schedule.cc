// Schedule: a set ordered by (due, key) for pop_due, an index from key to due for remove.
#include "queue/schedule.h"

#include "base/assert.h"

namespace mta::queue {

void Schedule::add(Clock::WallTime due, PartKey key, std::uint32_t tag) {
  const auto [it, inserted] = due_of_.try_emplace(key, Entry{due, tag});
  if (!inserted) {
    by_due_.erase({it->second.due, key});
    it->second = Entry{due, tag};
  }
  by_due_.emplace(due, key);
  MTA_ASSERT(by_due_.size() == due_of_.size());
}

bool Schedule::remove(PartKey key) { return take(key).has_value(); }

std::optional<std::uint32_t> Schedule::take(PartKey key) {
  const auto it = due_of_.find(key);
  if (it == due_of_.end()) return std::nullopt;
  const std::uint32_t tag = it->second.tag;
  by_due_.erase({it->second.due, key});
  due_of_.erase(it);
  return tag;
}

std::size_t Schedule::pop_due(Clock::WallTime now, std::size_t limit, std::vector<PartKey>& out) {
  std::size_t popped = 0;
  while (popped < limit && !by_due_.empty() && by_due_.begin()->first <= now) {
    const PartKey key = by_due_.begin()->second;
    by_due_.erase(by_due_.begin());
    due_of_.erase(key);
    out.push_back(key);
    ++popped;
  }
  return popped;
}

std::size_t Schedule::pop_due(Clock::WallTime now, std::size_t limit, std::vector<Due>& out) {
  std::size_t popped = 0;
  while (popped < limit && !by_due_.empty() && by_due_.begin()->first <= now) {
    const PartKey key = by_due_.begin()->second;
    by_due_.erase(by_due_.begin());
    const auto it = due_of_.find(key);
    out.push_back(Due{key, it->second.tag});
    due_of_.erase(it);
    ++popped;
  }
  return popped;
}

std::optional<Clock::WallTime> Schedule::next_due() const {
  if (by_due_.empty()) return std::nullopt;
  return by_due_.begin()->first;
}

}  // namespace mta::queue
