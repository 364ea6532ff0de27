// MailStore and Suppressions over one RocksDB database. Records, all integers big-endian so
// keys sort by folder and UID:
//   "F" u32 folder            -> u32 uidvalidity, u32 uidnext, u8 0 (unused), str name
//   "L" name                  -> "" (a subscription)
//   "M" u32 folder u32 uid    -> u8 flags, i64 internal date, u64 size, u32 n, n x str keyword
//   "B" u32 folder u32 uid    -> the message bytes
//   "S" address               -> str category, str reason, i64 added at
//   "N"                       -> u32 next folder id, u32 last uidvalidity
// (str = u32 length, then the bytes.) Every change is one WriteBatch, so a crash leaves a
// folder either with a message (index and body) or without it.
#include "mailbox/store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <utility>

#include "base/ascii.h"
#include "base/assert.h"
#include "base/envelope_address.h"
#include "mailbox/errc.h"
#include "queue/rocksdb_support.h"

namespace mta::mailbox {
namespace {

constexpr std::size_t folder_name_bytes_max = 255;
constexpr std::string_view meta_key = "N";
const RealClock system_clock;

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

// Reads what put_* wrote; any read past the end makes ok() false and returns zeros.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  std::uint64_t uint(int bytes) {
    if (data_.size() < static_cast<std::size_t>(bytes)) {
      ok_ = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(data_[i]);
    data_.remove_prefix(static_cast<std::size_t>(bytes));
    return v;
  }
  std::string str() {
    const auto n = static_cast<std::size_t>(uint(4));
    if (!ok_ || data_.size() < n) {
      ok_ = false;
      return {};
    }
    std::string s(data_.substr(0, n));
    data_.remove_prefix(n);
    return s;
  }
  bool ok() const { return ok_; }

 private:
  std::string_view data_;
  bool ok_ = true;
};

std::string folder_key(std::uint32_t folder) {
  std::string key = "F";
  put_u32(key, folder);
  return key;
}
std::string message_key(char kind, std::uint32_t folder, std::uint32_t uid) {
  std::string key(1, kind);
  put_u32(key, folder);
  put_u32(key, uid);
  return key;
}
std::string suppression_record_key(std::string_view key) { return "S" + std::string(key); }

// The folder record with `uidnext` and `name` as given (the folder's own by default): a change
// is encoded without copying the folder and its message index.
std::string encode_folder(const Folder& folder, std::optional<std::uint32_t> uidnext = {},
                          std::optional<std::string_view> name = {}) {
  std::string out;
  put_u32(out, folder.uidvalidity);
  put_u32(out, uidnext.value_or(folder.uidnext));
  out.push_back(0);
  put_str(out, name.value_or(folder.name));
  return out;
}

std::string subscription_key(std::string_view name) { return "L" + std::string(name); }
std::string encode_meta(const MessageMeta& meta) {
  std::string out;
  out.push_back(static_cast<char>(meta.flags));
  put_u64(out, static_cast<std::uint64_t>(meta.internal_date));
  put_u64(out, meta.size);
  put_u32(out, static_cast<std::uint32_t>(meta.keywords.size()));
  for (const auto& keyword : meta.keywords) put_str(out, keyword);
  return out;
}

Unexpected<Error> from_status(const rocksdb::Status& status, std::string what) {
  MTA_ASSERT(!status.ok());
  what += ": " + status.ToString();
  if (status.IsNoSpace()) return unexpected(Errc::no_space, std::move(what));
  if (status.IsCorruption()) return unexpected(Errc::corrupt_record, std::move(what));
  return unexpected(Errc::io_error, std::move(what));
}

// One write through `resumer` (which clears an earlier failure's background error first).
// Synced as the queue does it: an unsynced Write(), then SyncWAL(). Besides not holding
// RocksDB's write queue during the fsync, this is what keeps Debian's librocksdb from
// aborting on a full disk: after a failed append its WAL writer asserts unless the last sync
// was a SyncWAL() (WritableFileWriter::AssertFalseAndGetStatusForPrevError). When the fsync
// fails the batch may still be read back after a restart: a bounce stored twice, never one
// acknowledged and lost.
rocksdb::Status write_through(rocksdb::DB& db, queue::WriteResumer& resumer,
                              rocksdb::WriteBatch& batch, bool sync) {
  if (rocksdb::Status resumed = resumer.before_write(db); !resumed.ok()) return resumed;
  rocksdb::Status status = db.Write(rocksdb::WriteOptions(), &batch);
  if (status.ok() && sync) status = db.SyncWAL();
  resumer.after_write(status);
  return status;
}

bool is_inbox(std::string_view name) { return iequals(name, "INBOX"); }

}  // namespace

