// What an operator can do to queued parts (`outpost queue retry|delete|bounce`), and how it
// went, part by part and counted.
#pragma once

#include <cstdint>
#include <vector>

namespace mta::delivery {

enum class OperatorAction {
  retry,   // try now, whatever its due time
  remove,  // delete it, without a DSN
  bounce,  // return it to its sender: a DSN for every recipient not yet final, then delete
};

enum class ActionResult {
  applied,
  in_flight,  // being tried now; remove and bounce take effect when the attempt ends
  not_found,  // not waiting here (already gone, or not handed to this shard yet)
};

// How an operator action over many parts went, part by part.
struct ActionCounts {
  std::uint64_t applied = 0;
  std::uint64_t in_flight = 0;
  std::uint64_t not_found = 0;
  ActionCounts& operator+=(const ActionCounts& other) {
    applied += other.applied;
    in_flight += other.in_flight;
    not_found += other.not_found;
    return *this;
  }
};

ActionCounts count(const std::vector<ActionResult>& results);

}  // namespace mta::delivery
