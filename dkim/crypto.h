// Keys and hashes of DKIM over the crypto library's EVP API (BoringSSL or OpenSSL 3): private
// keys parsed once and reused for every message, public keys from DNS records, SHA-256 and
// base64. Every library object is owned by a unique_ptr; no library type escapes except by
// forward declaration.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <openssl/ossl_typ.h>

#include "base/base64.h"
#include "base/result.h"

namespace mta::dkim {

enum class Algorithm { rsa_sha256, ed25519_sha256 };

// "rsa-sha256" / "ed25519-sha256", as in a= and on the command line.
std::string_view algorithm_name(Algorithm algorithm);
Result<Algorithm> parse_algorithm(std::string_view name);

using Digest = std::array<std::uint8_t, 32>;

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const;
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// A signing key, parsed once. Copies share the library's reference-counted key, which is safe
// to sign with from several shards at once (signing only reads it).
class PrivateKey {
 public:
  // PEM: PKCS#8 "PRIVATE KEY" (RSA or Ed25519) or PKCS#1 "RSA PRIVATE KEY".
  static Result<PrivateKey> from_pem(std::string_view pem);
  // The 32-byte Ed25519 seed (RFC 8032), as dkimpy and RFC 8463 give Ed25519 keys.
  static Result<PrivateKey> from_ed25519_seed(std::string_view seed);
  // bits is for RSA only (1024..4096); Ed25519 ignores it.
  static Result<PrivateKey> generate(Algorithm algorithm, int bits);

  PrivateKey(const PrivateKey& other);
  PrivateKey& operator=(const PrivateKey& other);
  PrivateKey(PrivateKey&&) noexcept = default;
  PrivateKey& operator=(PrivateKey&&) noexcept = default;
  ~PrivateKey() = default;

  Algorithm algorithm() const { return algorithm_; }
  int bits() const;
  std::string to_pem() const;  // PKCS#8
  // The p= value: base64 SubjectPublicKeyInfo for RSA (RFC 6376 §3.6.1), base64 raw 32-byte
  // key for Ed25519 (RFC 8463 §4).
  std::string public_key_base64() const;
  // "v=DKIM1; k=rsa; p=..." / "v=DKIM1; k=ed25519; p=...", the DNS TXT value.
  std::string public_record() const;
  // The private-key operation: PKCS#1 v1.5 over the SHA-256 digest (rsa-sha256), or
  // PureEd25519 over the 32-byte digest itself (ed25519-sha256, RFC 8463 §3).
  Result<std::string> sign_digest(const Digest& digest) const;

 private:
  PrivateKey(PkeyPtr key, Algorithm algorithm) : key_(std::move(key)), algorithm_(algorithm) {}

  PkeyPtr key_;
  Algorithm algorithm_;
};

// A verification key from a DNS key record's k= and p=.
class PublicKey {
 public:
  // der_or_raw is the decoded p= value.
  static Result<PublicKey> from_record_key(Algorithm algorithm, std::string_view der_or_raw);

  Algorithm algorithm() const { return algorithm_; }
  int bits() const;
  bool verify_digest(const Digest& digest, std::string_view signature) const;

 private:
  PublicKey(PkeyPtr key, Algorithm algorithm) : key_(std::move(key)), algorithm_(algorithm) {}

  PkeyPtr key_;
  Algorithm algorithm_;
};

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const;
};

// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  void update(std::string_view bytes);
  Digest finish();  // once; the object is then spent

 private:
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx_;
};

Digest sha256(std::string_view bytes);

// RFC 4648 base64 without line breaks. decode skips whitespace and fails on anything else
// that is not in the alphabet or on bad padding.
using mta::base64_encode;  // base/base64.h
Result<std::string> base64_decode(std::string_view text);

}  // namespace mta::dkim
