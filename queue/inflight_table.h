// InFlightTable: the crash-loop breaker's marks, one slot per delivery connection in a
// memory-mapped file (<spool>/inflight): a slot names the part its connection is attempting,
// set before the attempt and cleared after its outcome is recorded. Plain stores into shared
// file pages, so marking costs no system call and no fsync, yet survives the process: the
// pages belong to the kernel's page cache, which writes them back whatever happens to the
// process (SIGKILL, an abort, the OOM killer). A power loss may lose them: the attempt then
// does not count. The next start reads what was left (left) and the store counts a crash
// against each part (Store::recover_in_flight).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "queue/store.h"

namespace mta::queue {

// Thread-safe: acquire/release take a mutex (once per connection); a slot is marked and
// cleared only by its holder, with no lock.
class InFlightTable {
  class OpenKey {
    friend class InFlightTable;
    OpenKey() = default;
  };

 public:
  static constexpr std::uint32_t default_slots = 65'536;  // 1 MiB of 16-byte slots

  // Creates (mode 0600) or opens the file and maps `slots` slots; an existing file of another
  // size is resized (its marks beyond the new size are lost).
  static Result<std::unique_ptr<InFlightTable>> open(const std::string& path,
                                                     std::uint32_t slots = default_slots);
  InFlightTable(OpenKey, int fd, void* map, std::uint32_t slots);
  ~InFlightTable();
  InFlightTable(const InFlightTable&) = delete;
  InFlightTable& operator=(const InFlightTable&) = delete;

  // Start-up, before any slot is taken: the parts marked when the last process ended (in key
  // order, each once). They stay marked until clear_all(), which the caller calls once it
  // has counted them (a crash in between counts them again, never loses them).
  std::vector<PartKey> left();
  // A free slot for a connection, or nullopt when all are taken (its attempts go unmarked).
  std::optional<std::uint32_t> acquire();
  // Clears the slot and gives it back.
  void release(std::uint32_t slot);
  // Before an attempt: the slot names `key`. After it: the slot is empty.
  void mark(std::uint32_t slot, PartKey key);
  void clear(std::uint32_t slot);
  // A clean stop: nothing in flight counts.
  void clear_all();
  std::uint32_t slots() const { return slots_; }

 private:
  struct Slot;
  Slot& slot(std::uint32_t index);

  const int fd_;
  void* const map_;
  const std::uint32_t slots_;
  std::mutex mutex_;
  std::vector<std::uint32_t> free_;  // slots to hand out, the lowest last
};

}  // namespace mta::queue
