// MemoryBackend: folders in a std::map by name, messages in a std::map by uid. Every mutation
// bumps the folder's change counter, as backend.h requires.
#include "proto/imap/memory_backend.h"

#include <algorithm>
#include <utility>

#include "base/ascii.h"
#include "proto/imap/errc.h"

namespace mta::imap {

void apply_store(Flags& flags, StoreMode mode, const Flags& change) {
  const auto has = [](const std::vector<std::string>& list, std::string_view k) {
    return std::any_of(list.begin(), list.end(),
                       [&](const std::string& x) { return iequals(x, k); });
  };
  switch (mode) {
    case StoreMode::replace:
      flags = change;
      return;
    case StoreMode::add:
      flags.system |= change.system;
      for (const std::string& k : change.keywords) {
        if (!has(flags.keywords, k)) flags.keywords.push_back(k);
      }
      return;
    case StoreMode::remove:
      flags.system &= static_cast<std::uint8_t>(~change.system);
      std::erase_if(flags.keywords, [&](const std::string& k) { return has(change.keywords, k); });
      return;
  }
}

MemoryBackend::MemoryBackend(std::uint32_t uidvalidity_start)
    : next_uidvalidity_(uidvalidity_start) {
  folders_.emplace("INBOX", make_folder());
  subscribed_["INBOX"] = true;
}

MemoryBackend::Folder MemoryBackend::make_folder() {
  Folder folder;
  folder.uidvalidity = next_uidvalidity_++;
  return folder;
}

MemoryBackend::Folder* MemoryBackend::find(std::string_view name) {
  const auto it = folders_.find(name);
  return it == folders_.end() ? nullptr : &it->second;
}

Result<std::vector<FolderInfo>> MemoryBackend::list_folders() {
  std::vector<FolderInfo> out;
  for (const auto& [name, folder] : folders_) {
    const auto sub = subscribed_.find(name);
    out.push_back({name, sub != subscribed_.end() && sub->second});
  }
  for (const auto& [name, on] : subscribed_) {
    if (on && !folders_.contains(name)) out.push_back({name, true, false});
  }
  return out;
}

Result<void> MemoryBackend::create_folder(std::string_view name) {
  if (name.empty() || name.front() == kHierarchyDelimiter || name.back() == kHierarchyDelimiter ||
      name.find("//") != std::string_view::npos) {
    return unexpected(Errc::cannot, "invalid folder name");
  }
  if (find(name) != nullptr) return unexpected(Errc::folder_exists);
  folders_.emplace(std::string(name), make_folder());
  return {};
}

Result<void> MemoryBackend::delete_folder(std::string_view name) {
  if (name == "INBOX") return unexpected(Errc::cannot, "INBOX cannot be deleted");
  const auto it = folders_.find(name);
  if (it == folders_.end()) return unexpected(Errc::no_such_folder);
  folders_.erase(it);
  return {};
}

Result<void> MemoryBackend::rename_folder(std::string_view from, std::string_view to) {
  if (find(from) == nullptr) return unexpected(Errc::no_such_folder);
  if (find(to) != nullptr) return unexpected(Errc::folder_exists);
  if (to == "INBOX" || to.empty()) return unexpected(Errc::cannot, "invalid new name");
  if (to.size() > from.size() && to.starts_with(from) && to[from.size()] == kHierarchyDelimiter) {
    return unexpected(Errc::cannot, "cannot rename a folder into itself");
  }
  if (from == "INBOX") {
    Folder moved = std::move(folders_.at("INBOX"));
    folders_.at("INBOX") = make_folder();
    folders_.emplace(std::string(to), std::move(moved));
    return {};
  }
  std::vector<std::string> names;
  for (const auto& [name, folder] : folders_) {
    if (name == from || (name.size() > from.size() && name.starts_with(from) &&
                         name[from.size()] == kHierarchyDelimiter)) {
      names.push_back(name);
    }
  }
  for (const std::string& name : names) {
    std::string new_name = std::string(to) + name.substr(from.size());
    if (find(new_name) != nullptr) return unexpected(Errc::folder_exists, new_name);
  }
  for (const std::string& name : names) {
    auto node = folders_.extract(name);
    node.key() = std::string(to) + name.substr(from.size());
    folders_.insert(std::move(node));
  }
  return {};
}

Result<void> MemoryBackend::set_subscribed(std::string_view name, bool subscribed) {
  if (subscribed) {
    subscribed_[std::string(name)] = true;
  } else {
    const auto it = subscribed_.find(name);
    if (it != subscribed_.end()) subscribed_.erase(it);
  }
  return {};
}

Result<FolderStatus> MemoryBackend::status(std::string_view name) {
  const Folder* folder = find(name);
  if (folder == nullptr) return unexpected(Errc::no_such_folder);
  FolderStatus status;
  status.messages = static_cast<std::uint32_t>(folder->messages.size());
  status.uidnext = folder->uidnext;
  status.uidvalidity = folder->uidvalidity;
  for (const auto& [uid, message] : folder->messages) {
    if (uid > folder->recent_mark) ++status.recent;
    if ((message.info.flags.system & kSeen) == 0) ++status.unseen;
  }
  return status;
}

Result<std::uint64_t> MemoryBackend::change_counter(std::string_view name) {
  const Folder* folder = find(name);
  if (folder == nullptr) return unexpected(Errc::no_such_folder);
  return folder->change_counter;
}

Result<FolderView> MemoryBackend::open(std::string_view name, bool claim_recent) {
  Folder* folder = find(name);
  if (folder == nullptr) return unexpected(Errc::no_such_folder);
  FolderView view;
  view.uidvalidity = folder->uidvalidity;
  view.uidnext = folder->uidnext;
  view.change_counter = folder->change_counter;
  view.recent_uid_min = folder->recent_mark + 1;
  if (claim_recent) folder->recent_mark = folder->uidnext - 1;
  view.messages.reserve(folder->messages.size());
  for (const auto& [uid, message] : folder->messages) view.messages.push_back(message.info);
  return view;
}

Result<std::string_view> MemoryBackend::message(std::string_view name, std::uint32_t uid) {
  const Folder* folder = find(name);
  if (folder == nullptr) return unexpected(Errc::no_such_folder);
  const auto it = folder->messages.find(uid);
  if (it == folder->messages.end()) return unexpected(Errc::no_such_message);
  return std::string_view(it->second.bytes);
}

Result<std::vector<FlagUpdate>> MemoryBackend::store_flags(std::string_view name,
                                                           std::span<const std::uint32_t> uids,
                                                           StoreMode mode, const Flags& flags) {
  Folder* folder = find(name);
  if (folder == nullptr) return unexpected(Errc::no_such_folder);
  std::vector<FlagUpdate> out;
  for (std::uint32_t uid : uids) {
    const auto it = folder->messages.find(uid);
    if (it == folder->messages.end()) continue;
    apply_store(it->second.info.flags, mode, flags);
    out.push_back({uid, it->second.info.flags});
  }
  if (!out.empty()) ++folder->change_counter;
  return out;
}

Result<AppendResult> MemoryBackend::append(std::string_view name, const Flags& flags,
                                           std::optional<std::int64_t> internal_date,
                                           std::string_view bytes) {
  Folder* folder = find(name);
  if (folder == nullptr) return unexpected(Errc::no_such_folder);
  if (message_bytes_max_ != 0 && bytes.size() > message_bytes_max_) {
    return unexpected(Errc::over_quota, "message too large");
  }
  Message message;
  message.info.uid = folder->uidnext++;
  message.info.flags = flags;
  message.info.internal_date = internal_date.value_or(now_);
  message.info.size = bytes.size();
  message.bytes = std::string(bytes);
  const std::uint32_t uid = message.info.uid;
  folder->messages.emplace(uid, std::move(message));
  ++folder->change_counter;
  return AppendResult{folder->uidvalidity, uid};
}

Result<CopyResult> MemoryBackend::copy(std::string_view from, std::span<const std::uint32_t> uids,
                                       std::string_view to) {
  Folder* source = find(from);
  Folder* dest = find(to);
  if (source == nullptr || dest == nullptr) return unexpected(Errc::no_such_folder);
  CopyResult result;
  result.uidvalidity = dest->uidvalidity;
  std::vector<std::uint32_t> sorted(uids.begin(), uids.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (std::uint32_t uid : sorted) {
    const auto it = source->messages.find(uid);
    if (it == source->messages.end()) continue;
    Message copy = it->second;  // source and dest may be the same folder: copy first
    copy.info.uid = dest->uidnext++;
    result.source_uids.push_back(uid);
    result.dest_uids.push_back(copy.info.uid);
    dest->messages.emplace(copy.info.uid, std::move(copy));
  }
  if (!result.dest_uids.empty()) ++dest->change_counter;
  return result;
}

Result<CopyResult> MemoryBackend::move(std::string_view from, std::span<const std::uint32_t> uids,
                                       std::string_view to) {
  Result<CopyResult> copied = copy(from, uids, to);
  if (!copied) return copied;
  Folder* source = find(from);
  bool removed = false;
  for (std::uint32_t uid : copied->source_uids) {
    removed = source->messages.erase(uid) > 0 || removed;
  }
  if (removed) ++source->change_counter;
  return copied;
}

Result<std::vector<std::uint32_t>> MemoryBackend::expunge(std::string_view name,
                                                          std::span<const std::uint32_t> uids) {
  Folder* folder = find(name);
  if (folder == nullptr) return unexpected(Errc::no_such_folder);
  std::vector<std::uint32_t> removed;
  for (std::uint32_t uid : uids) {
    const auto it = folder->messages.find(uid);
    if (it == folder->messages.end() || (it->second.info.flags.system & kDeleted) == 0) continue;
    folder->messages.erase(it);
    removed.push_back(uid);
  }
  std::sort(removed.begin(), removed.end());
  if (!removed.empty()) ++folder->change_counter;
  return removed;
}

}  // namespace mta::imap