std::string canonical_folder_name(std::string_view name) {
  const std::string_view first = name.substr(0, name.find('/'));
  if (!is_inbox(first)) return std::string(name);
  return "INBOX" + std::string(name.substr(first.size()));
}

namespace {

void apply_flags(MessageMeta& meta, FlagChange change, std::uint8_t flags,
                 const std::vector<std::string>& keywords) {
  auto has = [&meta](const std::string& k) {
    return std::find(meta.keywords.begin(), meta.keywords.end(), k) != meta.keywords.end();
  };
  switch (change) {
    case FlagChange::replace:
      meta.flags = flags;
      meta.keywords = keywords;
      break;
    case FlagChange::add:
      meta.flags |= flags;
      for (const auto& k : keywords) {
        if (!has(k)) meta.keywords.push_back(k);
      }
      break;
    case FlagChange::remove:
      meta.flags &= static_cast<std::uint8_t>(~flags);
      std::erase_if(meta.keywords, [&keywords](const std::string& k) {
        return std::find(keywords.begin(), keywords.end(), k) != keywords.end();
      });
      break;
  }
}

}  // namespace

bool valid_folder_name(std::string_view name) {
  if (name.empty() || name.size() > folder_name_bytes_max) return false;
  if (name.front() == '/' || name.back() == '/') return false;
  if (name.find("//") != std::string_view::npos) return false;
  // '*' and '%' are LIST wildcards; a folder with them could never be listed by pattern.
  return std::none_of(name.begin(), name.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '*' || c == '%';
  });
}

// ---- Suppressions ------------------------------------------------------------------------

Result<void> Suppressions::load() {
  std::unique_ptr<rocksdb::Iterator> it(db_.NewIterator(rocksdb::ReadOptions()));
  std::unique_lock lock(mutex_);
  for (it->Seek("S"); it->Valid() && it->key().starts_with("S"); it->Next()) {
    Reader reader(it->value().ToStringView());
    Suppression entry;
    entry.address = it->key().ToString().substr(1);
    entry.category = reader.str();
    entry.reason = reader.str();
    entry.added_at = static_cast<std::int64_t>(reader.uint(8));
    if (!reader.ok()) {
      return unexpected(Errc::corrupt_record, "suppression of " + entry.address);
    }
    entries_[entry.address] = std::move(entry);
  }
  count_.store(entries_.size(), std::memory_order_release);
  if (!it->status().ok()) return from_status(it->status(), "read suppressions");
  return {};
}

bool Suppressions::contains(std::string_view address) const {
  if (count_.load(std::memory_order_acquire) == 0) return false;
  const std::string key = mta::suppression_key(address);
  std::shared_lock lock(mutex_);
  return entries_.contains(key);
}

