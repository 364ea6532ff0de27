// Making certificates with the crypto library: keys (EC P-256, RSA-2048, Ed25519), X.509
// certificates self-signed or signed by a given issuer, and the self-signed fallback the
// daemon writes when no certificate is configured. Files are written atomically.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mta::tls {

enum class KeyType { ec_p256, rsa_2048, ed25519 };

struct CertificateSpec {
  std::string common_name;
  std::vector<std::string> dns_names;  // subjectAltName dNSName entries
  bool is_ca = false;                  // basicConstraints CA:TRUE, keyUsage keyCertSign
  std::chrono::seconds valid_for = std::chrono::hours(24 * 3653);  // about ten years
};

// A certificate and its private key, both PEM.
struct PemPair {
  std::string certificate;
  std::string private_key;
};

// A new key of `key_type` and a certificate for it. Self-signed when `issuer` is null,
// otherwise signed by issuer->private_key with issuer->certificate's subject as issuer name.
Result<PemPair> make_certificate(const CertificateSpec& spec, KeyType key_type,
                                 const PemPair* issuer = nullptr);

// Writes `contents` to a temporary file beside `path` with `mode`, fsyncs it and renames it
// over `path`, so a reader sees the old file or the new one, never half of one.
Result<void> write_file_atomically(const std::string& path, std::string_view contents, mode_t mode);

// For a server without a configured certificate: an EC P-256 key (mode 0600) and a
// self-signed certificate (mode 0644) for CN = SAN = DNS:hostname, valid about ten years.
Result<void> generate_self_signed(std::string_view hostname, const std::string& cert_path,
                                  const std::string& key_path);

}  // namespace mta::tls
