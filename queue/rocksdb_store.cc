// RocksDbStore: envelopes, bodies, the schedule index and history records in four column
// families of one RocksDB database; every change to a message is one WriteBatch through the
// WAL (fsynced when StoreOptions::sync). RocksDB statuses become queue::Errc here, with the status
// text kept in Error::detail.
#include "queue/rocksdb_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "base/assert.h"
#include "base/log.h"
#include "queue/errc.h"
#include "queue/keys.h"
#include "queue/rocksdb_support.h"

namespace mta::queue {
namespace {

constexpr const char* envelopes_cf = "envelopes";
constexpr const char* bodies_cf = "bodies";
constexpr const char* schedule_cf = "schedule";
// Added after format 2 shipped without it: open creates it in an older spool (RocksDB's
// create_missing_column_families), and nothing else changed, so the format stays 2.
constexpr const char* history_cf = "history";
// The crash-loop breaker (format 4): the crash count of each part that was in flight when the
// process died (the marks themselves are InFlightTable's, outside RocksDB).
constexpr const char* crashes_cf = "crashes";
// The default column family holds one marker so a layout change can tell old spools.
// Format 1 (one envelope per message, no schedule index) is refused: nothing was ever
// deployed with it, so there is no migration. Format 3 adds envelope records of version 3 and
// tagged schedule values (tenants), which a format-2 build cannot read: opening a format-2
// spool marks it 3 (everything of format 2 still reads), so an older build refuses it
// instead of dropping parts it cannot decode. Format 4 adds the crashes family and
// quarantined parts (due in 2255): opening a format-2 or 3 spool creates the family and marks
// it 4; an older build cannot open it (RocksDB wants every family named) and would read a
// quarantined part as due in 2255, so a downgrade needs quarantined parts released and the
// family dropped.
constexpr const char* format_key = "outpost.queue.format";
constexpr const char* format_value = "4";
constexpr std::array<const char*, 2> format_upgradable = {"2", "3"};

// Memory budget: one block cache for both families and a cap on all memtables together,
// so a spool with a million queued messages keeps the daemon small (README "Tuning").
constexpr std::size_t block_cache_bytes = 32 << 20;
constexpr std::size_t all_memtables_bytes = 64 << 20;
constexpr std::size_t envelopes_memtable_bytes = 8 << 20;
constexpr std::size_t bodies_memtable_bytes = 32 << 20;
constexpr std::size_t schedule_memtable_bytes = 4 << 20;
constexpr std::size_t history_memtable_bytes = 4 << 20;
constexpr std::size_t crashes_memtable_bytes = 1 << 20;  // a few tiny records

template <std::size_t N>
rocksdb::Slice slice(const std::array<char, N>& key) {
  return {key.data(), key.size()};
}

// A crashes record: the part's crash count, u32 little-endian.
std::string encode_crashes(std::uint32_t crashes) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((crashes >> (8 * i)) & 0xff);
  return out;
}
std::uint32_t decode_crashes(std::string_view bytes) {
  if (bytes.size() != 4) return 0;  // damaged: counted again from zero
  std::uint32_t crashes = 0;
  for (int i = 0; i < 4; ++i) {
    crashes |= std::uint32_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
  }
  return crashes;
}

std::string part_name(PartKey key) { return to_hex(key.message) + "/" + std::to_string(key.part); }

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

// For bodies and history: large or cold records, written once and rarely read.
rocksdb::CompressionType cold_compression() {
  const std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
  for (const rocksdb::CompressionType type :
       {rocksdb::kLZ4Compression, rocksdb::kSnappyCompression}) {
    if (std::find(supported.begin(), supported.end(), type) != supported.end()) return type;
  }
  return rocksdb::kNoCompression;
}

rocksdb::DBOptions db_options() {
  rocksdb::DBOptions options;
  set_common_options(options);
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
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  // Partitioned: a compacted file of a big backlog has an index of megabytes, larger than one
  // shard of the LRU cache (512 KiB), so a monolithic index block was evicted as soon as it was
  // used and every read_body read and decompressed it again (2.5 ms a read, BM_ReadBodyBacklog).
  // Split into 4 KiB partitions behind a small pinned top level, a read touches one cached
  // partition.
  table.index_type = rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
  table.metadata_block_size = 4096;
  table.pin_top_level_index_and_filter = true;
  if (bloom) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.partition_filters = true;
  }
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
  // default, envelopes, bodies, schedule, history, crashes
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::ColumnFamilyHandle* envelopes = nullptr;
  rocksdb::ColumnFamilyHandle* bodies = nullptr;
  rocksdb::ColumnFamilyHandle* schedule = nullptr;
  rocksdb::ColumnFamilyHandle* history = nullptr;
  rocksdb::ColumnFamilyHandle* crashes = nullptr;
  // Parts quarantined now, and records in `crashes`: while there are none (the usual case) an
  // outcome writes no tombstone for a crash count that cannot exist.
  std::atomic<std::uint64_t> quarantined{0};
  std::atomic<std::uint64_t> crash_records{0};
  rocksdb::WriteOptions write_options;
  rocksdb::WriteOptions disposition_write_options;
  // update_envelope and remove_part read, then write; a lock per message-id stripe makes that
  // atomic for all parts of a message (so the last of two sibling removals sees the other
  // and deletes the body) without serialising unrelated messages behind one fsync.
  std::array<std::mutex, 64> id_locks;
  WriteResumer resumer;  // clears a failed write's background error before the next write

