// MemoryStore: a Store in a std::map behind a mutex, for unit tests of the modules that use
// the queue. It keeps encoded records, so it fails the same way RocksDbStore does.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "queue/store.h"

namespace mta::queue {

// Thread-safe (one mutex); fn in for_each_envelope runs without the lock held, so it may call
// back into the store.
class MemoryStore final : public Store {
 public:
  Result<void> put(const Envelope& envelope, std::string_view body) override;
  Result<Envelope> read_envelope(MessageId id) override;
  Result<std::string> read_body(MessageId id) override;
  Result<void> update_envelope(const Envelope& envelope) override;
  Result<void> remove(MessageId id) override;
  Result<void> for_each_envelope(const std::function<bool(Envelope&&)>& fn) override;
  Result<std::uint64_t> count() override;

  // Stores raw envelope bytes (with an empty body), to test how readers treat damaged records.
  void put_raw_envelope_for_test(MessageId id, std::string_view record);

 private:
  struct Entry {
    std::string envelope;  // encode_envelope() bytes
    std::string body;
  };

  std::mutex mutex_;
  std::map<MessageId, Entry> entries_;
};

}  // namespace mta::queue