std::optional<Suppression> Suppressions::find(std::string_view address) const {
  if (count_.load(std::memory_order_acquire) == 0) return std::nullopt;
  const std::string key = mta::suppression_key(address);
  std::shared_lock lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

Result<void> Suppressions::add(Suppression entry) {
  entry.address = mta::suppression_key(entry.address);
  std::string value;
  put_str(value, entry.category);
  put_str(value, entry.reason);
  put_u64(value, static_cast<std::uint64_t>(entry.added_at));
  rocksdb::WriteBatch batch;
  batch.Put(suppression_record_key(entry.address), value);
  std::unique_lock lock(mutex_);
  if (auto status = write_through(db_, resumer_, batch, sync_); !status.ok()) {
    return from_status(status, "suppress " + entry.address);
  }
  entries_[entry.address] = std::move(entry);
  count_.store(entries_.size(), std::memory_order_release);
  return {};
}

Result<bool> Suppressions::remove(std::string_view address) {
  const std::string key = mta::suppression_key(address);
  rocksdb::WriteBatch batch;
  batch.Delete(suppression_record_key(key));
  std::unique_lock lock(mutex_);
  if (!entries_.contains(key)) return false;
  if (auto status = write_through(db_, resumer_, batch, sync_); !status.ok()) {
    return from_status(status, "unsuppress " + key);
  }
  entries_.erase(key);
  count_.store(entries_.size(), std::memory_order_release);
  return true;
}

std::vector<Suppression> Suppressions::list(std::string_view filter, std::size_t limit) const {
  const std::string needle = ascii_lowercase(filter);
  std::vector<Suppression> out;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [address, entry] : entries_) {
      if (needle.empty() || address.find(needle) != std::string::npos) out.push_back(entry);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Suppression& a, const Suppression& b) { return a.address < b.address; });
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::size_t Suppressions::size() const { return count_.load(std::memory_order_acquire); }

// ---- MailStore ---------------------------------------------------------------------------

