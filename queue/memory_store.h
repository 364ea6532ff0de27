// MemoryStore: a Store in std::maps behind a mutex, for unit tests of the modules that use
// the queue. It keeps encoded records (queued parts and history) and the same millisecond
// schedule keys as RocksDbStore, so it fails and orders the same way.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "queue/store.h"

namespace mta::queue {

// Thread-safe (one mutex, so every call is atomic); fn in the for_each_* scans runs without
// the lock held, so it may call back into the store.
class MemoryStore final : public Store {
 public:
  MemoryStore() = default;
  // Only options.history matters here; there is nothing to sync.
  explicit MemoryStore(StoreOptions options) : options_(options) {}

  Result<void> write_batch(std::span<const MessageWrite> writes) override;
  Result<Envelope> read_envelope(PartKey key) override;
  Result<std::string> read_body(MessageId id) override;
  Result<void> update_envelope(const Envelope& envelope) override;
  Result<void> remove_part(PartKey key, const Envelope* final_state = nullptr) override;
  Result<void> for_each_scheduled(const std::function<bool(ScheduledItem&&)>& fn) override;
  Result<void> for_each_envelope_from(PartKey from,
                                      const std::function<bool(Envelope&&)>& fn) override;
  Result<std::uint64_t> count() override;
  Result<std::vector<Envelope>> read_message(MessageId id) override;
  Result<std::vector<Envelope>> read_history(MessageId id) override;
  Result<std::uint64_t> expire_history(MessageId before) override;
  // Crash counts live as long as this object.
  Result<InFlightRecovery> recover_in_flight(std::span<const PartKey> interrupted,
                                             std::uint32_t crashes_max) override;
  std::uint64_t quarantined_count() override;
  Result<std::vector<ScheduledItem>> quarantined_parts() override;

  // Stores raw envelope bytes (with an empty body and no schedule entry), to test how readers
  // treat damaged records.
  void put_raw_envelope_for_test(PartKey key, std::string_view record);
  // Stores raw bytes as the history record of `key`, likewise.
  void put_raw_history_for_test(PartKey key, std::string_view record);

 private:
  struct Part {
    std::string record;    // encode_envelope() bytes
    std::uint64_t due_ms;  // its schedule entry's key
  };

  const StoreOptions options_{};
  std::mutex mutex_;
  std::map<PartKey, Part> parts_;
  std::map<PartKey, std::string> history_;  // encode_envelope() of each removed part's end
  std::map<MessageId, std::string> bodies_;
  std::map<std::pair<std::uint64_t, PartKey>, std::string> schedule_;  // -> schedule_value
  std::map<PartKey, std::uint32_t> crashes_;
};

}  // namespace mta::queue