  std::mutex& lock_for(MessageId id) { return id_locks[id.value() % id_locks.size()]; }

  ~Impl() {
    if (!db) return;
    for (rocksdb::ColumnFamilyHandle* handle : handles) {
      // Destroying a handle only fails for a null one; the database closes right after.
      static_cast<void>(db->DestroyColumnFamilyHandle(handle));
    }
    static_cast<void>(db->Close());
  }

  // `acceptance`: a new message, synced when options.sync. Otherwise an update or removal,
  // synced only when options.sync_dispositions too.
  //
  // A synced write is an unsynced Write() and then SyncWAL(), not Write(sync=true). RocksDB
  // writes one group at a time, and a sync=true group keeps the write queue while it fsyncs:
  // every other writer waits the whole fsync, and the others are the shards' reactors
  // recording delivery outcomes. SyncWAL() fsyncs the log outside the queue, so they go on.
  // The batch is visible before it is durable; nothing acts on it until this returns (the
  // group commit hands parts to delivery only then). When the fsync fails, the batch `undo`
  // makes (built only then) takes it back out, so that the client's retry does not leave a
  // second copy.
  rocksdb::Status write(rocksdb::WriteBatch& batch, bool acceptance = true,
                        const std::function<rocksdb::WriteBatch()>& undo = {}) {
    if (rocksdb::Status resumed = resumer.before_write(*db); !resumed.ok()) return resumed;
    const rocksdb::WriteOptions& options = acceptance ? write_options : disposition_write_options;
    rocksdb::WriteOptions unsynced = options;
    unsynced.sync = false;
    rocksdb::Status status = db->Write(unsynced, &batch);
    if (status.ok() && options.sync) {
      status = db->SyncWAL();
      if (!status.ok() && undo) {
        rocksdb::WriteBatch back_out = undo();
        static_cast<void>(db->Write(unsynced, &back_out));
      }
    }
    resumer.after_write(status);
    return status;
  }

  // The crash count of a part that leaves or is released goes with it, when any part has
  // one (usually none does: then nothing is added to the batch).
  rocksdb::Status forget_crashes(rocksdb::WriteBatch& batch, PartKey key) {
    if (crash_records.load(std::memory_order_relaxed) == 0) return rocksdb::Status::OK();
    return batch.Delete(crashes, slice(envelope_key(key)));
  }

