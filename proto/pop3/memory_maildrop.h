// MemoryMaildrop: a Maildrop over a MemoryMailbox held by the test or fuzzer. Several instances
// may share one mailbox, so the lock flag in it makes a second session see IN-USE, and
// deletions committed by one session are what the next one lists. For tests and fuzzing only.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/pop3/maildrop.h"

namespace mta::pop3 {

struct MemoryMessage {
  std::string unique_id;
  std::string text;  // CRLF text; its size is the listed size
};

// The stored state: outlives every MemoryMaildrop over it. Not thread-safe (one shard).
struct MemoryMailbox {
  std::vector<MemoryMessage> messages;
  bool locked = false;
  // Failure injection: lock() fails with Errc::storage_failed; commit_deletions() fails with
  // Errc::storage_failed and removes nothing; message() fails for every index.
  bool fail_lock = false;
  bool fail_commit = false;
  bool fail_reads = false;
  std::size_t commits = 0;  // successful commit_deletions() calls
};

class MemoryMaildrop final : public Maildrop {
 public:
  explicit MemoryMaildrop(MemoryMailbox& mailbox) : mailbox_(mailbox) {}
  ~MemoryMaildrop() override;
  MemoryMaildrop(const MemoryMaildrop&) = delete;
  MemoryMaildrop& operator=(const MemoryMaildrop&) = delete;

  Result<std::vector<MessageInfo>> lock() override;
  Result<std::string_view> message(std::size_t index) override;
  Result<void> commit_deletions(std::span<const std::size_t> indexes) override;
  void unlock() override;

  bool holds_lock() const { return holds_lock_; }

 private:
  MemoryMailbox& mailbox_;
  bool holds_lock_ = false;
  // The snapshot taken at lock time: messages appended to the mailbox later are not listed.
  std::size_t listed_ = 0;
};

}  // namespace mta::pop3
