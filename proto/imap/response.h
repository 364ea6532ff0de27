// Writers for the pieces of server responses (RFC 3501 §9 formal syntax): strings as atoms,
// quoted strings or literals, nstrings, flag lists and uid-sets. Shared by the session and the
// FETCH data builders; they append to a std::string and never fail.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "proto/imap/command.h"

namespace mta::imap {

// string = quoted / literal: quoted when every octet is printable ASCII and it is short,
// else a literal "{n}\r\n" + octets (CR, LF, NUL and 8-bit text go as literals).
void append_string(std::string& out, std::string_view text);
// nstring = string / nil
void append_nstring(std::string& out, const std::optional<std::string>& text);
// astring as the server writes mailbox names: an atom when it can be one, else a string.
void append_astring(std::string& out, std::string_view text);
// A literal, always: "{n}\r\n" + octets.
void append_literal(std::string& out, std::string_view octets);
// flag-list "(\Seen \Answered ... keyword ...)", with \Recent last when recent.
void append_flags(std::string& out, const Flags& flags, bool recent);
// uid-set for COPYUID/APPENDUID: ascending runs written as "a:b", others comma-separated.
void append_uid_set(std::string& out, std::span<const std::uint32_t> uids);

}  // namespace mta::imap