  Result<Envelope> read_envelope(PartKey key) {
    const EnvelopeKey k = envelope_key(key);
    rocksdb::PinnableSlice value;
    const rocksdb::Status status = db->Get(rocksdb::ReadOptions(), envelopes, slice(k), &value);
    if (!status.ok()) return from_status(status, "read envelope " + part_name(key));
    return decode_envelope(value.ToStringView());
  }

  // Whether any part of `id` other than `except` is stored. Called with the id's lock held.
  Result<bool> has_other_part(MessageId id, std::uint32_t except) {
    const EnvelopeKey first = envelope_key(PartKey{id, 0});
    rocksdb::ReadOptions read_options;
    read_options.fill_cache = false;
    const rocksdb::Slice prefix(first.data(), 8);
    const std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read_options, envelopes));
    for (it->Seek(slice(first)); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      Result<PartKey> key = parse_envelope_key(it->key().ToStringView());
      if (!key || key->part != except) return true;
    }
    if (!it->status().ok()) return from_status(it->status(), "scan parts of " + to_hex(id));
    return false;
  }

  // Every record of `family` keyed by a part of `id`, decoded and checked against its key,
  // in part order; the first damaged one fails the call.
  Result<std::vector<Envelope>> read_parts(rocksdb::ColumnFamilyHandle* family, MessageId id,
                                           const char* what) {
    const EnvelopeKey first = envelope_key(PartKey{id, 0});
    const rocksdb::Slice prefix(first.data(), 8);
    const std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), family));
    std::vector<Envelope> out;
    for (it->Seek(slice(first)); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      Result<PartKey> key = parse_envelope_key(it->key().ToStringView());
      Result<Envelope> envelope =
          key ? decode_envelope(it->value().ToStringView()) : unexpected(key.error());
      if (envelope && (envelope->id != key->message || envelope->part != key->part)) {
        envelope = unexpected(Errc::corrupt_record, "id or part differs from key");
      }
      if (!envelope) {
        return unexpected(Errc::corrupt_record, std::string(what) + " " +
                                                    (key ? part_name(*key) : to_hex(id)) + ": " +
                                                    envelope.error().message());
      }
      out.push_back(std::move(envelope).value());
    }
    if (!it->status().ok()) {
      return from_status(it->status(), std::string("read ") + what + " of " + to_hex(id));
    }
    return out;
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
  bodies_options.compression = cold_compression();
  rocksdb::ColumnFamilyOptions history_options =
      family_options(cache, history_memtable_bytes, /*bloom=*/false);
  history_options.compression = cold_compression();
  const std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {envelopes_cf, family_options(cache, envelopes_memtable_bytes, /*bloom=*/true)},
      {bodies_cf, bodies_options},
      {schedule_cf, family_options(cache, schedule_memtable_bytes, /*bloom=*/false)},
      {history_cf, history_options},
      {crashes_cf, family_options(cache, crashes_memtable_bytes, /*bloom=*/false)},
  };

  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->store_options = options;
  impl->write_options.sync = options.sync;
  impl->disposition_write_options.sync = options.sync && options.sync_dispositions;
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
  MTA_ASSERT(impl->handles.size() == 6);
  impl->envelopes = impl->handles[1];
  impl->bodies = impl->handles[2];
  impl->schedule = impl->handles[3];
  impl->history = impl->handles[4];
  impl->crashes = impl->handles[5];

  std::string format;
  const rocksdb::Status read =
      impl->db->Get(rocksdb::ReadOptions(), impl->handles[0], format_key, &format);
  const bool upgradable = read.ok() && std::find(format_upgradable.begin(), format_upgradable.end(),
                                                 format) != format_upgradable.end();
  if (read.IsNotFound() || upgradable) {
    const rocksdb::Status wrote =
        impl->db->Put(impl->write_options, impl->handles[0], format_key, format_value);
    if (!wrote.ok()) return from_status(wrote, "write format marker in " + path);
  } else if (!read.ok()) {
    return from_status(read, "read format marker in " + path);
  } else if (format != format_value) {
    return unexpected(Errc::corrupt_record, "spool " + path + " has format " + format +
                                                ", this build reads format " + format_value +
                                                " only");
  }
  // The breaker's counts: quarantined parts sort last in the schedule (due in 2255), and
  // crash records are few (parts that were in flight at a crash).
  {
    rocksdb::ReadOptions read_options;
    read_options.fill_cache = false;
    const ScheduleKey held = schedule_key(quarantined_due, PartKey{});
    const std::unique_ptr<rocksdb::Iterator> it(
        impl->db->NewIterator(read_options, impl->schedule));
    std::uint64_t quarantined = 0;
    for (it->Seek(slice(held)); it->Valid(); it->Next()) ++quarantined;
    const std::unique_ptr<rocksdb::Iterator> crashes(
        impl->db->NewIterator(read_options, impl->crashes));
    std::uint64_t crash_records = 0;
    for (crashes->SeekToFirst(); crashes->Valid(); crashes->Next()) ++crash_records;
    if (!it->status().ok()) return from_status(it->status(), "count quarantined parts");
    if (!crashes->status().ok()) return from_status(crashes->status(), "count crash records");
    impl->quarantined = quarantined;
    impl->crash_records = crash_records;
  }
  return std::make_unique<RocksDbStore>(OpenKey(), std::move(impl));
}

