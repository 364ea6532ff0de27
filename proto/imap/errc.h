// Error codes of the IMAP core: why a command did not parse, and why a Backend refused an
// operation (no such folder, folder exists, ...). Peers' malformed bytes and a store's
// refusals come back as Result errors carrying one of these codes, never as asserts. The
// category name is "imap"; make_error_code lets std::error_code{Errc::x} work directly.
#pragma once

#include <system_error>

namespace mta::imap {

enum class Errc {
  ok = 0,
  bad_command = 1,      // a command that does not parse (answered with tagged BAD)
  line_too_long = 2,    // a command's text exceeded CommandLimits::line_bytes_max
  literal_too_big = 3,  // a literal exceeded its limit
  too_complex = 4,      // nesting or argument count over CommandLimits
  no_such_folder = 5,   // Backend: the folder does not exist ([NONEXISTENT], [TRYCREATE])
  folder_exists = 6,    // Backend: CREATE or RENAME onto an existing name ([ALREADYEXISTS])
  cannot = 7,           // Backend: not allowed (DELETE INBOX, a bad name) ([CANNOT])
  no_such_message = 8,  // Backend: the uid is gone (expunged by another session)
  store_failed = 9,     // Backend: the store itself failed (disk, corruption) ([SERVERBUG])
  over_quota = 10,      // Backend: the store refuses to grow ([OVERQUOTA])
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace mta::imap

template <>
struct std::is_error_code_enum<mta::imap::Errc> : std::true_type {};
