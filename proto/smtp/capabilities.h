// Capabilities: what a server advertised in its EHLO reply (RFC 5321 §4.1.1.1 and the
// extensions Outpost uses). Deciding what to do with them is the client session's job.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proto/smtp/reply.h"

namespace mta::smtp {

struct Capabilities {
  bool pipelining = false;                   // RFC 2920
  bool eight_bit_mime = false;               // RFC 6152
  bool enhanced_status_codes = false;        // RFC 2034
  bool starttls = false;                     // RFC 3207
  bool smtputf8 = false;                     // RFC 6531
  bool chunking = false;                     // RFC 3030
  bool dsn = false;                          // RFC 3461
  std::optional<std::uint64_t> size_max;     // RFC 1870 "SIZE n"; 0 = no fixed limit
  std::vector<std::string> auth_mechanisms;  // RFC 4954, uppercased, no duplicates

  // Keywords are case-insensitive; the first line is the greeting and is skipped. Unknown
  // keywords and malformed parameters are ignored: an odd server line must not cost a delivery.
  static Capabilities from_ehlo(const Reply& ehlo_reply);

  friend bool operator==(const Capabilities&, const Capabilities&) = default;
};

}  // namespace mta::smtp