RocksDbStore::RocksDbStore(OpenKey, std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RocksDbStore::~RocksDbStore() = default;

const std::string& RocksDbStore::path() const { return impl_->path; }

Result<void> RocksDbStore::write_batch(std::span<const MessageWrite> writes) {
  rocksdb::WriteBatch batch;
  rocksdb::Status status;
  for (const MessageWrite& write : writes) {
    MTA_ASSERT(!write.parts.empty());
    const MessageId id = write.parts.front().id;
    for (const Envelope& envelope : write.parts) {
      MTA_ASSERT(envelope.id == id);
      if (auto valid = validate_envelope(envelope); !valid) return unexpected(valid.error());
      const PartKey key{id, envelope.part};
      if (status.ok()) {
        status = batch.Put(impl_->envelopes, slice(envelope_key(key)), encode_envelope(envelope));
      }
      if (status.ok()) {
        status = batch.Put(impl_->schedule, slice(schedule_key(envelope.next_attempt_at, key)),
                           schedule_value(envelope));
      }
    }
    if (status.ok()) {
      status =
          batch.Put(impl_->bodies, slice(body_key(id)), {write.body.data(), write.body.size()});
    }
  }
  // Deletes what `batch` put; only a failed fsync needs it.
  const auto undo = [&] {
    rocksdb::WriteBatch back_out;
    for (const MessageWrite& write : writes) {
      const MessageId id = write.parts.front().id;
      for (const Envelope& envelope : write.parts) {
        const PartKey key{id, envelope.part};
        static_cast<void>(back_out.Delete(impl_->envelopes, slice(envelope_key(key))));
        static_cast<void>(
            back_out.Delete(impl_->schedule, slice(schedule_key(envelope.next_attempt_at, key))));
      }
      static_cast<void>(back_out.Delete(impl_->bodies, slice(body_key(id))));
    }
    return back_out;
  };
  if (status.ok()) status = impl_->write(batch, /*acceptance=*/true, undo);
  if (!status.ok()) {
    return from_status(status, "write " + std::to_string(writes.size()) + " messages");
  }
  return {};
}

Result<Envelope> RocksDbStore::read_envelope(PartKey key) { return impl_->read_envelope(key); }

Result<std::string> RocksDbStore::read_body(MessageId id) {
  std::string body;
  const rocksdb::Status status =
      impl_->db->Get(rocksdb::ReadOptions(), impl_->bodies, slice(body_key(id)), &body);
  if (!status.ok()) return from_status(status, "read body " + to_hex(id));
  return body;
}

Result<void> RocksDbStore::update_envelope(const Envelope& envelope) {
  if (auto valid = validate_envelope(envelope); !valid) return unexpected(valid.error());
  const PartKey key{envelope.id, envelope.part};
  const std::lock_guard lock(impl_->lock_for(envelope.id));
  Result<Envelope> stored = impl_->read_envelope(key);
  if (!stored) return unexpected(stored.error());
  // Delete before put: when the due time is unchanged the two keys are equal and the put wins.
  rocksdb::WriteBatch batch;
  rocksdb::Status status =
      batch.Delete(impl_->schedule, slice(schedule_key(stored->next_attempt_at, key)));
  if (status.ok()) {
    status = batch.Put(impl_->schedule, slice(schedule_key(envelope.next_attempt_at, key)),
                       schedule_value(envelope));
  }
  if (status.ok()) {
    status = batch.Put(impl_->envelopes, slice(envelope_key(key)), encode_envelope(envelope));
  }
  // Leaving quarantine (an operator's release) forgets the part's crashes.
  const bool was_held = is_quarantined(*stored);
  const bool held = is_quarantined(envelope);
  if (status.ok() && was_held && !held) status = impl_->forget_crashes(batch, key);
  if (status.ok()) status = impl_->write(batch, /*acceptance=*/false);
  if (!status.ok()) return from_status(status, "update " + part_name(key));
  if (was_held != held) {
    if (held) {
      ++impl_->quarantined;
    } else {
      --impl_->quarantined;
    }
  }
  return {};
}

Result<void> RocksDbStore::remove_part(PartKey key, const Envelope* final_state) {
  const bool record_history = final_state != nullptr && impl_->store_options.history;
  std::string history_record;
  if (record_history) {
    MTA_ASSERT(final_state->id == key.message);
    MTA_ASSERT(final_state->part == key.part);
    if (auto valid = validate_envelope(*final_state); !valid) return unexpected(valid.error());
    history_record = encode_envelope(*final_state);
  }
  const std::lock_guard lock(impl_->lock_for(key.message));
  Result<Envelope> stored = impl_->read_envelope(key);
  // A record that no longer decodes is still removable; its schedule entry cannot be found
  // from it, and for_each_scheduled reports the orphan.
  const bool decoded = stored.has_value();
  if (!decoded && stored.error().code != Errc::corrupt_record) return unexpected(stored.error());
  Result<bool> siblings = impl_->has_other_part(key.message, key.part);
  if (!siblings) return unexpected(siblings.error());
  rocksdb::WriteBatch batch;
  rocksdb::Status status = batch.Delete(impl_->envelopes, slice(envelope_key(key)));
  if (status.ok() && decoded) {
    status = batch.Delete(impl_->schedule, slice(schedule_key(stored->next_attempt_at, key)));
  }
  if (status.ok() && !*siblings) status = batch.Delete(impl_->bodies, slice(body_key(key.message)));
  // Same key as the envelope: history iterates in (id, part) order, oldest message first.
  if (status.ok() && record_history) {
    status = batch.Put(impl_->history, slice(envelope_key(key)), history_record);
  }
  if (status.ok()) status = impl_->forget_crashes(batch, key);
  if (status.ok()) status = impl_->write(batch, /*acceptance=*/false);
  if (!status.ok()) return from_status(status, "remove " + part_name(key));
  if (decoded && is_quarantined(*stored)) --impl_->quarantined;
  return {};
}

Result<void> RocksDbStore::for_each_scheduled(const std::function<bool(ScheduledItem&&)>& fn) {
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;  // start-up reads each entry once
  const std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(read_options, impl_->schedule));
  std::uint64_t corrupt_count = 0;
  std::string first_corrupt;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Result<ParsedScheduleKey> parsed = parse_schedule_key(it->key().ToStringView());
    if (!parsed) {
      if (corrupt_count++ == 0) first_corrupt = parsed.error().message();
      continue;
    }
    ScheduledItem item{.due = parsed->due, .key = parsed->key};
    if (!parse_schedule_value(it->value().ToStringView(), item)) {
      // Damaged tags only order the part among others: it is scheduled untagged for the
      // destination before them (the envelope, read before delivery, has its tags), not
      // left on disk unscheduled.
      item.tenant.clear();
      item.pool.clear();
      item.traffic_class = TrafficClass::transactional;
    }
    if (!fn(std::move(item))) break;
  }
  if (!it->status().ok()) return from_status(it->status(), "scan schedule");
  if (corrupt_count != 0) {
    return unexpected(
        Errc::corrupt_record,
        std::to_string(corrupt_count) + " corrupt schedule entries, first " + first_corrupt);
  }
  return {};
}

