// MailStore: the bounce mailbox's folders and messages, in a RocksDB database of its own beside
// the queue (<spool>/mailbox), with the index (folders, UIDs, flags, dates, sizes) held in
// memory and loaded at open; bodies are read from RocksDB when asked for. Suppressions: the
// recipients never to mail again, in the same database, readable from every shard.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/result.h"

namespace rocksdb {
class DB;
class WriteBatch;
}  // namespace rocksdb
namespace mta::queue {
class WriteResumer;
}

namespace mta::mailbox {

// IMAP system flags (RFC 3501 §2.3.2) as bits; \Recent is per session, not stored.
enum Flag : std::uint8_t {
  flag_seen = 1,
  flag_answered = 2,
  flag_flagged = 4,
  flag_deleted = 8,
  flag_draft = 16,
};

struct MessageMeta {
  std::uint32_t uid = 0;
  std::uint8_t flags = 0;
  std::vector<std::string> keywords;  // IMAP keywords ("$Junk"), as set by clients
  std::int64_t internal_date = 0;     // seconds since the Unix epoch, UTC
  std::uint64_t size = 0;             // octets, CRLF line endings

  friend bool operator==(const MessageMeta&, const MessageMeta&) = default;
};

struct Folder {
  std::uint32_t id = 0;  // the key prefix of its records; never reused
  std::string name;      // "INBOX", "Processed/2026"; '/' separates levels
  std::uint32_t uidvalidity = 0;
  std::uint32_t uidnext = 1;
  // Changes with every append, flag change and expunge, so a session knows when to resync.
  std::uint64_t modseq = 1;
  std::map<std::uint32_t, MessageMeta> messages;  // by UID, ascending
};

enum class FlagChange { replace, add, remove };

struct StoreOptions {
  bool sync = true;  // fsync appends and suppressions; flag changes are never synced
  // The octets of every message in every folder together; an append or copy that would go
  // past it first expires the oldest messages (by internal date) until it fits. 0 = no quota.
  std::uint64_t quota_bytes = 0;
  // Messages with an internal date older than this are expired (at the next append, copy or
  // expire()). Zero = kept until the quota needs their room.
  std::chrono::seconds retention{0};
  // Wall time (retention, UIDVALIDITY); nullptr = the system clock. Tests pass a ManualClock.
  const Clock* clock = nullptr;
};

// Messages the store removed on its own, for the metrics.
struct StoreProbe {
  std::uint64_t expired_quota = 0;      // to make room under quota_bytes
  std::uint64_t expired_retention = 0;  // older than retention
};

// One suppressed recipient: later messages to it are not attempted.
struct Suppression {
  std::string address;        // suppression_key() of the address: canonical, lower-cased
  std::string category;       // "invalid_recipient", "complaint", "manual", ...
  std::string reason;         // the bounce's status and diagnostic, or the operator's note
  std::int64_t added_at = 0;  // seconds since the Unix epoch
};

// The suppression list. Thread-safe: delivery on every shard asks contains(); the mailbox
// shard and the admin API add and remove. Reads take a shared lock on an in-memory set (a
// delivery attempt costs one hash lookup per recipient); writes go to RocksDB first.
class Suppressions {
 public:
  // `resumer` is the database's (MailStore's), shared by every writer.
  Suppressions(rocksdb::DB& db, queue::WriteResumer& resumer, bool sync)
      : db_(db), resumer_(resumer), sync_(sync) {}

  Result<void> load();
  bool contains(std::string_view address) const;
  std::optional<Suppression> find(std::string_view address) const;
  // Adds or replaces the entry for entry.address. Every address is compared by its
  // suppression_key() (base/envelope_address.h): canonical, ASCII case folded.
  Result<void> add(Suppression entry);
  // false: it was not listed.
  Result<bool> remove(std::string_view address);
  // At most `limit` entries whose address contains `filter` (empty = all), ordered by address.
  std::vector<Suppression> list(std::string_view filter, std::size_t limit) const;
  std::size_t size() const;

 private:
  rocksdb::DB& db_;
  queue::WriteResumer& resumer_;
  const bool sync_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, Suppression> entries_;
  // entries_.size(), readable without the lock: with an empty list (the usual start) a
  // delivery's check costs one atomic load, no allocation and no shared lock.
  std::atomic<std::size_t> count_{0};
};

// Created on the main thread; every method but suppressions() is called on the mailbox shard
// only (IMAP, POP3 and the bounce intake all run there), so the index needs no lock. An
// append is durable (synced) when it returns; a failed write leaves the index as it was.
//
// Quota and retention: the oldest messages of all folders (internal date, then folder, then
// UID) go first, in the same write as the append or copy that needs their room, so a crash
// never leaves the store over quota because of a new message. An expired message is
// expunged like any other: watchers hear of it, so IMAP sessions that have its folder
// selected send EXPUNGE when RFC 3501 allows; a POP3 session keeps its listing and gets
// "-ERR" for a RETR of an expired message, whose DELE and QUIT still work.
// A message larger than the quota is refused (Errc::over_quota).
//
// Memory: per message its MessageMeta and one entry of the age index (about 100 bytes
// with the map nodes); bodies stay in RocksDB.
class MailStore {
 public:
  static Result<std::unique_ptr<MailStore>> open(const std::string& path, StoreOptions options);
  // open()'s: `db` is open; the index is loaded by open().
  MailStore(std::unique_ptr<rocksdb::DB> db, StoreOptions options);
  ~MailStore();
  MailStore(const MailStore&) = delete;
  MailStore& operator=(const MailStore&) = delete;

