// Error codes of the TLS transport: loading certificates and keys, generating them, and what
// a handshake or a record can fail with. The Error detail carries the reason delivery logs
// ("certificate verify failed: self signed certificate", "host name mismatch").
#pragma once

#include <system_error>
#include <type_traits>

namespace mta::tls {

enum class Errc {
  ok = 0,
  bad_certificate = 1,   // certificate chain PEM missing, unreadable or not matching the key
  bad_key = 2,           // private key PEM missing, unreadable or of an unsupported type
  bad_ca_file = 3,       // the configured CA file does not load
  io_error = 4,          // writing a generated certificate or key failed
  crypto_failure = 5,    // the library refused an operation (allocation, key generation)
  handshake_failed = 6,  // no shared cipher or version, alert from the peer, bad hello
  certificate_verify_failed = 7,  // chain does not verify (Verify::chain_and_name only)
  host_name_mismatch = 8,         // chain verifies but not for the expected name
  bad_record = 9,                 // undecryptable or malformed record after the handshake
  renegotiation_refused = 10,     // the peer tried to renegotiate (TLS 1.2)
  handshake_timeout = 11,         // the handshake did not finish in time (Stream)
  closed = 12,                    // the session already failed or was closed
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace mta::tls

template <>
struct std::is_error_code_enum<mta::tls::Errc> : std::true_type {};
