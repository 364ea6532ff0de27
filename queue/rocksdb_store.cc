// RocksDbStore: envelopes and bodies in two column families of one RocksDB database, written
// together in one WriteBatch through the WAL (fsynced when StoreOptions::sync). RocksDB
// statuses become queue::Errc here, with the status text kept in Error::detail.
#include "queue/rocksdb_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <mutex>
#include <utility>
#include <vector>

#include "base/assert.h"
#include "queue/errc.h"

namespace mta::queue {
namespace {

constexpr const char* envelopes_cf = "envelopes";
constexpr const char* bodies_cf = "bodies";
// The default column family holds one marker so a future layout change can tell old spools.
constexpr const char* format_key = "outpost.queue.format";
constexpr const char* format_value = "1";

// Memory budget: one block cache for both families and a cap on all memtables together,
// so a spool with a million queued messages keeps the daemon small (README "Tuning").
constexpr std::size_t block_cache_bytes = 32 << 20;
constexpr std::size_t all_memtables_bytes = 64 << 20;
constexpr std::size_t envelopes_memtable_bytes = 8 << 20;
constexpr std::size_t bodies_memtable_bytes = 32 << 20;

using Key = std::array<char, 8>;

// Big-endian so RocksDB's bytewise order is id order, which is acceptance-time order.
Key make_key(MessageId id) {
  Key key{};
  std::uint64_t v = id.value();
  for (int i = 7; i >= 0; --i) {
    key[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xffU);
    v >>= 8U;
  }
  return key;
}

rocksdb::Slice slice(const Key& key) { return {key.data(), key.size()}; }

Result<MessageId> parse_key(const rocksdb::Slice& key) {
  if (key.size() != 8) {
    return unexpected(Errc::corrupt_record, "key of " + std::to_string(key.size()) + " bytes");
  }
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8U) | static_cast<unsigned char>(key[i]);
  return MessageId(v);
}

Unexpected<Error> from_status(const rocksdb::Status& status, const std::string& what) {
  MTA_ASSERT(!status.ok());
  std::string detail = what + ": " + status.ToString();
  if (status.IsNotFound()) return unexpected(Errc::not_found, std::move(detail));
  if (status.IsNoSpace()) return unexpected(Errc::no_space, std::move(detail));
  if (status.IsCorruption()) return unexpected(Errc::corrupt_record, std::move(detail));
  return unexpected(Errc::io_error, std::move(detail));
}

// RocksDB reports a held LOCK file as a plain IOError: "While lock file: <dir>/LOCK: Resource
// temporarily unavailable" from another process, "lock hold by current process" from this one.
bool is_lock_error(const rocksdb::Status& status) {
  const std::string text = status.ToString();
  return status.IsIOError() &&
         (text.find("/LOCK") != std::string::npos || text.find("lock") != std::string::npos);
}

rocksdb::CompressionType body_compression() {
  const std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
  for (const rocksdb::CompressionType type :
       {rocksdb::kLZ4Compression, rocksdb::kSnappyCompression}) {
    if (std::find(supported.begin(), supported.end(), type) != supported.end()) return type;
  }
  return rocksdb::kNoCompression;
}

rocksdb::DBOptions db_options() {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  // Two cores: one flush and one compaction at a time is enough and leaves the shards room.
  options.max_background_jobs = 2;
  options.db_write_buffer_size = all_memtables_bytes;
  // The WAL must be on (it is what a synced write waits for); cap its size so a rarely
  // written family cannot keep old logs alive forever.
  options.max_total_wal_size = 128 << 20;
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  options.bytes_per_sync = 1 << 20;
  options.keep_log_file_num = 4;
  options.max_log_file_size = 8 << 20;
  return options;
}

rocksdb::ColumnFamilyOptions family_options(const std::shared_ptr<rocksdb::Cache>& cache,
                                            std::size_t memtable_bytes, bool bloom) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  // Index and filter blocks count against the cache too, or they grow with the spool.
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  if (bloom) table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions options;
  options.write_buffer_size = memtable_bytes;
  options.max_write_buffer_number = 2;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

}  // namespace