Result<std::unique_ptr<MailStore>> MailStore::open(const std::string& path, StoreOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return unexpected(ec, "create " + path);
  // Set up like the queue's families: a full disk must fail writes, not wedge or abort RocksDB.
  // Small memtables (OptimizeForSmallDb) flushed often, and a flush failing on a full disk
  // sometimes left DB::Resume() waiting forever for it (MailStoreDiskFull, 2 runs in 5); with
  // memtables the size of the queue's, a write fails at the WAL as it does there.
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.max_background_jobs = 2;
  db_options.write_buffer_size = 16 << 20;
  db_options.max_write_buffer_number = 2;
  db_options.max_total_wal_size = 64 << 20;
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(8 << 20);
  db_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Our logger (no LOG file on the spool's disk) and resume-on-next-write after a full disk.
  queue::set_common_options(db_options);
  rocksdb::DB* raw = nullptr;
  if (auto status = rocksdb::DB::Open(db_options, path, &raw); !status.ok()) {
    return from_status(status, "open mailbox " + path);
  }
  auto store = std::make_unique<MailStore>(std::unique_ptr<rocksdb::DB>(raw), options);
  if (auto loaded = store->load(); !loaded) return unexpected(loaded.error());
  return store;
}

MailStore::MailStore(std::unique_ptr<rocksdb::DB> db, StoreOptions options)
    : db_(std::move(db)),
      resumer_(std::make_unique<queue::WriteResumer>()),
      options_(options),
      suppressions_(std::make_unique<Suppressions>(*db_, *resumer_, options.sync)),
      clock_(options.clock != nullptr ? options.clock : &system_clock) {}

Result<void> MailStore::write(rocksdb::WriteBatch& batch, bool sync, const std::string& what) {
  if (auto status = write_through(*db_, *resumer_, batch, sync); !status.ok()) {
    return from_status(status, what);
  }
  return {};
}

MailStore::~MailStore() {
  if (db_ != nullptr) (void)db_->Close();
}

Result<void> MailStore::load() {
  std::string meta;
  if (auto status = db_->Get(rocksdb::ReadOptions(), meta_key, &meta); status.ok()) {
    Reader reader(meta);
    next_folder_id_ = static_cast<std::uint32_t>(reader.uint(4));
    last_uidvalidity_ = static_cast<std::uint32_t>(reader.uint(4));
    if (!reader.ok()) return unexpected(Errc::corrupt_record, "mailbox counters");
  } else if (!status.IsNotFound()) {
    return from_status(status, "read mailbox counters");
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("F"); it->Valid() && it->key().starts_with("F"); it->Next()) {
    Reader key(it->key().ToStringView().substr(1));
    Reader value(it->value().ToStringView());
    Folder folder;
    folder.id = static_cast<std::uint32_t>(key.uint(4));
    folder.uidvalidity = static_cast<std::uint32_t>(value.uint(4));
    folder.uidnext = static_cast<std::uint32_t>(value.uint(4));
    (void)value.uint(1);  // unused
    folder.name = value.str();
    if (!key.ok() || !value.ok()) return unexpected(Errc::corrupt_record, "folder record");
    next_folder_id_ = std::max(next_folder_id_, folder.id + 1);
    folders_.emplace(folder.id, std::move(folder));
  }
  for (it->Seek("M"); it->Valid() && it->key().starts_with("M"); it->Next()) {
    Reader key(it->key().ToStringView().substr(1));
    Reader value(it->value().ToStringView());
    const auto folder_id = static_cast<std::uint32_t>(key.uint(4));
    MessageMeta message;
    message.uid = static_cast<std::uint32_t>(key.uint(4));
    message.flags = static_cast<std::uint8_t>(value.uint(1));
    message.internal_date = static_cast<std::int64_t>(value.uint(8));
    message.size = value.uint(8);
    const auto keywords = value.uint(4);
    for (std::uint64_t k = 0; k < keywords && value.ok(); ++k) {
      message.keywords.push_back(value.str());
    }
    if (!key.ok() || !value.ok()) return unexpected(Errc::corrupt_record, "message record");
    auto folder = folders_.find(folder_id);
    if (folder == folders_.end()) continue;  // left by a folder deleted mid-way; harmless
    indexed(folder_id, message);
    folder->second.messages.emplace(message.uid, std::move(message));
  }
  for (it->Seek("L"); it->Valid() && it->key().starts_with("L"); it->Next()) {
    subscriptions_.insert(it->key().ToString().substr(1));
  }
  if (!it->status().ok()) return from_status(it->status(), "read mailbox index");
  if (find("INBOX") == nullptr) {
    auto inbox = make_folder("INBOX");
    if (!inbox) return unexpected(inbox.error());
    if (auto subscribed = set_subscribed("INBOX", true); !subscribed) return subscribed;
  }
  return suppressions_->load();
}

std::vector<const Folder*> MailStore::folders() const {
  std::vector<const Folder*> out;
  out.reserve(folders_.size());
  for (const auto& [id, folder] : folders_) out.push_back(&folder);
  std::sort(out.begin(), out.end(), [](const Folder* a, const Folder* b) {
    const bool a_inbox = is_inbox(a->name);
    const bool b_inbox = is_inbox(b->name);
    if (a_inbox != b_inbox) return a_inbox;
    return a->name < b->name;
  });
  return out;
}

const Folder* MailStore::find(std::string_view name) const {
  const std::string canonical = canonical_folder_name(name);
  for (const auto& [id, folder] : folders_) {
    if (folder.name == canonical) return &folder;
  }
  return nullptr;
}

Folder* MailStore::find_mutable(std::string_view name) {
  return const_cast<Folder*>(std::as_const(*this).find(name));
}

std::uint32_t MailStore::next_uidvalidity() {
  // Seconds since the epoch, and always larger than any value handed out before, so a folder
  // deleted and made again never repeats an old UIDVALIDITY (RFC 3501 §2.3.1.1).
  const auto now = static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(clock_->wall_now().time_since_epoch())
          .count());
  last_uidvalidity_ = std::max(now, last_uidvalidity_ + 1);
  return last_uidvalidity_;
}