Result<void> RocksDbStore::for_each_envelope_from(PartKey from,
                                                  const std::function<bool(Envelope&&)>& fn) {
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;  // a recovery scan reads each record once
  const std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(read_options, impl_->envelopes));
  std::uint64_t corrupt_count = 0;
  std::string first_corrupt;
  const EnvelopeKey start = envelope_key(from);
  for (it->Seek(rocksdb::Slice(start.data(), start.size())); it->Valid(); it->Next()) {
    Result<PartKey> key = parse_envelope_key(it->key().ToStringView());
    Result<Envelope> envelope =
        key ? decode_envelope(it->value().ToStringView()) : unexpected(key.error());
    if (envelope && (envelope->id != key->message || envelope->part != key->part)) {
      envelope = unexpected(Errc::corrupt_record, "id or part differs from key");
    }
    if (!envelope) {
      if (corrupt_count++ == 0) {
        first_corrupt = (key ? part_name(*key) : "?") + " (" + envelope.error().message() + ")";
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

Result<std::vector<Envelope>> RocksDbStore::read_message(MessageId id) {
  return impl_->read_parts(impl_->envelopes, id, "envelope");
}

Result<std::vector<Envelope>> RocksDbStore::read_history(MessageId id) {
  return impl_->read_parts(impl_->history, id, "history");
}

Result<std::uint64_t> RocksDbStore::expire_history(MessageId before) {
  // From the empty key, so a damaged (short) key below the bound goes too.
  const EnvelopeKey end = envelope_key(PartKey{before, 0});
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;  // each expired record is read once, to count it
  const rocksdb::Slice upper(end.data(), end.size());
  read_options.iterate_upper_bound = &upper;
  const std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(read_options, impl_->history));
  std::uint64_t expired = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++expired;
  if (!it->status().ok()) return from_status(it->status(), "scan expired history");
  if (expired == 0) return expired;
  rocksdb::WriteBatch batch;
  rocksdb::Status status = batch.DeleteRange(impl_->history, rocksdb::Slice(), upper);
  if (status.ok()) status = impl_->write(batch, /*acceptance=*/false);
  if (!status.ok()) return from_status(status, "expire history before " + to_hex(before));
  return expired;
}

Result<InFlightRecovery> RocksDbStore::recover_in_flight(std::span<const PartKey> interrupted,
                                                         std::uint32_t crashes_max) {
  InFlightRecovery report;
  for (const PartKey key : interrupted) {
    const EnvelopeKey k = envelope_key(key);
    const std::lock_guard lock(impl_->lock_for(key.message));
    Result<Envelope> stored = impl_->read_envelope(key);
    if (!stored && stored.error().code == Errc::not_found) continue;  // finished after all
    if (!stored) return unexpected(stored.error());
    ++report.interrupted;
    std::string value;
    const rocksdb::Status read =
        impl_->db->Get(rocksdb::ReadOptions(), impl_->crashes, slice(k), &value);
    if (!read.ok() && !read.IsNotFound()) return from_status(read, "read crashes");
    const std::uint32_t crashes = (read.ok() ? decode_crashes(value) : 0) + 1;
    rocksdb::WriteBatch batch;
    rocksdb::Status status = batch.Put(impl_->crashes, slice(k), encode_crashes(crashes));
    const bool newly_held = crashes >= crashes_max && !is_quarantined(*stored);
    if (newly_held) {
      if (status.ok()) {
        status = batch.Delete(impl_->schedule, slice(schedule_key(stored->next_attempt_at, key)));
      }
      stored->next_attempt_at = quarantined_due;
      if (status.ok()) {
        status = batch.Put(impl_->schedule, slice(schedule_key(quarantined_due, key)),
                           schedule_value(*stored));
      }
      if (status.ok()) status = batch.Put(impl_->envelopes, slice(k), encode_envelope(*stored));
    }
    if (status.ok()) status = impl_->write(batch, /*acceptance=*/true);
    if (!status.ok()) return from_status(status, "count a crash against " + part_name(key));
    if (read.IsNotFound()) ++impl_->crash_records;
    if (newly_held) {
      ++impl_->quarantined;
      report.quarantined.push_back(std::move(stored).value());
    }
  }
  return report;
}

std::uint64_t RocksDbStore::quarantined_count() { return impl_->quarantined.load(); }

Result<std::vector<ScheduledItem>> RocksDbStore::quarantined_parts() {
  const ScheduleKey held = schedule_key(quarantined_due, PartKey{});
  const std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->schedule));
  std::vector<ScheduledItem> out;
  for (it->Seek(slice(held)); it->Valid(); it->Next()) {
    Result<ParsedScheduleKey> parsed = parse_schedule_key(it->key().ToStringView());
    if (!parsed) continue;  // for_each_scheduled reports damaged entries
    ScheduledItem item{.due = parsed->due, .key = parsed->key};
    if (!parse_schedule_value(it->value().ToStringView(), item)) continue;
    out.push_back(std::move(item));
  }
  if (!it->status().ok()) return from_status(it->status(), "scan quarantined parts");
  return out;
}