struct RocksDbStore::Impl {
  std::string path;
  StoreOptions store_options;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // default, envelopes, bodies
  rocksdb::ColumnFamilyHandle* envelopes = nullptr;
  rocksdb::ColumnFamilyHandle* bodies = nullptr;
  rocksdb::WriteOptions write_options;
  // update_envelope and remove read, then write; a lock per id stripe makes that pair atomic
  // without serialising unrelated messages behind one fsync.
  std::array<std::mutex, 64> id_locks;

  std::mutex& lock_for(MessageId id) { return id_locks[id.value() % id_locks.size()]; }

  ~Impl() {
    if (!db) return;
    for (rocksdb::ColumnFamilyHandle* handle : handles) {
      // Destroying a handle only fails for a null one; the database closes right after.
      static_cast<void>(db->DestroyColumnFamilyHandle(handle));
    }
    static_cast<void>(db->Close());
  }

  // Ok (true), not_found (false) or an error.
  Result<bool> envelope_exists(MessageId id) {
    const Key key = make_key(id);
    rocksdb::PinnableSlice value;
    const rocksdb::Status status = db->Get(rocksdb::ReadOptions(), envelopes, slice(key), &value);
    if (status.IsNotFound()) return false;
    if (!status.ok()) return from_status(status, "get envelope " + to_hex(id));
    return true;
  }
};

Result<std::unique_ptr<RocksDbStore>> RocksDbStore::open(const std::string& path,
                                                         StoreOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return unexpected(Errc::io_error, "create " + path + ": " + ec.message());

  auto cache = rocksdb::NewLRUCache(block_cache_bytes);
  rocksdb::ColumnFamilyOptions bodies_options =
      family_options(cache, bodies_memtable_bytes, /*bloom=*/false);
  bodies_options.compression = body_compression();
  const std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {envelopes_cf, family_options(cache, envelopes_memtable_bytes, /*bloom=*/true)},
      {bodies_cf, bodies_options},
  };

  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->store_options = options;
  impl->write_options.sync = options.sync;
  impl->write_options.disableWAL = false;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status status =
      rocksdb::DB::Open(db_options(), path, families, &impl->handles, &raw);
  if (!status.ok()) {
    if (is_lock_error(status)) {
      return unexpected(Errc::locked, "spool " + path +
                                          " is in use by another process (or already open "
                                          "in this one): " +
                                          status.ToString());
    }
    return from_status(status, "open " + path);
  }
  impl->db.reset(raw);
  MTA_ASSERT(impl->handles.size() == 3);
  impl->envelopes = impl->handles[1];
  impl->bodies = impl->handles[2];

  std::string format;
  const rocksdb::Status read =
      impl->db->Get(rocksdb::ReadOptions(), impl->handles[0], format_key, &format);
  if (read.IsNotFound()) {
    const rocksdb::Status wrote =
        impl->db->Put(impl->write_options, impl->handles[0], format_key, format_value);
    if (!wrote.ok()) return from_status(wrote, "write format marker in " + path);
  } else if (!read.ok()) {
    return from_status(read, "read format marker in " + path);
  } else if (format != format_value) {
    return unexpected(Errc::corrupt_record, "spool " + path + " has unknown format " + format);
  }
  return std::make_unique<RocksDbStore>(OpenKey(), std::move(impl));
}

