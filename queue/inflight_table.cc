// InFlightTable: 16-byte slots in a MAP_SHARED file. A slot is {u64 message id, u32 part,
// u32 state}; `state` is written last when marking and first when clearing (release order),
// so a process that dies between the stores leaves either the old empty slot or a whole mark.
#include "queue/inflight_table.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <set>
#include <system_error>

#include "base/assert.h"

namespace mta::queue {

struct InFlightTable::Slot {
  std::uint64_t message;
  std::uint32_t part;
  std::uint32_t state;  // 1: marked; anything else: empty
};

namespace {

constexpr std::uint32_t marked = 1;

Unexpected<Error> from_errno(int error, const std::string& what) {
  return unexpected(std::error_code(error, std::generic_category()),
                    what + ": " + std::strerror(error));
}

}  // namespace

Result<std::unique_ptr<InFlightTable>> InFlightTable::open(const std::string& path,
                                                           std::uint32_t slots) {
  MTA_ASSERT(slots > 0);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return from_errno(errno, "open " + path);
  const auto bytes = static_cast<off_t>(slots) * static_cast<off_t>(sizeof(Slot));
  struct stat info {};
  if (::fstat(fd, &info) != 0 || (info.st_size != bytes && ::ftruncate(fd, bytes) != 0)) {
    const int error = errno;
    ::close(fd);
    return from_errno(error, "size " + path);
  }
  void* map =
      ::mmap(nullptr, static_cast<std::size_t>(bytes), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    const int error = errno;
    ::close(fd);
    return from_errno(error, "map " + path);
  }
  return std::make_unique<InFlightTable>(OpenKey(), fd, map, slots);
}

InFlightTable::InFlightTable(OpenKey, int fd, void* map, std::uint32_t slots)
    : fd_(fd), map_(map), slots_(slots) {
  free_.reserve(slots);
  for (std::uint32_t i = slots; i > 0; --i) free_.push_back(i - 1);
}

InFlightTable::~InFlightTable() {
  ::munmap(map_, static_cast<std::size_t>(slots_) * sizeof(Slot));
  ::close(fd_);
}

InFlightTable::Slot& InFlightTable::slot(std::uint32_t index) {
  static_assert(sizeof(Slot) == 16);
  MTA_ASSERT(index < slots_);
  return static_cast<Slot*>(map_)[index];
}

std::vector<PartKey> InFlightTable::left() {
  std::set<PartKey> marks;
  for (std::uint32_t i = 0; i < slots_; ++i) {
    const Slot& s = slot(i);
    if (s.state == marked) marks.insert(PartKey{MessageId(s.message), s.part});
  }
  return {marks.begin(), marks.end()};
}

std::optional<std::uint32_t> InFlightTable::acquire() {
  const std::lock_guard lock(mutex_);
  if (free_.empty()) return std::nullopt;
  const std::uint32_t index = free_.back();
  free_.pop_back();
  return index;
}

void InFlightTable::release(std::uint32_t index) {
  clear(index);
  const std::lock_guard lock(mutex_);
  free_.push_back(index);
}

void InFlightTable::mark(std::uint32_t index, PartKey key) {
  Slot& s = slot(index);
  std::atomic_ref<std::uint32_t>(s.state).store(0, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);  // empty before the key changes
  s.message = key.message.value();
  s.part = key.part;
  std::atomic_ref<std::uint32_t>(s.state).store(marked, std::memory_order_release);
}

void InFlightTable::clear(std::uint32_t index) {
  std::atomic_ref<std::uint32_t>(slot(index).state).store(0, std::memory_order_release);
}

void InFlightTable::clear_all() {
  std::memset(map_, 0, static_cast<std::size_t>(slots_) * sizeof(Slot));
}

}  // namespace mta::queue
