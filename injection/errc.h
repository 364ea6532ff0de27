// Error codes of the injection module: configuration values it parses (rates) and requests to
// the HTTP API that it refuses. Error::detail names the value or field at fault.
#pragma once

#include <system_error>

namespace mta::injection {

enum class Errc {
  bad_rate = 1,  // a rate limit that does not parse ("100/s")
  bad_request,   // an API request that is malformed or names a bad field
};

const std::error_category& injection_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), injection_category()};
}

}  // namespace mta::injection

template <>
struct std::is_error_code_enum<mta::injection::Errc> : std::true_type {};