Result<void> RocksDbStore::put_raw_history_for_test(PartKey key, std::string_view record) {
  const rocksdb::Status status =
      impl_->db->Put(impl_->write_options, impl_->history, slice(envelope_key(key)),
                     {record.data(), record.size()});
  if (!status.ok()) return from_status(status, "put raw history " + part_name(key));
  return {};
}

Result<void> RocksDbStore::compact_for_test() {
  for (rocksdb::ColumnFamilyHandle* family :
       {impl_->envelopes, impl_->bodies, impl_->schedule, impl_->history}) {
    rocksdb::CompactRangeOptions options;
    options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    const rocksdb::Status status = impl_->db->CompactRange(options, family, nullptr, nullptr);
    if (!status.ok()) return from_status(status, "compact");
  }
  return {};
}

Result<void> RocksDbStore::put_raw_envelope_for_test(PartKey key, std::string_view record) {
  rocksdb::WriteBatch batch;
  rocksdb::Status status =
      batch.Put(impl_->envelopes, slice(envelope_key(key)), {record.data(), record.size()});
  if (status.ok())
    status = batch.Put(impl_->bodies, slice(body_key(key.message)), rocksdb::Slice());
  if (status.ok()) status = impl_->write(batch);
  if (!status.ok()) return from_status(status, "put raw " + part_name(key));
  return {};
}

Result<void> RocksDbStore::put_raw_schedule_key_for_test(std::string_view key) {
  const rocksdb::Status status =
      impl_->db->Put(impl_->write_options, impl_->schedule, {key.data(), key.size()}, "");
  if (!status.ok()) return from_status(status, "put raw schedule key");
  return {};
}

}  // namespace mta::queue
