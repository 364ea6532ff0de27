// Store: the durable spool interface. Every accepted message is written (its parts, one per
// destination, and one shared body, in one synced batch) before the client hears 250; parts
// are updated as attempts happen and removed when done, leaving a history record of their
// final state. MemoryStore (tests) and RocksDbStore (the daemon) implement it; the schedule
// index gives start-up the due order cheaply.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "base/strong_id.h"
#include "queue/envelope.h"

namespace mta::queue {

struct StoreOptions {
  // true: a write returns only once it is on stable storage (fsync of the WAL).
  // false: durability "none", for capacity tests; a crash may lose acknowledged messages.
  bool sync = true;
  // Updates and removals (delivery outcomes) go through the WAL without an fsync unless this
  // is set: a process crash keeps them (the WAL is in the page cache), and a power loss can
  // only forget the last few outcomes, which re-delivers, never loses. Synced, every delivery
  // would cost an fsync.
  bool sync_dispositions = false;
  // Whether remove_part keeps the final state it is given as a history record (for the
  // status API after a message is gone). false: nothing is recorded; what history exists
  // stays readable and expirable.
  bool history = true;
};

// Names one part of a message in the store.
struct PartKey {
  MessageId message;
  std::uint32_t part = 0;

  auto operator<=>(const PartKey&) const = default;
};

// One message to write: its parts (one Envelope per destination, each with id == the message
// id and a distinct part number) and the body they share.
struct MessageWrite {
  std::span<const Envelope> parts;
  std::string_view body;
};

// One schedule index entry: a part due at `due` (the envelope's next_attempt_at, rounded down
// to the millisecond), and its destination so start-up can route it without the envelope; its
// tenant, class and pool so delivery can order it among other tenants' parts without reading
// the envelope either (the index entry carries them: schedule_value in keys.h).
struct ScheduledItem {
  Clock::WallTime due;
  PartKey key;
  std::string destination;
  std::string tenant;
  TrafficClass traffic_class = TrafficClass::transactional;
  std::string pool;
};

// Crash-loop breaker (queue/README.md): a part whose delivery attempts were under way when the
// process died this many times is quarantined instead of being tried again.
inline constexpr std::uint32_t crashes_before_quarantine = 3;
// A destination with this many parts in quarantine is held too (suspended at start-up until an
// operator resumes it): a receiver that crashes the daemon whatever it is sent would otherwise
// cost three crashes per handful of parts.
inline constexpr std::size_t quarantined_parts_to_hold_destination = 2;

// A quarantined part's next_attempt_at, and so the due time of its schedule entry: never due
// (the year 2255), so every schedule leaves it where it is until an operator releases it (a
// retry gives it a real due time again) or deletes or bounces it. Exact in milliseconds, so it
// survives the schedule key's rounding.
inline constexpr Clock::WallTime quarantined_due{std::chrono::milliseconds(9'000'000'000'000)};
inline bool is_quarantined(const Envelope& envelope) {
  return envelope.next_attempt_at >= quarantined_due;
}

// What Store::recover_in_flight found: how many of the interrupted parts are still queued, and
// the parts that crash put into quarantine (as they are stored now).
struct InFlightRecovery {
  std::uint64_t interrupted = 0;
  std::vector<Envelope> quarantined;
};

// Thread-safe: every shard calls the same Store concurrently. Operations on one part are
// expected to come from the shard that owns its destination, but sibling parts of a message
// belong to different shards, so update_envelope and remove_part serialise per message id:
// the store stays consistent (one schedule entry per part, a body exactly while a part
// needs it) whatever the interleaving.
class Store {
 public:
  virtual ~Store() = default;

  // Group commit: every message of `writes` in ONE write batch (synced when options.sync),
  // each with its parts, their schedule entries and its body. All or nothing: on failure
  // nothing of any of them is stored. Ids must be new (MessageIdGenerator): writing a part
  // that already exists is a caller bug. An envelope over the codec's bounds fails the whole
  // call with record_too_large before anything is written.
  virtual Result<void> write_batch(std::span<const MessageWrite> writes) = 0;
  // Convenience: one message of one part.
  Result<void> put(const Envelope& envelope, std::string_view body) {
    const MessageWrite write{std::span<const Envelope>(&envelope, 1), body};
    return write_batch(std::span<const MessageWrite>(&write, 1));
  }

