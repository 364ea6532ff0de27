// Store: the durable spool interface. Every accepted message is put (envelope + body in one
// synced write) before the client hears 250, updated as attempts happen, and removed when
// every recipient is done. MemoryStore (tests) and RocksDbStore (the daemon) implement it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/strong_id.h"
#include "queue/envelope.h"

namespace mta::queue {

struct StoreOptions {
  // true: a write returns only once it is on stable storage (fsync of the WAL).
  // false: durability "none", for capacity tests; a crash may lose acknowledged messages.
  bool sync = true;
};

// Thread-safe: every shard calls the same Store concurrently. Operations on one id are
// expected to come from the shard that owns the message, but the store stays consistent
// (never an envelope without a body) even if they do not.
class Store {
 public:
  virtual ~Store() = default;

  // Writes envelope + body atomically (one write batch), synced when options.sync. When it
  // returns success the message survives a crash or power loss; a failure writes nothing.
  // An existing record with the same id is replaced (ids are unique, see MessageIdGenerator).
  virtual Result<void> put(const Envelope& envelope, std::string_view body) = 0;
  virtual Result<Envelope> read_envelope(MessageId id) = 0;
  virtual Result<std::string> read_body(MessageId id) = 0;
  // Replaces the envelope of a queued message (synced too); not_found if it was removed.
  virtual Result<void> update_envelope(const Envelope& envelope) = 0;
  // Deletes envelope and body in one batch; not_found if there is nothing to delete.
  virtual Result<void> remove(MessageId id) = 0;
  // Recovery scan in id order; bodies are not loaded. Stops early if fn returns false.
  // A record that does not decode is skipped and the scan goes on, so one damaged record
  // cannot hold back the rest; the call then returns corrupt_record naming the first one.
  virtual Result<void> for_each_envelope(const std::function<bool(Envelope&&)>& fn) = 0;
  // Number of queued messages. RocksDbStore counts by scanning envelope keys: O(n).
  virtual Result<std::uint64_t> count() = 0;
};

}  // namespace mta::queue