Result<Folder*> MailStore::make_folder(std::string_view name) {
  Folder folder;
  folder.id = next_folder_id_;
  folder.name = canonical_folder_name(name);
  folder.uidvalidity = next_uidvalidity();
  std::string counters;
  put_u32(counters, folder.id + 1);
  put_u32(counters, last_uidvalidity_);
  rocksdb::WriteBatch batch;
  batch.Put(folder_key(folder.id), encode_folder(folder));
  batch.Put(meta_key, counters);
  if (auto written = write(batch, options_.sync, "create folder " + folder.name); !written) {
    return unexpected(written.error());
  }
  ++next_folder_id_;
  auto [it, inserted] = folders_.emplace(folder.id, std::move(folder));
  MTA_ASSERT(inserted);
  return &it->second;
}

Result<void> MailStore::create_folder(std::string_view name) {
  if (!valid_folder_name(name)) return unexpected(Errc::invalid_name, std::string(name));
  if (find(name) != nullptr) return unexpected(Errc::folder_exists, std::string(name));
  auto made = make_folder(name);
  if (!made) return unexpected(made.error());
  return {};
}

Result<void> MailStore::delete_folder(std::string_view name) {
  if (is_inbox(name)) return unexpected(Errc::not_allowed, "INBOX cannot be deleted");
  Folder* folder = find_mutable(name);
  if (folder == nullptr) return unexpected(Errc::no_such_folder, std::string(name));
  rocksdb::WriteBatch batch;
  batch.Delete(folder_key(folder->id));
  batch.DeleteRange(message_key('M', folder->id, 0), message_key('M', folder->id + 1, 0));
  batch.DeleteRange(message_key('B', folder->id, 0), message_key('B', folder->id + 1, 0));
  if (auto written = write(batch, options_.sync, "delete folder " + std::string(name)); !written) {
    return written;
  }
  for (const auto& [uid, message] : folder->messages) unindexed(folder->id, message);
  folder->messages.clear();
  ++folder->modseq;
  changed(*folder);
  folders_.erase(folder->id);
  return {};
}

Result<void> MailStore::rename_folder(std::string_view from, std::string_view to) {
  if (!valid_folder_name(to)) return unexpected(Errc::invalid_name, std::string(to));
  Folder* source = find_mutable(from);
  if (source == nullptr) return unexpected(Errc::no_such_folder, std::string(from));
  if (find(to) != nullptr) return unexpected(Errc::folder_exists, std::string(to));
  if (is_inbox(source->name)) {
    // RFC 3501 §6.3.5: the messages move to a new folder; INBOX stays, empty.
    auto made = make_folder(to);
    if (!made) return unexpected(made.error());
    Folder* target = *made;
    Folder* inbox = find_mutable("INBOX");
    rocksdb::WriteBatch batch;
    for (const auto& [uid, message] : inbox->messages) {
      std::string body;
      if (auto status = db_->Get(rocksdb::ReadOptions(), message_key('B', inbox->id, uid), &body);
          !status.ok()) {
        return from_status(status, "read INBOX message " + std::to_string(uid));
      }
      batch.Put(message_key('M', target->id, uid), encode_meta(message));
      batch.Put(message_key('B', target->id, uid), body);
      batch.Delete(message_key('M', inbox->id, uid));
      batch.Delete(message_key('B', inbox->id, uid));
    }
    target->uidnext = inbox->uidnext;
    batch.Put(folder_key(target->id), encode_folder(*target));
    if (auto written = write(batch, options_.sync, "rename INBOX"); !written) {
      return written;
    }
    for (const auto& [uid, message] : inbox->messages) {
      unindexed(inbox->id, message);
      indexed(target->id, message);
    }
    target->messages = std::move(inbox->messages);
    inbox->messages.clear();
    ++inbox->modseq;
    changed(*inbox);
    return {};
  }
  // The folder and everything below it ("a/b" renames "a/b/c" too) keep their ids.
  const std::string old_name = source->name;
  const std::string new_name = canonical_folder_name(to);
  std::vector<std::pair<Folder*, std::string>> renames;
  for (auto& [id, folder] : folders_) {
    if (folder.name == old_name) {
      renames.emplace_back(&folder, new_name);
    } else if (folder.name.starts_with(old_name + "/")) {
      renames.emplace_back(&folder, new_name + folder.name.substr(old_name.size()));
    }
  }
  rocksdb::WriteBatch batch;
  for (auto& [folder, name] : renames) {
    batch.Put(folder_key(folder->id), encode_folder(*folder, {}, name));
  }
  if (auto written = write(batch, options_.sync, "rename folder " + old_name); !written) {
    return written;
  }
  for (auto& [folder, name] : renames) folder->name = std::move(name);
  return {};
}

