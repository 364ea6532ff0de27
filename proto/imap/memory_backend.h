// MemoryBackend: an in-memory imap::Backend for tests, the session fuzzer, and as the
// reference for the store in mailbox/. Deterministic: UIDVALIDITY values count up from
// uidvalidity_start, and "now" for APPEND without a date is a fixed, settable value.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "proto/imap/backend.h"

namespace mta::imap {

// Holds everything in maps; no limits beyond memory (the tests and fuzzer keep it small).
// Not thread-safe, like every Backend.
class MemoryBackend final : public Backend {
 public:
  explicit MemoryBackend(std::uint32_t uidvalidity_start = 1);

  // Internal date given to appends without one (seconds since the epoch, UTC).
  void set_now(std::int64_t unix_seconds) { now_ = unix_seconds; }
  // Messages over this size are refused with over_quota (0 = no limit).
  void set_message_bytes_max(std::size_t bytes) { message_bytes_max_ = bytes; }

  Result<std::vector<FolderInfo>> list_folders() override;
  Result<void> create_folder(std::string_view name) override;
  Result<void> delete_folder(std::string_view name) override;
  Result<void> rename_folder(std::string_view from, std::string_view to) override;
  Result<void> set_subscribed(std::string_view name, bool subscribed) override;
  Result<FolderStatus> status(std::string_view folder) override;
  Result<std::uint64_t> change_counter(std::string_view folder) override;
  Result<FolderView> open(std::string_view folder, bool claim_recent) override;
  Result<std::string_view> message(std::string_view folder, std::uint32_t uid) override;
  Result<std::vector<FlagUpdate>> store_flags(std::string_view folder,
                                              std::span<const std::uint32_t> uids, StoreMode mode,
                                              const Flags& flags) override;
  Result<AppendResult> append(std::string_view folder, const Flags& flags,
                              std::optional<std::int64_t> internal_date,
                              std::string_view message) override;
  Result<CopyResult> copy(std::string_view from, std::span<const std::uint32_t> uids,
                          std::string_view to) override;
  Result<CopyResult> move(std::string_view from, std::span<const std::uint32_t> uids,
                          std::string_view to) override;
  Result<std::vector<std::uint32_t>> expunge(std::string_view folder,
                                             std::span<const std::uint32_t> uids) override;

 private:
  struct Message {
    MessageInfo info;
    std::string bytes;
  };
  struct Folder {
    std::uint32_t uidvalidity = 0;
    std::uint32_t uidnext = 1;
    std::uint64_t change_counter = 1;
    std::uint32_t recent_mark = 0;  // highest uid claimed as recent
    std::map<std::uint32_t, Message> messages;
  };

  Folder* find(std::string_view name);
  Folder make_folder();

  std::map<std::string, Folder, std::less<>> folders_;
  std::map<std::string, bool, std::less<>> subscribed_;
  std::uint32_t next_uidvalidity_;
  std::int64_t now_ = 1700000000;  // 14-Nov-2023 22:13:20 +0000
  std::size_t message_bytes_max_ = 0;
};

// Flag arithmetic shared by backends: applies a STORE to `flags` (keywords compare
// case-insensitively).
void apply_store(Flags& flags, StoreMode mode, const Flags& change);

}  // namespace mta::imap