  virtual Result<Envelope> read_envelope(PartKey key) = 0;
  virtual Result<std::string> read_body(MessageId id) = 0;
  // Replaces the envelope of a queued part and moves its schedule entry (the old entry found
  // from the stored envelope's next_attempt_at), in one synced batch; not_found if the part
  // was removed.
  virtual Result<void> update_envelope(const Envelope& envelope) = 0;
  // Deletes the part and its schedule entry, and the body when no other part of the message
  // remains, in one batch (synced as update_envelope); not_found if the part is absent.
  // With `final_state` (the part as delivery left it: id and part equal to `key`) and
  // StoreOptions::history on, the same batch also stores it as the part's history record, so
  // a reader sees the part either queued or in history, never neither; a removal that fails
  // records nothing. A final state over the codec's bounds fails with record_too_large and
  // removes nothing. Without it (operator delete), nothing is recorded.
  virtual Result<void> remove_part(PartKey key, const Envelope* final_state = nullptr) = 0;
  // Start-up: every schedule entry in due order (ties in key order), without reading
  // envelopes or bodies. Stops early if fn returns false. A damaged entry is skipped and the
  // call then returns corrupt_record.
  virtual Result<void> for_each_scheduled(const std::function<bool(ScheduledItem&&)>& fn) = 0;
  // Every part from `from` on, in (id, part) order; bodies are not loaded. Stops early if fn
  // returns false, so a long scan can be cut into slices that resume after the last key seen.
  // A record that does not decode is skipped and the scan goes on, so one damaged record
  // cannot hold back the rest; the call then returns corrupt_record naming the first one.
  virtual Result<void> for_each_envelope_from(PartKey from,
                                              const std::function<bool(Envelope&&)>& fn) = 0;
  Result<void> for_each_envelope(const std::function<bool(Envelope&&)>& fn) {
    return for_each_envelope_from(PartKey{}, fn);
  }
  // Number of queued parts. RocksDbStore counts by scanning envelope keys: O(n).
  // History records are not counted (nor visited by the for_each_* scans).
  virtual Result<std::uint64_t> count() = 0;

  // The queued parts of one message in part order (a prefix scan; bodies are not loaded);
  // empty when none is queued. A record that does not decode fails the call with
  // corrupt_record naming the part.
  virtual Result<std::vector<Envelope>> read_message(MessageId id) = 0;
  // The history records of one message (final states of its removed parts) in part order;
  // empty when there are none (still queued, never recorded, or expired). Damaged records
  // fail the call as in read_message. For a message's whole status call read_message first,
  // then read_history: a part removed between the two calls shows up in both (its history
  // record is the newer state), never in neither.
  virtual Result<std::vector<Envelope>> read_history(MessageId id) = 0;
  // Deletes the history of every message whose id is below `before` (ids are time-ordered:
  // first_message_id_at(now - N days), message_id.h, keeps N days) and returns how many
  // records went. Costs a scan of the expired records (to count them), so call it often
  // enough that each call expires a slice. A record written concurrently for an id below
  // `before` may survive (the next call takes it) or go uncounted.
  virtual Result<std::uint64_t> expire_history(MessageId before) = 0;

  // The crash-loop breaker (the marks themselves are InFlightTable's). Start-up, before the
  // schedule is read: `interrupted` are the parts the last process died while attempting.
  // Each one still queued gets one more crash (counted until the part goes or is released); a
  // part at `crashes_max` is quarantined: its next_attempt_at (and schedule entry) becomes
  // quarantined_due. Synced like an acceptance. The defaults do nothing (a store without a
  // breaker).
  virtual Result<InFlightRecovery> recover_in_flight(std::span<const PartKey> /*interrupted*/,
                                                     std::uint32_t /*crashes_max*/) {
    return InFlightRecovery{};
  }
  // Parts quarantined now (0 for a store without a breaker). Releasing one is an
  // update_envelope that gives it a due time again, which also forgets its crashes.
  virtual std::uint64_t quarantined_count() { return 0; }
  // The schedule entries of the quarantined parts (they sort last: a short scan).
  virtual Result<std::vector<ScheduledItem>> quarantined_parts() {
    return std::vector<ScheduledItem>{};
  }
};

}  // namespace mta::queue

template <>
struct std::hash<mta::queue::PartKey> {
  std::size_t operator()(const mta::queue::PartKey& key) const noexcept {
    // Ids from one millisecond differ in their low bits; mix the part in with a large odd
    // constant so parts of one message spread too.
    return std::hash<std::uint64_t>{}(key.message.value() ^
                                      (std::uint64_t{key.part} * 0x9e3779b97f4a7c15ULL));
  }
};