Result<void> MailStore::set_subscribed(std::string_view name, bool subscribed) {
  if (!valid_folder_name(name)) return unexpected(Errc::invalid_name, std::string(name));
  const std::string canonical = canonical_folder_name(name);
  rocksdb::WriteBatch batch;
  if (subscribed) {
    batch.Put(subscription_key(canonical), "");
  } else {
    batch.Delete(subscription_key(canonical));
  }
  if (auto written = write(batch, options_.sync, "subscribe " + canonical); !written) {
    return written;
  }
  if (subscribed) {
    subscriptions_.insert(canonical);
  } else {
    subscriptions_.erase(canonical);
  }
  return {};
}

Result<std::uint32_t> MailStore::append(std::string_view folder_name, std::string_view bytes,
                                        std::uint8_t flags, std::vector<std::string> keywords,
                                        std::int64_t internal_date) {
  Folder* folder = find_mutable(folder_name);
  if (folder == nullptr) return unexpected(Errc::no_such_folder, std::string(folder_name));
  MessageMeta message{.uid = folder->uidnext,
                      .flags = flags,
                      .keywords = std::move(keywords),
                      .internal_date = internal_date,
                      .size = bytes.size()};
  rocksdb::WriteBatch batch;
  Result<Expiry> expiry = plan_expiry(bytes.size(), batch);
  if (!expiry) return unexpected(expiry.error());
  batch.Put(message_key('B', folder->id, message.uid), rocksdb::Slice(bytes.data(), bytes.size()));
  batch.Put(message_key('M', folder->id, message.uid), encode_meta(message));
  batch.Put(folder_key(folder->id), encode_folder(*folder, message.uid + 1));
  if (auto written = write(batch, options_.sync, "append to " + folder->name); !written) {
    return unexpected(written.error());
  }
  expired(*expiry);
  folder->uidnext = message.uid + 1;
  const std::uint32_t uid = message.uid;
  indexed(folder->id, message);
  folder->messages.emplace(uid, std::move(message));
  ++folder->modseq;
  changed(*folder);
  return uid;
}

Result<std::string> MailStore::read(std::string_view folder_name, std::uint32_t uid) const {
  const Folder* folder = find(folder_name);
  if (folder == nullptr) return unexpected(Errc::no_such_folder, std::string(folder_name));
  if (!folder->messages.contains(uid)) {
    return unexpected(Errc::no_such_message, folder->name + " " + std::to_string(uid));
  }
  std::string body;
  if (auto status = db_->Get(rocksdb::ReadOptions(), message_key('B', folder->id, uid), &body);
      !status.ok()) {
    return from_status(status, "read " + folder->name + " " + std::to_string(uid));
  }
  return body;
}

