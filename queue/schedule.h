// Schedule: the in-memory due queue one owner shard keeps of the parts it owns: keys and due
// times only, never envelopes or bodies. Pure (no clock, no I/O): the caller says what "now"
// is. Filled at start-up from Store::for_each_scheduled and kept in step with the store.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "queue/store.h"

namespace mta::queue {

// One shard's; not thread-safe. Every operation is O(log n) (remove and the lookup in add
// are O(1) on average).
//
// Memory: each entry is one node of a std::set ordered by (due, key) (24 bytes of payload,
// a 64-byte allocation with the red-black node header) plus one node of an unordered_map
// from key to due (32 bytes, a 48-byte allocation) and 8 bytes of bucket array: about
// 120 bytes with glibc malloc. BM_SchedulePopDue (bench/queue_bench.cc) measured 100 to
// 122 B of RSS per entry, 96 to 117 MiB for 1,000,000 entries.
//
// Each entry may carry a `tag`, a small value the owner gives it and gets back with it
// (delivery: the part's tenant and class, so a due part can be ordered among other tenants'
// without reading its envelope). The map node grows from 32 to 40 bytes, which glibc still
// serves from a 48-byte chunk: BM_SchedulePopDue measured 124 B of RSS per entry with the tag,
// within the noise of the figures above.
class Schedule {
 public:
  // A due part and its tag.
  struct Due {
    PartKey key;
    std::uint32_t tag = 0;
  };

  // Adds `key` due at `due`; a key already scheduled moves to the new due time (and tag).
  void add(Clock::WallTime due, PartKey key, std::uint32_t tag = 0);
  // Forgets `key`; false if it was not scheduled.
  bool remove(PartKey key);
  // Forgets `key` and returns its tag; nullopt if it was not scheduled.
  std::optional<std::uint32_t> take(PartKey key);
  // Moves up to `limit` parts due at or before `now` out of the schedule, earliest first
  // (ties in key order), appending them to `out`. Returns how many it moved.
  std::size_t pop_due(Clock::WallTime now, std::size_t limit, std::vector<PartKey>& out);
  std::size_t pop_due(Clock::WallTime now, std::size_t limit, std::vector<Due>& out);
  // The earliest due time, or nullopt when empty: when the owner's timer should fire next.
  std::optional<Clock::WallTime> next_due() const;
  std::size_t size() const { return due_of_.size(); }
  bool empty() const { return due_of_.empty(); }

 private:
  std::set<std::pair<Clock::WallTime, PartKey>> by_due_;
  struct Entry {
    Clock::WallTime due;
    std::uint32_t tag = 0;
  };
  std::unordered_map<PartKey, Entry> due_of_;
};

}  // namespace mta::queue
