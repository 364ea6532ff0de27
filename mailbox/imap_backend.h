// StoreBackend: the imap::Backend every IMAP session of the daemon shares, over the MailStore
// (same shard, so calls are synchronous). It adds what the store does not keep: each folder's
// \Recent mark (in memory: after a restart every message is recent once more, which RFC 3501
// allows).
#pragma once

#include <map>
#include <set>
#include <string>

#include "mailbox/store.h"
#include "proto/imap/backend.h"

namespace mta::mailbox {

class StoreBackend final : public imap::Backend {
 public:
  explicit StoreBackend(MailStore& store) : store_(store) {}

  Result<std::vector<imap::FolderInfo>> list_folders() override;
  Result<void> create_folder(std::string_view name) override;
  Result<void> delete_folder(std::string_view name) override;
  Result<void> rename_folder(std::string_view from, std::string_view to) override;
  Result<void> set_subscribed(std::string_view name, bool subscribed) override;
  Result<imap::FolderStatus> status(std::string_view folder) override;
  Result<std::uint64_t> change_counter(std::string_view folder) override;
  Result<imap::FolderView> open(std::string_view folder, bool claim_recent) override;
  Result<std::string_view> message(std::string_view folder, std::uint32_t uid) override;
  Result<std::vector<imap::FlagUpdate>> store_flags(std::string_view folder,
                                                    std::span<const std::uint32_t> uids,
                                                    imap::StoreMode mode,
                                                    const imap::Flags& flags) override;
  Result<imap::AppendResult> append(std::string_view folder, const imap::Flags& flags,
                                    std::optional<std::int64_t> internal_date,
                                    std::string_view message) override;
  Result<imap::CopyResult> copy(std::string_view from, std::span<const std::uint32_t> uids,
                                std::string_view to) override;
  Result<imap::CopyResult> move(std::string_view from, std::span<const std::uint32_t> uids,
                                std::string_view to) override;
  Result<std::vector<std::uint32_t>> expunge(std::string_view folder,
                                             std::span<const std::uint32_t> uids) override;

 private:
  // The folder, or no_such_folder.
  Result<const Folder*> folder(std::string_view name) const;

  MailStore& store_;
  // Per folder id: the highest UID some session has been told is \Recent.
  std::map<std::uint32_t, std::uint32_t> recent_marks_;
  std::string message_;  // what message() returned last
};

}  // namespace mta::mailbox