  // Folders, INBOX first, then by name.
  std::vector<const Folder*> folders() const;
  // "INBOX" matches without case (RFC 3501 §5.1); other names exactly.
  const Folder* find(std::string_view name) const;

  Result<void> create_folder(std::string_view name);
  Result<void> delete_folder(std::string_view name);  // not INBOX; its messages go too
  // Renaming INBOX moves its messages into a new folder and leaves INBOX empty (§6.3.5).
  Result<void> rename_folder(std::string_view from, std::string_view to);
  // Subscriptions are names, kept whether or not the folder exists (RFC 3501 §6.3.6): deleting
  // or renaming a folder leaves them as they are. INBOX is subscribed when first made.
  Result<void> set_subscribed(std::string_view name, bool subscribed);
  const std::set<std::string, std::less<>>& subscriptions() const { return subscriptions_; }

  // The new message's UID.
  Result<std::uint32_t> append(std::string_view folder, std::string_view bytes, std::uint8_t flags,
                               std::vector<std::string> keywords, std::int64_t internal_date);
  Result<std::string> read(std::string_view folder, std::uint32_t uid) const;
  Result<void> change_flags(std::string_view folder, std::span<const std::uint32_t> uids,
                            FlagChange change, std::uint8_t flags,
                            const std::vector<std::string>& keywords);
  // The new UIDs in `to`, in the order of `uids` (missing UIDs are skipped).
  Result<std::vector<std::uint32_t>> copy(std::string_view from,
                                          std::span<const std::uint32_t> uids, std::string_view to);
  Result<void> expunge(std::string_view folder, std::span<const std::uint32_t> uids);

  // Expires what the quota and retention say must go now (at most expire_batch_max messages
  // per call; the rest at the next call): app/ calls it at start and every minute, so
  // retention holds while nothing arrives. Returns how many messages went.
  Result<std::size_t> expire();
  static constexpr std::size_t expire_batch_max = 10'000;
  // The octets of all messages, and how many there are (every folder).
  std::uint64_t bytes() const { return bytes_; }
  std::size_t message_count() const { return by_age_.size(); }
  const StoreProbe& probe() const { return probe_; }

  // Called after every change to a folder (on the mailbox shard), e.g. to wake IDLE sessions.
  using ChangeFn = std::function<void(const Folder& folder)>;
  std::uint64_t watch(ChangeFn on_change);
  void unwatch(std::uint64_t id);

  Suppressions& suppressions() { return *suppressions_; }
  const Suppressions& suppressions() const { return *suppressions_; }

  // POP3's maildrop lock (RFC 1939 §8): one session at a time.
  bool lock_maildrop();
  void unlock_maildrop();

 private:
  Result<void> load();
  Folder* find_mutable(std::string_view name);
  Result<Folder*> make_folder(std::string_view name);
  std::uint32_t next_uidvalidity();
  void changed(Folder& folder);

  // A write to the database: resumes it after an earlier failure first (queue::WriteResumer).
  Result<void> write(rocksdb::WriteBatch& batch, bool sync, const std::string& what);

  // The age index and the byte count follow every message in and out.
  using AgeKey = std::tuple<std::int64_t, std::uint32_t, std::uint32_t>;  // date, folder, uid
  void indexed(std::uint32_t folder_id, const MessageMeta& meta);
  void unindexed(std::uint32_t folder_id, const MessageMeta& meta);
  // The messages to expire so that `adding` more octets fit the quota, and those past
  // retention, oldest first: their deletes go into `batch`. Errc::over_quota when `adding`
  // alone is more than the quota.
  struct Expiry {
    std::vector<AgeKey> gone;
    std::size_t by_quota = 0;
    std::size_t by_retention = 0;
  };
  Result<Expiry> plan_expiry(std::uint64_t adding, rocksdb::WriteBatch& batch) const;
  // After the batch is written: the index forgets them, and watchers hear of it.
  void expired(const Expiry& expiry);

  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<queue::WriteResumer> resumer_;
  StoreOptions options_;
  std::map<std::uint32_t, Folder> folders_;           // by id
  std::set<std::string, std::less<>> subscriptions_;  // canonical names
  std::uint32_t next_folder_id_ = 1;
  std::uint32_t last_uidvalidity_ = 0;
  std::map<std::uint64_t, ChangeFn> watchers_;
  std::uint64_t next_watcher_ = 1;
  bool maildrop_locked_ = false;
  std::unique_ptr<Suppressions> suppressions_;
  const Clock* clock_;
  std::set<AgeKey> by_age_;  // every message of every folder, oldest first
  std::uint64_t bytes_ = 0;
  StoreProbe probe_;
};

// Folder names: non-empty, no leading, trailing or doubled '/', no control characters, at
// most 255 octets.
bool valid_folder_name(std::string_view name);

// `name` with a first level spelled like INBOX in any case written "INBOX" (RFC 3501 §5.1:
// INBOX is case-insensitive, so "inbox/sub" is INBOX's child, not a second hierarchy).
std::string canonical_folder_name(std::string_view name);

}  // namespace mta::mailbox
