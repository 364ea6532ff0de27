// StoreBackend: imap::Backend calls mapped onto MailStore, and mailbox::Errc onto imap::Errc.
#include "mailbox/imap_backend.h"

#include <algorithm>
#include <chrono>

#include "mailbox/errc.h"
#include "proto/imap/errc.h"

namespace mta::mailbox {
namespace {

Error to_imap(const Error& error) {
  imap::Errc code = imap::Errc::store_failed;
  switch (static_cast<Errc>(error.code.value())) {
    case Errc::no_such_folder:
      code = imap::Errc::no_such_folder;
      break;
    case Errc::folder_exists:
      code = imap::Errc::folder_exists;
      break;
    case Errc::invalid_name:
    case Errc::not_allowed:
      code = imap::Errc::cannot;
      break;
    case Errc::no_such_message:
      code = imap::Errc::no_such_message;
      break;
    case Errc::no_space:
    case Errc::over_quota:
      code = imap::Errc::over_quota;
      break;
    default:
      break;
  }
  if (error.code.category() != error_category()) code = imap::Errc::store_failed;
  return Error{.code = imap::make_error_code(code), .detail = error.message()};
}

FlagChange to_change(imap::StoreMode mode) {
  switch (mode) {
    case imap::StoreMode::replace:
      return FlagChange::replace;
    case imap::StoreMode::add:
      return FlagChange::add;
    case imap::StoreMode::remove:
      return FlagChange::remove;
  }
  return FlagChange::replace;
}

imap::Flags flags_of(const MessageMeta& meta) {
  return imap::Flags{.system = meta.flags, .keywords = meta.keywords};
}

}  // namespace

Result<const Folder*> StoreBackend::folder(std::string_view name) const {
  const Folder* found = store_.find(name);
  if (found == nullptr) {
    return unexpected(imap::make_error_code(imap::Errc::no_such_folder), std::string(name));
  }
  return found;
}

Result<std::vector<imap::FolderInfo>> StoreBackend::list_folders() {
  std::vector<imap::FolderInfo> out;
  const auto& subscriptions = store_.subscriptions();
  for (const Folder* f : store_.folders()) {
    out.push_back({.name = f->name, .subscribed = subscriptions.contains(f->name)});
  }
  for (const auto& name : subscriptions) {
    if (store_.find(name) == nullptr) {
      out.push_back({.name = name, .subscribed = true, .exists = false});
    }
  }
  return out;
}

Result<void> StoreBackend::create_folder(std::string_view name) {
  if (auto made = store_.create_folder(name); !made) return unexpected(to_imap(made.error()));
  return {};
}

Result<void> StoreBackend::delete_folder(std::string_view name) {
  const Folder* f = store_.find(name);
  const std::uint32_t id = f == nullptr ? 0 : f->id;
  if (auto gone = store_.delete_folder(name); !gone) return unexpected(to_imap(gone.error()));
  recent_marks_.erase(id);
  return {};
}

Result<void> StoreBackend::rename_folder(std::string_view from, std::string_view to) {
  if (auto renamed = store_.rename_folder(from, to); !renamed) {
    return unexpected(to_imap(renamed.error()));
  }
  return {};
}

Result<void> StoreBackend::set_subscribed(std::string_view name, bool subscribed) {
  if (auto set = store_.set_subscribed(name, subscribed); !set) {
    return unexpected(to_imap(set.error()));
  }
  return {};
}

Result<imap::FolderStatus> StoreBackend::status(std::string_view name) {
  auto f = folder(name);
  if (!f) return unexpected(f.error());
  const Folder& folder = **f;
  imap::FolderStatus out{.messages = static_cast<std::uint32_t>(folder.messages.size()),
                         .uidnext = folder.uidnext,
                         .uidvalidity = folder.uidvalidity};
  const auto mark = recent_marks_.find(folder.id);
  const std::uint32_t recent_min = mark == recent_marks_.end() ? 1 : mark->second + 1;
  for (const auto& [uid, meta] : folder.messages) {
    if ((meta.flags & flag_seen) == 0) ++out.unseen;
    if (uid >= recent_min) ++out.recent;
  }
  return out;
}

Result<std::uint64_t> StoreBackend::change_counter(std::string_view name) {
  auto f = folder(name);
  if (!f) return unexpected(f.error());
  // Distinct across a delete and re-create of the same name: the UIDVALIDITY differs then.
  return (static_cast<std::uint64_t>((*f)->uidvalidity) << 40) ^ (*f)->modseq;
}

Result<imap::FolderView> StoreBackend::open(std::string_view name, bool claim_recent) {
  auto f = folder(name);
  if (!f) return unexpected(f.error());
  const Folder& folder = **f;
  imap::FolderView view{.uidvalidity = folder.uidvalidity, .uidnext = folder.uidnext};
  view.change_counter = (static_cast<std::uint64_t>(folder.uidvalidity) << 40) ^ folder.modseq;
  std::uint32_t& mark = recent_marks_[folder.id];
  view.recent_uid_min = mark + 1;
  if (claim_recent && folder.uidnext > 0) mark = std::max(mark, folder.uidnext - 1);
  view.messages.reserve(folder.messages.size());
  for (const auto& [uid, meta] : folder.messages) {
    view.messages.push_back(imap::MessageInfo{.uid = uid,
                                              .flags = flags_of(meta),
                                              .internal_date = meta.internal_date,
                                              .size = meta.size});
  }
  return view;
}

Result<std::string_view> StoreBackend::message(std::string_view folder, std::uint32_t uid) {
  auto body = store_.read(folder, uid);
  if (!body) return unexpected(to_imap(body.error()));
  message_ = std::move(body).value();
  return std::string_view(message_);
}

Result<std::vector<imap::FlagUpdate>> StoreBackend::store_flags(std::string_view name,
                                                                std::span<const std::uint32_t> uids,
                                                                imap::StoreMode mode,
                                                                const imap::Flags& flags) {
  if (auto changed = store_.change_flags(name, uids, to_change(mode), flags.system, flags.keywords);
      !changed) {
    return unexpected(to_imap(changed.error()));
  }
  auto f = folder(name);
  if (!f) return unexpected(f.error());
  std::vector<imap::FlagUpdate> out;
  for (std::uint32_t uid : uids) {
    auto it = (*f)->messages.find(uid);
    if (it != (*f)->messages.end()) out.push_back({.uid = uid, .flags = flags_of(it->second)});
  }
  return out;
}

Result<imap::AppendResult> StoreBackend::append(std::string_view name, const imap::Flags& flags,
                                                std::optional<std::int64_t> internal_date,
                                                std::string_view message) {
  const std::int64_t date =
      internal_date.value_or(std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
  auto uid = store_.append(name, message, flags.system, flags.keywords, date);
  if (!uid) return unexpected(to_imap(uid.error()));
  return imap::AppendResult{.uidvalidity = store_.find(name)->uidvalidity, .uid = *uid};
}

Result<imap::CopyResult> StoreBackend::copy(std::string_view from,
                                            std::span<const std::uint32_t> uids,
                                            std::string_view to) {
  auto source = folder(from);
  if (!source) return unexpected(source.error());
  std::vector<std::uint32_t> present;
  for (std::uint32_t uid : uids) {
    if ((*source)->messages.contains(uid)) present.push_back(uid);
  }
  auto copied = store_.copy(from, present, to);
  if (!copied) return unexpected(to_imap(copied.error()));
  return imap::CopyResult{.uidvalidity = store_.find(to)->uidvalidity,
                          .source_uids = std::move(present),
                          .dest_uids = std::move(copied).value()};
}

Result<imap::CopyResult> StoreBackend::move(std::string_view from,
                                            std::span<const std::uint32_t> uids,
                                            std::string_view to) {
  auto copied = copy(from, uids, to);
  if (!copied) return copied;
  if (auto gone = store_.expunge(from, copied->source_uids); !gone) {
    return unexpected(to_imap(gone.error()));
  }
  return copied;
}

Result<std::vector<std::uint32_t>> StoreBackend::expunge(std::string_view name,
                                                         std::span<const std::uint32_t> uids) {
  auto f = folder(name);
  if (!f) return unexpected(f.error());
  std::vector<std::uint32_t> deleted;
  for (std::uint32_t uid : uids) {
    auto it = (*f)->messages.find(uid);
    if (it != (*f)->messages.end() && (it->second.flags & flag_deleted) != 0) {
      deleted.push_back(uid);
    }
  }
  std::sort(deleted.begin(), deleted.end());
  deleted.erase(std::unique(deleted.begin(), deleted.end()), deleted.end());
  if (auto gone = store_.expunge(name, deleted); !gone) return unexpected(to_imap(gone.error()));
  return deleted;
}

}  // namespace mta::mailbox
