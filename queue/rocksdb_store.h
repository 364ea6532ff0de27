// RocksDbStore: the daemon's Store, one RocksDB database with column families `envelopes`
// (message id + part), `bodies` (message id), `schedule` (due ms + message id + part),
// `history` and `crashes` (message id + part), big-endian keys (layout in
// queue/README.md). This header keeps RocksDB out of its includers; only rocksdb_store.cc sees it.
#pragma once

#include <memory>
#include <string>

#include "queue/store.h"

namespace mta::queue {

// Open once per process and share it: every shard calls it concurrently (RocksDB is
// thread-safe; a striped lock per message id serialises update_envelope and remove_part of
// sibling parts). Writes go through the WAL; with options.sync each write is fsynced before
// it returns. After a failed write (disk full, I/O error) RocksDB stops accepting writes;
// the next write first calls DB::Resume(), so a transient ENOSPC needs no restart.
class RocksDbStore final : public Store {
  struct Impl;
  class OpenKey {
    friend class RocksDbStore;
    OpenKey() = default;
  };

 public:
  // Creates the directory and the column families if missing (so a spool written before the
  // `history` family existed gains it here). A directory held by another process (or another
  // open store in this one) gives Errc::locked naming the path.
  static Result<std::unique_ptr<RocksDbStore>> open(const std::string& path,
                                                    StoreOptions options = {});

  RocksDbStore(OpenKey, std::unique_ptr<Impl> impl);  // use open()
  ~RocksDbStore() override;
  RocksDbStore(const RocksDbStore&) = delete;
  RocksDbStore& operator=(const RocksDbStore&) = delete;

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
  // One DeleteRange over the expired ids (a range tombstone; compaction reclaims the space),
  // after an iterator pass over the same range counts them.
  Result<std::uint64_t> expire_history(MessageId before) override;
  Result<InFlightRecovery> recover_in_flight(std::span<const PartKey> interrupted,
                                             std::uint32_t crashes_max) override;
  std::uint64_t quarantined_count() override;
  Result<std::vector<ScheduledItem>> quarantined_parts() override;

  const std::string& path() const;

  // Stores raw envelope bytes (with an empty body and no schedule entry), to test how readers
  // treat damaged records.
  Result<void> put_raw_envelope_for_test(PartKey key, std::string_view record);
  // Stores a raw schedule key, to test how for_each_scheduled treats damaged entries.
  Result<void> put_raw_schedule_key_for_test(std::string_view key);
  // Stores raw bytes as the history record of `key`, to test how read_history treats them.
  Result<void> put_raw_history_for_test(PartKey key, std::string_view record);
  // Flushes the memtables and compacts every family down to one level, so tests and
  // benchmarks read from large SST files as a long-running spool does.
  Result<void> compact_for_test();

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mta::queue
