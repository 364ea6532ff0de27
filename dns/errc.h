// Error codes of the DNS module: what setting up a resolver and parsing a raw DNS message can
// fail with. Lookup outcomes (NXDOMAIN, SERVFAIL, a timeout) are not errors: they are data
// (QueryStatus, then MxResult's bounce or defer).
#pragma once

#include <system_error>

namespace mta::dns {

enum class Errc {
  ok = 0,
  init_failed = 1,        // c-ares could not create its channel (resolv.conf, memory)
  bad_server = 2,         // a server is not "IP", "IP:PORT" or "[IPv6]:PORT"
  malformed_message = 3,  // a DNS message is truncated or its names do not parse (RFC 1035)
  timed_out = 4,          // a blocking drive (command line, tests) ran out of time
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace mta::dns

template <>
struct std::is_error_code_enum<mta::dns::Errc> : std::true_type {};
