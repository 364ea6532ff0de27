// Byte keys of the spool's column families (layout in queue/README.md): big-endian integers
// so RocksDB's bytewise order is numeric order. Pure; RocksDbStore writes them, MemoryStore
// orders its schedule by the same millisecond rounding, tests pin the layout.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "base/clock.h"
#include "base/result.h"
#include "base/strong_id.h"
#include "queue/store.h"

namespace mta::queue {

using BodyKey = std::array<char, 8>;       // message id
using EnvelopeKey = std::array<char, 12>;  // message id, part
using ScheduleKey = std::array<char, 20>;  // due ms, message id, part

// Milliseconds since the epoch, as the schedule index stores a due time: rounded down, and
// times before 1970 (never a real due time) clamped to 0 so the order stays numeric.
std::uint64_t due_ms(Clock::WallTime due);
Clock::WallTime from_due_ms(std::uint64_t ms);

BodyKey body_key(MessageId id);
EnvelopeKey envelope_key(PartKey key);
ScheduleKey schedule_key(Clock::WallTime due, PartKey key);

// corrupt_record on a wrong length (or a due time beyond what Clock::WallTime holds).
Result<MessageId> parse_body_key(std::string_view bytes);
Result<PartKey> parse_envelope_key(std::string_view bytes);
struct ParsedScheduleKey {
  Clock::WallTime due;
  PartKey key;
};
Result<ParsedScheduleKey> parse_schedule_key(std::string_view bytes);

}  // namespace mta::queue