Result<void> MailStore::change_flags(std::string_view folder_name,
                                     std::span<const std::uint32_t> uids, FlagChange change,
                                     std::uint8_t flags, const std::vector<std::string>& keywords) {
  Folder* folder = find_mutable(folder_name);
  if (folder == nullptr) return unexpected(Errc::no_such_folder, std::string(folder_name));
  rocksdb::WriteBatch batch;
  std::vector<std::pair<MessageMeta*, MessageMeta>> updates;
  for (std::uint32_t uid : uids) {
    auto it = folder->messages.find(uid);
    if (it == folder->messages.end()) continue;
    MessageMeta next = it->second;
    apply_flags(next, change, flags, keywords);
    if (next == it->second) continue;
    batch.Put(message_key('M', folder->id, uid), encode_meta(next));
    updates.emplace_back(&it->second, std::move(next));
  }
  if (updates.empty()) return {};
  // Flags are not worth an fsync each: the WAL keeps them across a crash of the process.
  if (auto written = write(batch, false, "store flags in " + folder->name); !written) {
    return written;
  }
  for (auto& [meta, next] : updates) *meta = std::move(next);
  ++folder->modseq;
  changed(*folder);
  return {};
}

Result<std::vector<std::uint32_t>> MailStore::copy(std::string_view from,
                                                   std::span<const std::uint32_t> uids,
                                                   std::string_view to) {
  const Folder* source = find(from);
  if (source == nullptr) return unexpected(Errc::no_such_folder, std::string(from));
  Folder* target = find_mutable(to);
  if (target == nullptr) return unexpected(Errc::no_such_folder, std::string(to));
  rocksdb::WriteBatch batch;
  std::vector<MessageMeta> added;
  std::vector<std::uint32_t> new_uids;
  std::uint32_t next_uid = target->uidnext;
  for (std::uint32_t uid : uids) {
    auto it = source->messages.find(uid);
    if (it == source->messages.end()) continue;
    std::string body;
    if (auto status = db_->Get(rocksdb::ReadOptions(), message_key('B', source->id, uid), &body);
        !status.ok()) {
      return from_status(status, "read " + source->name + " " + std::to_string(uid));
    }
    MessageMeta meta = it->second;
    meta.uid = next_uid++;
    batch.Put(message_key('B', target->id, meta.uid), body);
    batch.Put(message_key('M', target->id, meta.uid), encode_meta(meta));
    new_uids.push_back(meta.uid);
    added.push_back(std::move(meta));
  }
  if (added.empty()) return new_uids;
  std::uint64_t adding = 0;
  for (const auto& meta : added) adding += meta.size;
  Result<Expiry> expiry = plan_expiry(adding, batch);
  if (!expiry) return unexpected(expiry.error());
  batch.Put(folder_key(target->id), encode_folder(*target, next_uid));
  if (auto written = write(batch, options_.sync, "copy to " + target->name); !written) {
    return unexpected(written.error());
  }
  expired(*expiry);
  target->uidnext = next_uid;
  for (auto& meta : added) {
    const std::uint32_t uid = meta.uid;
    indexed(target->id, meta);
    target->messages.emplace(uid, std::move(meta));
  }
  ++target->modseq;
  changed(*target);
  return new_uids;
}

Result<void> MailStore::expunge(std::string_view folder_name, std::span<const std::uint32_t> uids) {
  Folder* folder = find_mutable(folder_name);
  if (folder == nullptr) return unexpected(Errc::no_such_folder, std::string(folder_name));
  rocksdb::WriteBatch batch;
  std::vector<std::uint32_t> gone;
  for (std::uint32_t uid : uids) {
    if (!folder->messages.contains(uid)) continue;
    batch.Delete(message_key('M', folder->id, uid));
    batch.Delete(message_key('B', folder->id, uid));
    gone.push_back(uid);
  }
  if (gone.empty()) return {};
  if (auto written = write(batch, options_.sync, "expunge in " + folder->name); !written) {
    return written;
  }
  for (std::uint32_t uid : gone) {
    auto it = folder->messages.find(uid);
    unindexed(folder->id, it->second);
    folder->messages.erase(it);
  }
  ++folder->modseq;
  changed(*folder);
  return {};
}

