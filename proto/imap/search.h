// SEARCH evaluation (RFC 3501 §6.4.4) for one message at a time. Header keys match
// case-insensitive substrings of RFC 2047-decoded field values; BODY and TEXT match the
// transfer-decoded text parts (and message/* parts such as message/delivery-status); dates
// compare at day granularity, SINCE/BEFORE/ON on the internal date (UTC) and SENT* on the
// Date field (in its own zone; the internal date when it has none).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "proto/imap/command.h"
#include "proto/mime/structure.h"

namespace mta::imap {

// What a search knows of one message. `load` fetches the bytes only when a key needs them
// (header, body, SENT* keys); nullopt means they cannot be read (expunged meanwhile), and
// then such keys do not match.
struct SearchSubject {
  std::uint32_t seq = 0, uid = 0;
  std::uint32_t seq_max = 0, uid_max = 0;  // what "*" means
  const Flags* flags = nullptr;
  bool recent = false;
  std::int64_t internal_date = 0;
  std::uint64_t size = 0;
  std::function<std::optional<std::string_view>()> load;
};

// True when every key matches (the top-level list is an AND).
bool search_matches(std::span<const SearchKey> keys, const SearchSubject& subject);

// The calendar day of an RFC 5322 date ("Tue, 1 Jul 2003 10:52:37 +0200" -> 2003-07-01),
// tolerant of a missing weekday and two-digit years; nullopt when none can be read.
std::optional<Day> rfc5322_day(std::string_view date);

}  // namespace mta::imap
