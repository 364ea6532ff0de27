// MemoryStore: std::map of encoded envelopes and bodies behind one mutex.
#include "queue/memory_store.h"

#include <utility>
#include <vector>

#include "queue/errc.h"

namespace mta::queue {

Result<void> MemoryStore::put(const Envelope& envelope, std::string_view body) {
  if (auto valid = validate_envelope(envelope); !valid) return unexpected(valid.error());
  Entry entry{encode_envelope(envelope), std::string(body)};
  const std::lock_guard lock(mutex_);
  entries_.insert_or_assign(envelope.id, std::move(entry));
  return {};
}

Result<Envelope> MemoryStore::read_envelope(MessageId id) {
  std::string record;
  {
    const std::lock_guard lock(mutex_);
    const auto it = entries_.find(id);
    if (it == entries_.end()) return unexpected(Errc::not_found, to_hex(id));
    record = it->second.envelope;
  }
  return decode_envelope(record);
}

Result<std::string> MemoryStore::read_body(MessageId id) {
  const std::lock_guard lock(mutex_);
  const auto it = entries_.find(id);
  if (it == entries_.end()) return unexpected(Errc::not_found, to_hex(id));
  return it->second.body;
}

Result<void> MemoryStore::update_envelope(const Envelope& envelope) {
  if (auto valid = validate_envelope(envelope); !valid) return unexpected(valid.error());
  std::string record = encode_envelope(envelope);
  const std::lock_guard lock(mutex_);
  const auto it = entries_.find(envelope.id);
  if (it == entries_.end()) return unexpected(Errc::not_found, to_hex(envelope.id));
  it->second.envelope = std::move(record);
  return {};
}

Result<void> MemoryStore::remove(MessageId id) {
  const std::lock_guard lock(mutex_);
  if (entries_.erase(id) == 0) return unexpected(Errc::not_found, to_hex(id));
  return {};
}

Result<void> MemoryStore::for_each_envelope(const std::function<bool(Envelope&&)>& fn) {
  // Copy the records first so fn runs unlocked; a test store is small.
  std::vector<std::pair<MessageId, std::string>> records;
  {
    const std::lock_guard lock(mutex_);
    records.reserve(entries_.size());
    for (const auto& [id, entry] : entries_) records.emplace_back(id, entry.envelope);
  }
  std::uint64_t corrupt_count = 0;
  MessageId first_corrupt;
  for (auto& [id, record] : records) {
    Result<Envelope> envelope = decode_envelope(record);
    if (envelope && envelope->id != id) {
      envelope = unexpected(Errc::corrupt_record, "id differs from key");
    }
    if (!envelope) {
      if (corrupt_count++ == 0) first_corrupt = id;
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
  return static_cast<std::uint64_t>(entries_.size());
}

void MemoryStore::put_raw_envelope_for_test(MessageId id, std::string_view record) {
  const std::lock_guard lock(mutex_);
  entries_.insert_or_assign(id, Entry{std::string(record), std::string()});
}

}  // namespace mta::queue