RocksDbStore::RocksDbStore(OpenKey, std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RocksDbStore::~RocksDbStore() = default;

const std::string& RocksDbStore::path() const { return impl_->path; }

Result<void> RocksDbStore::put(const Envelope& envelope, std::string_view body) {
  if (auto valid = validate_envelope(envelope); !valid) return unexpected(valid.error());
  const std::string record = encode_envelope(envelope);
  const Key key = make_key(envelope.id);
  rocksdb::WriteBatch batch;
  rocksdb::Status status = batch.Put(impl_->envelopes, slice(key), record);
  if (status.ok()) status = batch.Put(impl_->bodies, slice(key), {body.data(), body.size()});
  if (status.ok()) status = impl_->db->Write(impl_->write_options, &batch);
  if (!status.ok()) return from_status(status, "put " + to_hex(envelope.id));
  return {};
}

Result<Envelope> RocksDbStore::read_envelope(MessageId id) {
  const Key key = make_key(id);
  rocksdb::PinnableSlice value;
  const rocksdb::Status status =
      impl_->db->Get(rocksdb::ReadOptions(), impl_->envelopes, slice(key), &value);
  if (!status.ok()) return from_status(status, "read envelope " + to_hex(id));
  return decode_envelope(value.ToStringView());
}

Result<std::string> RocksDbStore::read_body(MessageId id) {
  const Key key = make_key(id);
  std::string body;
  const rocksdb::Status status =
      impl_->db->Get(rocksdb::ReadOptions(), impl_->bodies, slice(key), &body);
  if (!status.ok()) return from_status(status, "read body " + to_hex(id));
  return body;
}

Result<void> RocksDbStore::update_envelope(const Envelope& envelope) {
  if (auto valid = validate_envelope(envelope); !valid) return unexpected(valid.error());
  const std::string record = encode_envelope(envelope);
  const Key key = make_key(envelope.id);
  const std::lock_guard lock(impl_->lock_for(envelope.id));
  Result<bool> exists = impl_->envelope_exists(envelope.id);
  if (!exists) return unexpected(exists.error());
  if (!*exists) return unexpected(Errc::not_found, to_hex(envelope.id));
  const rocksdb::Status status =
      impl_->db->Put(impl_->write_options, impl_->envelopes, slice(key), record);
  if (!status.ok()) return from_status(status, "update " + to_hex(envelope.id));
  return {};
}

Result<void> RocksDbStore::remove(MessageId id) {
  const Key key = make_key(id);
  const std::lock_guard lock(impl_->lock_for(id));
  Result<bool> exists = impl_->envelope_exists(id);
  if (!exists) return unexpected(exists.error());
  if (!*exists) return unexpected(Errc::not_found, to_hex(id));
  rocksdb::WriteBatch batch;
  rocksdb::Status status = batch.Delete(impl_->envelopes, slice(key));
  if (status.ok()) status = batch.Delete(impl_->bodies, slice(key));
  if (status.ok()) status = impl_->db->Write(impl_->write_options, &batch);
  if (!status.ok()) return from_status(status, "remove " + to_hex(id));
  return {};
}

Result<void> RocksDbStore::for_each_envelope(const std::function<bool(Envelope&&)>& fn) {
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;  // a recovery scan reads each record once
  const std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(read_options, impl_->envelopes));
  std::uint64_t corrupt_count = 0;
  std::string first_corrupt;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Result<MessageId> id = parse_key(it->key());
    Result<Envelope> envelope =
        id ? decode_envelope(it->value().ToStringView()) : unexpected(id.error());
    if (envelope && envelope->id != *id) {
      envelope = unexpected(Errc::corrupt_record, "id differs from key");
    }
    if (!envelope) {
      if (corrupt_count++ == 0) {
        first_corrupt = (id ? to_hex(*id) : "?") + " (" + envelope.error().message() + ")";
      }
      continue;
    }
    if (!fn(std::move(envelope).value())) break;
  }
  if (!it->status().ok()) return from_status(it->status(), "scan envelopes");
  if (corrupt_count != 0) {
    return unexpected(Errc::corrupt_record,
                      std::to_string(corrupt_count) + " corrupt envelopes, first " + first_corrupt);
  }
  return {};
}

Result<std::uint64_t> RocksDbStore::count() {
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;
  const std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(read_options, impl_->envelopes));
  std::uint64_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  if (!it->status().ok()) return from_status(it->status(), "count envelopes");
  return n;
}

Result<void> RocksDbStore::put_raw_envelope_for_test(MessageId id, std::string_view record) {
  const Key key = make_key(id);
  rocksdb::WriteBatch batch;
  rocksdb::Status status = batch.Put(impl_->envelopes, slice(key), {record.data(), record.size()});
  if (status.ok()) status = batch.Put(impl_->bodies, slice(key), rocksdb::Slice());
  if (status.ok()) status = impl_->db->Write(impl_->write_options, &batch);
  if (!status.ok()) return from_status(status, "put raw " + to_hex(id));
  return {};
}

}  // namespace mta::queue
