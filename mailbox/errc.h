// Error codes of the bounce mailbox's store: why a folder or message operation failed, or why
// the database could not be read or written. Callers branch on the code; the detail names the
// folder, message or RocksDB status. The category name is "mailbox".
#pragma once

#include <system_error>

namespace mta::mailbox {

enum class Errc {
  ok = 0,
  io_error = 1,         // RocksDB reported an I/O or other failure
  no_space = 2,         // the disk is full
  corrupt_record = 3,   // a stored record does not decode
  invalid_name = 4,     // a folder name that is not allowed
  folder_exists = 5,    // create or rename onto an existing folder
  no_such_folder = 6,   // the folder does not exist
  no_such_message = 7,  // no message with that UID in the folder
  not_allowed = 8,      // the operation is refused (INBOX cannot be deleted)
  over_quota = 9,       // a message larger than the whole mailbox quota
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace mta::mailbox

template <>
struct std::is_error_code_enum<mta::mailbox::Errc> : std::true_type {};