void MailStore::indexed(std::uint32_t folder_id, const MessageMeta& meta) {
  by_age_.emplace(meta.internal_date, folder_id, meta.uid);
  bytes_ += meta.size;
}

void MailStore::unindexed(std::uint32_t folder_id, const MessageMeta& meta) {
  by_age_.erase(AgeKey{meta.internal_date, folder_id, meta.uid});
  bytes_ -= std::min(bytes_, meta.size);
}

Result<MailStore::Expiry> MailStore::plan_expiry(std::uint64_t adding,
                                                 rocksdb::WriteBatch& batch) const {
  const std::uint64_t quota = options_.quota_bytes;
  if (quota > 0 && adding > quota) {
    return unexpected(Errc::over_quota,
                      std::to_string(adding) + " octets, the quota is " + std::to_string(quota));
  }
  const bool retained = options_.retention.count() > 0;
  const std::int64_t cutoff =
      std::chrono::duration_cast<std::chrono::seconds>(clock_->wall_now().time_since_epoch())
          .count() -
      options_.retention.count();
  std::uint64_t total = bytes_ + adding;
  Expiry expiry;
  for (const AgeKey& key : by_age_) {
    if (expiry.gone.size() == expire_batch_max) break;
    const auto& [date, folder_id, uid] = key;
    const bool old = retained && date < cutoff;
    const bool over = quota > 0 && total > quota;
    if (!old && !over) break;  // the rest are younger and there is room for them
    const std::uint64_t size = folders_.at(folder_id).messages.at(uid).size;
    batch.Delete(message_key('M', folder_id, uid));
    batch.Delete(message_key('B', folder_id, uid));
    total -= std::min(total, size);
    expiry.gone.push_back(key);
    ++(old ? expiry.by_retention : expiry.by_quota);
  }
  return expiry;
}

void MailStore::expired(const Expiry& expiry) {
  std::vector<std::uint32_t> touched;
  for (const auto& [date, folder_id, uid] : expiry.gone) {
    Folder& folder = folders_.at(folder_id);
    auto it = folder.messages.find(uid);
    unindexed(folder_id, it->second);
    folder.messages.erase(it);
    if (std::find(touched.begin(), touched.end(), folder_id) == touched.end()) {
      touched.push_back(folder_id);
    }
  }
  probe_.expired_quota += expiry.by_quota;
  probe_.expired_retention += expiry.by_retention;
  for (std::uint32_t folder_id : touched) {
    Folder& folder = folders_.at(folder_id);
    ++folder.modseq;
    changed(folder);
  }
}

Result<std::size_t> MailStore::expire() {
  rocksdb::WriteBatch batch;
  Result<Expiry> expiry = plan_expiry(0, batch);
  if (!expiry) return unexpected(expiry.error());
  if (expiry->gone.empty()) return 0;
  if (auto written = write(batch, options_.sync, "expire old messages"); !written) {
    return unexpected(written.error());
  }
  expired(*expiry);
  return expiry->gone.size();
}

std::uint64_t MailStore::watch(ChangeFn on_change) {
  const std::uint64_t id = next_watcher_++;
  watchers_.emplace(id, std::move(on_change));
  return id;
}

void MailStore::unwatch(std::uint64_t id) { watchers_.erase(id); }

void MailStore::changed(Folder& folder) {
  // A watcher may unwatch itself (or another) while called: iterate over a copy of the ids.
  std::vector<std::uint64_t> ids;
  ids.reserve(watchers_.size());
  for (const auto& [id, fn] : watchers_) ids.push_back(id);
  for (std::uint64_t id : ids) {
    if (auto it = watchers_.find(id); it != watchers_.end()) it->second(folder);
  }
}

bool MailStore::lock_maildrop() {
  if (maildrop_locked_) return false;
  maildrop_locked_ = true;
  return true;
}

void MailStore::unlock_maildrop() { maildrop_locked_ = false; }

}  // namespace mta::mailbox
