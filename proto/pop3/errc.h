// Error codes of the POP3 core: what a Maildrop reports to the session (a lock held elsewhere, a
// storage failure) and what the session turns into "-ERR [IN-USE]" or "-ERR [SYS/TEMP]" replies.
// The category name is "pop3"; make_error_code lets std::error_code{Errc::x} work directly.
#pragma once

#include <system_error>

namespace mta::pop3 {

enum class Errc {
  ok = 0,
  in_use = 1,           // another session holds the maildrop's lock (RFC 2449 IN-USE)
  storage_failed = 2,   // the store could not read, write or lock (answered [SYS/TEMP])
  no_such_message = 3,  // an index outside the list taken at lock time
  bad_unique_id = 4,    // a unique-id outside RFC 1939's 1-70 octets 0x21-0x7E
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace mta::pop3

template <>
struct std::is_error_code_enum<mta::pop3::Errc> : std::true_type {};
