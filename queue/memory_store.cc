// MemoryStore: std::maps of encoded envelopes, bodies, schedule entries and history records
// behind one mutex.
#include "queue/memory_store.h"

#include <iterator>
#include <utility>
#include <vector>

#include "base/assert.h"
#include "queue/errc.h"
#include "queue/keys.h"

namespace mta::queue {
namespace {

using KeyedRecords = std::vector<std::pair<PartKey, std::string>>;

// Decodes the records of one message (copied out from under the lock), each checked against
// its key, as RocksDbStore does; the first damaged one fails the call.
Result<std::vector<Envelope>> decode_parts(const KeyedRecords& records) {
  std::vector<Envelope> out;
  out.reserve(records.size());
  for (const auto& [key, record] : records) {
    Result<Envelope> envelope = decode_envelope(record);
    if (envelope && (envelope->id != key.message || envelope->part != key.part)) {
      envelope = unexpected(Errc::corrupt_record, "id or part differs from key");
    }
    if (!envelope) {
      return unexpected(Errc::corrupt_record, to_hex(key.message) + "/" + std::to_string(key.part) +
                                                  ": " + envelope.error().message());
    }
    out.push_back(std::move(envelope).value());
  }
  return out;
}

}  // namespace

Result<void> MemoryStore::write_batch(std::span<const MessageWrite> writes) {
  // Validate and encode everything before touching the maps: all or nothing.
  std::vector<std::pair<const Envelope*, std::string>> records;
  for (const MessageWrite& write : writes) {
    MTA_ASSERT(!write.parts.empty());
    for (const Envelope& envelope : write.parts) {
      MTA_ASSERT(envelope.id == write.parts.front().id);
      if (auto valid = validate_envelope(envelope); !valid) return unexpected(valid.error());
      records.emplace_back(&envelope, encode_envelope(envelope));
    }
  }
  const std::lock_guard lock(mutex_);
  for (const MessageWrite& write : writes) {
    bodies_.insert_or_assign(write.parts.front().id, std::string(write.body));
  }
  for (auto& [envelope, record] : records) {
    const PartKey key{envelope->id, envelope->part};
    const std::uint64_t due = due_ms(envelope->next_attempt_at);
    parts_.insert_or_assign(key, Part{std::move(record), due});
    schedule_.insert_or_assign({due, key}, schedule_value(*envelope));
  }
  return {};
}

Result<Envelope> MemoryStore::read_envelope(PartKey key) {
  std::string record;
  {
    const std::lock_guard lock(mutex_);
    const auto it = parts_.find(key);
    if (it == parts_.end()) return unexpected(Errc::not_found, to_hex(key.message));
    record = it->second.record;
  }
  return decode_envelope(record);
}

Result<std::string> MemoryStore::read_body(MessageId id) {
  const std::lock_guard lock(mutex_);
  const auto it = bodies_.find(id);
  if (it == bodies_.end()) return unexpected(Errc::not_found, to_hex(id));
  return it->second;
}

Result<void> MemoryStore::update_envelope(const Envelope& envelope) {
  if (auto valid = validate_envelope(envelope); !valid) return unexpected(valid.error());
  std::string record = encode_envelope(envelope);
  const PartKey key{envelope.id, envelope.part};
  const std::uint64_t due = due_ms(envelope.next_attempt_at);
  const std::lock_guard lock(mutex_);
  const auto it = parts_.find(key);
  if (it == parts_.end()) return unexpected(Errc::not_found, to_hex(envelope.id));
  schedule_.erase({it->second.due_ms, key});
  schedule_.insert_or_assign({due, key}, schedule_value(envelope));
  if (it->second.due_ms == due_ms(quarantined_due) && !is_quarantined(envelope)) {
    crashes_.erase(key);  // released
  }
  it->second = Part{std::move(record), due};
  return {};
}

Result<void> MemoryStore::remove_part(PartKey key, const Envelope* final_state) {
  const bool record_history = final_state != nullptr && options_.history;
  std::string history_record;
  if (record_history) {
    MTA_ASSERT(final_state->id == key.message);
    MTA_ASSERT(final_state->part == key.part);
    if (auto valid = validate_envelope(*final_state); !valid) return unexpected(valid.error());
    history_record = encode_envelope(*final_state);
  }
  const std::lock_guard lock(mutex_);
  const auto it = parts_.find(key);
  if (it == parts_.end()) return unexpected(Errc::not_found, to_hex(key.message));
  schedule_.erase({it->second.due_ms, key});
  parts_.erase(it);
  crashes_.erase(key);
  if (record_history) history_.insert_or_assign(key, std::move(history_record));
  const auto sibling = parts_.lower_bound(PartKey{key.message, 0});
  if (sibling == parts_.end() || sibling->first.message != key.message) bodies_.erase(key.message);
  return {};
}

Result<void> MemoryStore::for_each_scheduled(const std::function<bool(ScheduledItem&&)>& fn) {
  std::vector<ScheduledItem> items;
  {
    const std::lock_guard lock(mutex_);
    items.reserve(schedule_.size());
    for (const auto& [due_key, value] : schedule_) {
      ScheduledItem item{.due = from_due_ms(due_key.first), .key = due_key.second};
      // Written by schedule_value above, so it always parses.
      (void)parse_schedule_value(value, item);
      items.push_back(std::move(item));
    }
  }
  for (ScheduledItem& item : items) {
    if (!fn(std::move(item))) break;
  }
  return {};
}

Result<void> MemoryStore::for_each_envelope_from(PartKey from,
                                                 const std::function<bool(Envelope&&)>& fn) {
  // Copy the records first so fn runs unlocked; a test store is small.
  std::vector<std::pair<PartKey, std::string>> records;
  {
    const std::lock_guard lock(mutex_);
    records.reserve(parts_.size());
    for (auto it = parts_.lower_bound(from); it != parts_.end(); ++it) {
      records.emplace_back(it->first, it->second.record);
    }
  }
  std::uint64_t corrupt_count = 0;
  MessageId first_corrupt;
  for (auto& [key, record] : records) {
    Result<Envelope> envelope = decode_envelope(record);
    if (envelope && (envelope->id != key.message || envelope->part != key.part)) {
      envelope = unexpected(Errc::corrupt_record, "id or part differs from key");
    }
    if (!envelope) {
      if (corrupt_count++ == 0) first_corrupt = key.message;
      continue;
    }
    if (!fn(std::move(envelope).value())) break;
  }
  if (corrupt_count != 0) {
    return unexpected(
        Errc::corrupt_record,
        std::to_string(corrupt_count) + " corrupt envelopes, first " + to_hex(first_corrupt));
  }
  return {};
}

Result<std::uint64_t> MemoryStore::count() {
  const std::lock_guard lock(mutex_);
  return static_cast<std::uint64_t>(parts_.size());
}

Result<std::vector<Envelope>> MemoryStore::read_message(MessageId id) {
  KeyedRecords records;
  {
    const std::lock_guard lock(mutex_);
    for (auto it = parts_.lower_bound(PartKey{id, 0});
         it != parts_.end() && it->first.message == id; ++it) {
      records.emplace_back(it->first, it->second.record);
    }
  }
  return decode_parts(records);
}

Result<std::vector<Envelope>> MemoryStore::read_history(MessageId id) {
  KeyedRecords records;
  {
    const std::lock_guard lock(mutex_);
    for (auto it = history_.lower_bound(PartKey{id, 0});
         it != history_.end() && it->first.message == id; ++it) {
      records.emplace_back(it->first, it->second);
    }
  }
  return decode_parts(records);
}

Result<std::uint64_t> MemoryStore::expire_history(MessageId before) {
  const std::lock_guard lock(mutex_);
  const auto end = history_.lower_bound(PartKey{before, 0});
  const auto expired = static_cast<std::uint64_t>(std::distance(history_.begin(), end));
  history_.erase(history_.begin(), end);
  return expired;
}

Result<InFlightRecovery> MemoryStore::recover_in_flight(std::span<const PartKey> interrupted,
                                                        std::uint32_t crashes_max) {
  InFlightRecovery report;
  {
    const std::lock_guard lock(mutex_);
    for (const PartKey key : interrupted) {
      const auto it = parts_.find(key);
      if (it == parts_.end()) continue;
      ++report.interrupted;
      const std::uint32_t crashes = ++crashes_[key];
      if (crashes < crashes_max || it->second.due_ms == due_ms(quarantined_due)) continue;
      Result<Envelope> envelope = decode_envelope(it->second.record);
      if (!envelope) return unexpected(envelope.error());
      schedule_.erase({it->second.due_ms, key});
      envelope->next_attempt_at = quarantined_due;
      it->second = Part{encode_envelope(*envelope), due_ms(quarantined_due)};
      schedule_.insert_or_assign({due_ms(quarantined_due), key}, schedule_value(*envelope));
      report.quarantined.push_back(std::move(envelope).value());
    }
  }
  return report;
}

std::uint64_t MemoryStore::quarantined_count() {
  const std::lock_guard lock(mutex_);
  const auto first = schedule_.lower_bound({due_ms(quarantined_due), PartKey{}});
  return static_cast<std::uint64_t>(std::distance(first, schedule_.end()));
}

Result<std::vector<ScheduledItem>> MemoryStore::quarantined_parts() {
  const std::lock_guard lock(mutex_);
  std::vector<ScheduledItem> out;
  for (auto it = schedule_.lower_bound({due_ms(quarantined_due), PartKey{}}); it != schedule_.end();
       ++it) {
    ScheduledItem item{.due = from_due_ms(it->first.first), .key = it->first.second};
    (void)parse_schedule_value(it->second, item);  // written by schedule_value
    out.push_back(std::move(item));
  }
  return out;
}

void MemoryStore::put_raw_history_for_test(PartKey key, std::string_view record) {
  const std::lock_guard lock(mutex_);
  history_.insert_or_assign(key, std::string(record));
}

void MemoryStore::put_raw_envelope_for_test(PartKey key, std::string_view record) {
  const std::lock_guard lock(mutex_);
  parts_.insert_or_assign(key, Part{std::string(record), 0});
  bodies_.insert_or_assign(key.message, std::string());
}

}  // namespace mta::queue
