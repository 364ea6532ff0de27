// Byte keys of the spool's column families (layout in queue/README.md): big-endian integers
// so RocksDB's bytewise order is numeric order. Pure; RocksDbStore writes them, MemoryStore
// orders its schedule by the same millisecond rounding, tests pin the layout.
#pragma once

#include <array>
#include <cstdint>
#include <string>
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

// The value of a schedule index entry: the part's destination and, when the part is tagged, a
// NUL, its tenant, a NUL, its class ("t" or "b"), a NUL and its pool. An untagged part's value
// is its destination alone, as before tenants, so older entries read as untagged. (A build from
// before tenants would read a tagged value as a destination with NULs in it: downgrading needs
// the queue drained of tagged parts first.)
std::string schedule_value(const Envelope& envelope);
// Fills item.destination, tenant, traffic_class and pool; corrupt_record when malformed.
Result<void> parse_schedule_value(std::string_view bytes, ScheduledItem& item);

}  // namespace mta::queue
