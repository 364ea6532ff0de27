// MemoryMaildrop: the lock is a flag in the shared MemoryMailbox; the snapshot is the count of
// messages at lock time (new ones are only ever appended, so indexes stay put until a commit).
#include "proto/pop3/memory_maildrop.h"

#include "base/assert.h"
#include "proto/pop3/errc.h"

namespace mta::pop3 {

MemoryMaildrop::~MemoryMaildrop() {
  if (holds_lock_) unlock();
}

Result<std::vector<MessageInfo>> MemoryMaildrop::lock() {
  MTA_ASSERT(!holds_lock_);
  if (mailbox_.locked) return unexpected(Errc::in_use, "maildrop locked");
  if (mailbox_.fail_lock) return unexpected(Errc::storage_failed, "injected lock failure");
  mailbox_.locked = true;
  holds_lock_ = true;
  listed_ = mailbox_.messages.size();
  std::vector<MessageInfo> list;
  list.reserve(listed_);
  for (const MemoryMessage& message : mailbox_.messages) {
    list.push_back({.unique_id = message.unique_id, .size_octets = message.text.size()});
  }
  return list;
}

Result<std::string_view> MemoryMaildrop::message(std::size_t index) {
  MTA_ASSERT(holds_lock_);
  if (index >= listed_) return unexpected(Errc::no_such_message);
  if (mailbox_.fail_reads) return unexpected(Errc::storage_failed, "injected read failure");
  return std::string_view(mailbox_.messages[index].text);
}

Result<void> MemoryMaildrop::commit_deletions(std::span<const std::size_t> indexes) {
  MTA_ASSERT(holds_lock_);
  if (mailbox_.fail_commit) return unexpected(Errc::storage_failed, "injected commit failure");
  // Erase from the highest index down so the lower ones stay valid.
  for (std::size_t i = indexes.size(); i > 0; --i) {
    const std::size_t index = indexes[i - 1];
    MTA_ASSERT(index < listed_);
    MTA_ASSERT(i == indexes.size() || index < indexes[i]);
    mailbox_.messages.erase(mailbox_.messages.begin() + static_cast<std::ptrdiff_t>(index));
  }
  listed_ -= indexes.size();
  ++mailbox_.commits;
  return {};
}

void MemoryMaildrop::unlock() {
  MTA_ASSERT(holds_lock_);
  MTA_ASSERT(mailbox_.locked);
  mailbox_.locked = false;
  holds_lock_ = false;
}

}  // namespace mta::pop3
