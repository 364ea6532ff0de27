// RocksDbStore: the daemon's Store, one RocksDB database with column families `envelopes`
// and `bodies` keyed by the 8-byte big-endian message id (layout in queue/README.md).
// This header keeps RocksDB out of its includers; only rocksdb_store.cc sees it.
#pragma once

#include <memory>
#include <string>

#include "queue/store.h"

namespace mta::queue {

// Open once per process and share it: every shard calls it concurrently (RocksDB is
// thread-safe; a striped lock per id keeps update/remove from racing each other). Writes go
// through the WAL; with options.sync each write is fsynced before it returns.
class RocksDbStore final : public Store {
  struct Impl;
  class OpenKey {
    friend class RocksDbStore;
    OpenKey() = default;
  };

 public:
  // Creates the directory and the column families if missing. A directory held by another
  // process (or another open store in this one) gives Errc::locked naming the path.
  static Result<std::unique_ptr<RocksDbStore>> open(const std::string& path,
                                                    StoreOptions options = {});

  RocksDbStore(OpenKey, std::unique_ptr<Impl> impl);  // use open()
  ~RocksDbStore() override;
  RocksDbStore(const RocksDbStore&) = delete;
  RocksDbStore& operator=(const RocksDbStore&) = delete;

  Result<void> put(const Envelope& envelope, std::string_view body) override;
  Result<Envelope> read_envelope(MessageId id) override;
  Result<std::string> read_body(MessageId id) override;
  Result<void> update_envelope(const Envelope& envelope) override;
  Result<void> remove(MessageId id) override;
  Result<void> for_each_envelope(const std::function<bool(Envelope&&)>& fn) override;
  Result<std::uint64_t> count() override;

  const std::string& path() const;

  // Stores raw envelope bytes (with an empty body), to test how readers treat damaged records.
  Result<void> put_raw_envelope_for_test(MessageId id, std::string_view record);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mta::queue
