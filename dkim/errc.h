// Error codes of the DKIM module: what key loading, signing and the parsers can fail with.
// Verification outcomes are not errors (a failed signature is a VerifyResult with a reason);
// these codes are for malformed input, bad keys and crypto-library failures.
#pragma once

#include <system_error>

namespace mta::dkim {

enum class Errc {
  ok = 0,
  malformed_tag_list = 1,    // RFC 6376 §3.2 tag-list grammar broken, or a duplicate tag
  malformed_signature = 2,   // a DKIM-Signature misses a required tag or has a bad value
  malformed_key_record = 3,  // a DNS key record (v=DKIM1; k=...; p=...) does not parse
  malformed_message = 4,     // no header block, a header line without a colon, no From
  bad_key = 5,               // PEM does not parse, unsupported key type or size
  algorithm_mismatch = 6,    // the configured algorithm is not the key's type
  crypto_failure = 7,        // the crypto library refused an operation
  io_error = 8,              // a key file could not be read
  no_key = 9,                // no key for a domain/selector
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace mta::dkim

template <>
struct std::is_error_code_enum<mta::dkim::Errc> : std::true_type {};
