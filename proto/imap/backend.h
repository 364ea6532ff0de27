// Backend: the mailbox store an imap::Session reads and changes. The session owns the protocol
// (sequence numbers, untagged updates, \Recent bookkeeping for its connection); the backend
// owns folders, messages, UIDs and flags. Implementations: MemoryBackend (memory_backend.h,
// tests and fuzzing) and the RocksDB-backed store in mailbox/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "proto/imap/command.h"

namespace mta::imap {

// Folder names are full paths with "/" as the hierarchy delimiter ("INBOX", "Bounces/2024").
// "INBOX" is always spelled that way here (the session normalises its case).
inline constexpr char kHierarchyDelimiter = '/';

struct FolderInfo {
  std::string name;
  bool subscribed = false;
  // false: a subscription to a name with no folder (RFC 3501 §6.3.6 keeps those); LSUB lists
  // it, LIST does not.
  bool exists = true;
};

struct MessageInfo {
  std::uint32_t uid = 0;
  Flags flags;                     // system flags and keywords; never \Recent
  std::int64_t internal_date = 0;  // seconds since the epoch, UTC
  std::uint64_t size = 0;          // octets message() returns (RFC822.SIZE)

  bool operator==(const MessageInfo&) const = default;
};

// A folder as a session sees it when it selects or resynchronises.
struct FolderView {
  std::uint32_t uidvalidity = 0;
  std::uint32_t uidnext = 0;
  std::uint64_t change_counter = 0;
  // Messages with uid >= recent_uid_min are \Recent for the caller (see Backend::open).
  std::uint32_t recent_uid_min = 0;
  std::vector<MessageInfo> messages;  // ascending uid
};

struct FolderStatus {
  std::uint32_t messages = 0, recent = 0, uidnext = 0, uidvalidity = 0, unseen = 0;
};

struct AppendResult {
  std::uint32_t uidvalidity = 0;
  std::uint32_t uid = 0;
};

// COPY and MOVE (RFC 4315 COPYUID): source_uids[i] became dest_uids[i] in the destination.
// Source uids that no longer exist are left out of both.
struct CopyResult {
  std::uint32_t uidvalidity = 0;  // of the destination
  std::vector<std::uint32_t> source_uids;
  std::vector<std::uint32_t> dest_uids;
};

struct FlagUpdate {
  std::uint32_t uid = 0;
  Flags flags;  // the message's flags after the change
};

// One mailbox (one user's folders). Calls are synchronous: every session of the daemon that
// uses a backend runs on the backend's one thread, so a call sees the effects of all earlier
// calls from any session. Expected failures are Results with imap::Errc codes:
// no_such_folder, folder_exists, cannot, no_such_message, store_failed, over_quota.
//
// \Recent (RFC 3501 §2.3.2): the backend keeps, per folder, the highest UID that some session
// has already been told about as recent. open(folder, claim_recent = true) returns
// recent_uid_min = that mark + 1 and raises the mark to uidnext - 1: the messages from
// recent_uid_min on are recent for this caller and for no later one. With claim_recent = false
// (EXAMINE, STATUS-like peeks) nothing is claimed. The session keeps its own set of recent
// UIDs; the backend stores only the mark. Claiming does not move the change counter.
//
// Change counter: a per-folder number that moves on every append, flag change and expunge
// (any session), like a MODSEQ. Sessions call change_counter() after each command and while
// idling, and call open() again only when it moved, so it must be cheap (no message reads).
class Backend {
 public:
  virtual ~Backend() = default;

  // Every folder, in any order (INBOX always exists), and every subscribed name that has no
  // folder (exists = false).
  virtual Result<std::vector<FolderInfo>> list_folders() = 0;
  // Creates one folder (the session creates missing parents first, one call each).
  // folder_exists when it exists; cannot for an invalid name.
  virtual Result<void> create_folder(std::string_view name) = 0;
  // cannot for INBOX. Children are not deleted; they stay as they are.
  virtual Result<void> delete_folder(std::string_view name) = 0;
  // Renames a folder and all of its children ("a" -> "b" renames "a/x" to "b/x").
  // Renaming INBOX moves its messages to a new folder `to` and leaves INBOX empty (RFC 3501
  // §6.3.5); its children are not renamed. folder_exists when `to` exists.
  virtual Result<void> rename_folder(std::string_view from, std::string_view to) = 0;
  // Subscriptions may name folders that do not exist (RFC 3501 §6.3.6).
  virtual Result<void> set_subscribed(std::string_view name, bool subscribed) = 0;

  virtual Result<FolderStatus> status(std::string_view folder) = 0;
  virtual Result<std::uint64_t> change_counter(std::string_view folder) = 0;
  virtual Result<FolderView> open(std::string_view folder, bool claim_recent) = 0;

  // The message's bytes. The view stays valid until the next call on this backend (by any
  // session); the session copies what it keeps. no_such_message once expunged.
  virtual Result<std::string_view> message(std::string_view folder, std::uint32_t uid) = 0;

  // Replaces, adds or removes flags on the listed uids; returns the new flags of each that
  // exists, in the order given (unknown uids are skipped).
  virtual Result<std::vector<FlagUpdate>> store_flags(std::string_view folder,
                                                      std::span<const std::uint32_t> uids,
                                                      StoreMode mode, const Flags& flags) = 0;
  // Appends a message; internal_date nullopt means now (the backend has the clock).
  virtual Result<AppendResult> append(std::string_view folder, const Flags& flags,
                                      std::optional<std::int64_t> internal_date,
                                      std::string_view message) = 0;
  // Copies messages (flags and internal date kept) to `to`, which must exist (no_such_folder
  // otherwise: the session answers [TRYCREATE]).
  virtual Result<CopyResult> copy(std::string_view from, std::span<const std::uint32_t> uids,
                                  std::string_view to) = 0;
  // MOVE (RFC 6851): as copy, then the source messages are expunged (atomically, or copy then
  // expunge: the session only reports what the result says).
  virtual Result<CopyResult> move(std::string_view from, std::span<const std::uint32_t> uids,
                                  std::string_view to) = 0;
  // Removes those of `uids` that carry \Deleted now; returns the uids removed, ascending.
  virtual Result<std::vector<std::uint32_t>> expunge(std::string_view folder,
                                                     std::span<const std::uint32_t> uids) = 0;
};

}  // namespace mta::imap
