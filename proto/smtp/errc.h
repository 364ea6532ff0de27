// Error codes of the SMTP protocol core (client and server sides). Peers' malformed bytes and
// broken limits come back as Result errors carrying one of these codes; they are never asserts.
// The category name is "smtp"; make_error_code lets std::error_code{Errc::x} work directly.
#pragma once

#include <system_error>

namespace mta::smtp {

enum class Errc {
  ok = 0,
  line_too_long = 1,       // a reply or command line exceeded its byte limit
  too_many_lines = 2,      // a multi-line reply exceeded its line limit
  bad_reply_code = 3,      // a reply line does not start with three digits 2..5 / 0..5 / 0..9
  malformed_reply = 4,     // bad separator after the code, mixed codes in one reply
  unexpected_reply = 5,    // a reply arrived when no command was outstanding
  command_too_long = 6,    // a command line exceeded its byte limit (server side)
  malformed_command = 7,   // a command line that does not parse (server side)
  protocol_violation = 8,  // the peer broke the state machine (e.g. 354 outside DATA)
  message_too_large = 9,   // a DATA body exceeded its byte limit (server side)
  session_failed = 10,     // the session already failed; the connection must be closed
  bad_chunk_size = 11,     // a BDAT line that does not parse: the chunk's end is unknown
  not_ready = 12,          // a transaction asked of a client session not ready for one
  bad_address = 13,        // an envelope address the session cannot send (CR or LF in it)
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace mta::smtp

template <>
struct std::is_error_code_enum<mta::smtp::Errc> : std::true_type {};
