// EVP glue for DKIM keys, restricted to the calls BoringSSL and OpenSSL 3 share so both builds
// compile the same code. Library errors are cleared after each failure so one bad key record
// cannot leave stale entries on the thread's error queue.
#include "dkim/crypto.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "base/base64.h"
#include "dkim/errc.h"

namespace mta::dkim {
namespace {

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

constexpr int rsa_sign_bits_min = 1024;
constexpr int rsa_sign_bits_max = 4096;
constexpr std::size_t ed25519_key_bytes = 32;

Unexpected<Error> crypto_error(Errc code, std::string detail) {
  unsigned long err = ERR_get_error();
  if (err != 0) {
    char text[256];
    ERR_error_string_n(err, text, sizeof text);
    detail += ": ";
    detail += text;
  }
  ERR_clear_error();
  return unexpected(code, std::move(detail));
}

const std::uint8_t* bytes_of(std::string_view s) {
  return reinterpret_cast<const std::uint8_t*>(s.data());
}

Result<Algorithm> algorithm_of(const EVP_PKEY* key) {
  switch (EVP_PKEY_id(key)) {
    case EVP_PKEY_RSA:
      return Algorithm::rsa_sha256;
    case EVP_PKEY_ED25519:
      return Algorithm::ed25519_sha256;
    default:
      return unexpected(Errc::bad_key, "key is neither RSA nor Ed25519");
  }
}

std::string_view bio_contents(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string_view(data, static_cast<std::size_t>(size)) : std::string_view();
}

}  // namespace

std::string_view algorithm_name(Algorithm algorithm) {
  return algorithm == Algorithm::rsa_sha256 ? "rsa-sha256" : "ed25519-sha256";
}

Result<Algorithm> parse_algorithm(std::string_view name) {
  if (name == "rsa-sha256") return Algorithm::rsa_sha256;
  if (name == "ed25519-sha256") return Algorithm::ed25519_sha256;
  return unexpected(Errc::malformed_signature, "unsupported algorithm " + std::string(name));
}

void PkeyDeleter::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
void MdCtxDeleter::operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return crypto_error(Errc::crypto_failure, "BIO_new_mem_buf");
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return crypto_error(Errc::bad_key, "no PEM private key");
  auto algorithm = algorithm_of(key.get());
  if (!algorithm) return unexpected(algorithm.error());
  if (*algorithm == Algorithm::rsa_sha256) {
    const int bits = EVP_PKEY_bits(key.get());
    if (bits < rsa_sign_bits_min || bits > rsa_sign_bits_max) {
      return unexpected(Errc::bad_key,
                        "RSA key of " + std::to_string(bits) + " bits (1024..4096 allowed)");
    }
  }
  return PrivateKey(std::move(key), *algorithm);
}

Result<PrivateKey> PrivateKey::from_ed25519_seed(std::string_view seed) {
  if (seed.size() != ed25519_key_bytes) {
    return unexpected(Errc::bad_key, "an Ed25519 seed is 32 bytes");
  }
  PkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes_of(seed), seed.size()));
  if (!key) return crypto_error(Errc::bad_key, "Ed25519 seed");
  return PrivateKey(std::move(key), Algorithm::ed25519_sha256);
}

Result<PrivateKey> PrivateKey::generate(Algorithm algorithm, int bits) {
  const bool rsa = algorithm == Algorithm::rsa_sha256;
  if (rsa && (bits < rsa_sign_bits_min || bits > rsa_sign_bits_max)) {
    return unexpected(Errc::bad_key, "RSA bits must be 1024..4096");
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(rsa ? EVP_PKEY_RSA : EVP_PKEY_ED25519, nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0) {
    return crypto_error(Errc::crypto_failure, "keygen init");
  }
  if (rsa && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) <= 0) {
    return crypto_error(Errc::crypto_failure, "keygen bits");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_keygen(ctx.get(), &raw) <= 0) return crypto_error(Errc::crypto_failure, "keygen");
  return PrivateKey(PkeyPtr(raw), algorithm);
}

PrivateKey::PrivateKey(const PrivateKey& other) : algorithm_(other.algorithm_) {
  if (other.key_) {
    EVP_PKEY_up_ref(other.key_.get());
    key_.reset(other.key_.get());
  }
}

PrivateKey& PrivateKey::operator=(const PrivateKey& other) {
  if (this != &other) *this = PrivateKey(other);
  return *this;
}

int PrivateKey::bits() const { return EVP_PKEY_bits(key_.get()); }

std::string PrivateKey::to_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  MTA_ASSERT(bio != nullptr);
  const int ok =
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  MTA_ASSERT(ok == 1);
  return std::string(bio_contents(bio.get()));
}

std::string PrivateKey::public_key_base64() const {
  if (algorithm_ == Algorithm::ed25519_sha256) {
    std::string raw(ed25519_key_bytes, '\0');
    std::size_t size = raw.size();
    const int ok =
        EVP_PKEY_get_raw_public_key(key_.get(), reinterpret_cast<std::uint8_t*>(raw.data()), &size);
    MTA_ASSERT(ok == 1);
    MTA_ASSERT(size == ed25519_key_bytes);
    return base64_encode(raw);
  }
  const int size = i2d_PUBKEY(key_.get(), nullptr);
  MTA_ASSERT(size > 0);
  std::string der(static_cast<std::size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  MTA_ASSERT(i2d_PUBKEY(key_.get(), &out) == size);
  return base64_encode(der);
}

std::string PrivateKey::public_record() const {
  return std::string("v=DKIM1; k=") + (algorithm_ == Algorithm::rsa_sha256 ? "rsa" : "ed25519") +
         "; p=" + public_key_base64();
}

Result<std::string> PrivateKey::sign_digest(const Digest& digest) const {
  std::size_t size = 0;
  std::string signature;
  if (algorithm_ == Algorithm::rsa_sha256) {
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new(key_.get(), nullptr));
    if (!ctx || EVP_PKEY_sign_init(ctx.get()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) <= 0 ||
        EVP_PKEY_sign(ctx.get(), nullptr, &size, digest.data(), digest.size()) <= 0) {
      return crypto_error(Errc::crypto_failure, "RSA sign init");
    }
    signature.resize(size);
    if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<std::uint8_t*>(signature.data()), &size,
                      digest.data(), digest.size()) <= 0) {
      return crypto_error(Errc::crypto_failure, "RSA sign");
    }
  } else {
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) <= 0) {
      return crypto_error(Errc::crypto_failure, "Ed25519 sign init");
    }
    size = 64;
    signature.resize(size);
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<std::uint8_t*>(signature.data()), &size,
                       digest.data(), digest.size()) <= 0) {
      return crypto_error(Errc::crypto_failure, "Ed25519 sign");
    }
  }
  signature.resize(size);
  return signature;
}

Result<PublicKey> PublicKey::from_record_key(Algorithm algorithm, std::string_view der_or_raw) {
  if (algorithm == Algorithm::ed25519_sha256) {
    if (der_or_raw.size() != ed25519_key_bytes) {
      return unexpected(Errc::bad_key, "an Ed25519 public key is 32 bytes");
    }
    PkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes_of(der_or_raw),
                                            der_or_raw.size()));
    if (!key) return crypto_error(Errc::bad_key, "Ed25519 public key");
    return PublicKey(std::move(key), algorithm);
  }
  // RFC 6376 §3.6.1 says SubjectPublicKeyInfo; some publish a bare PKCS#1 RSAPublicKey.
  const std::uint8_t* in = bytes_of(der_or_raw);
  const long size = static_cast<long>(der_or_raw.size());
  PkeyPtr key(d2i_PUBKEY(nullptr, &in, size));
  if (!key) {
    ERR_clear_error();
    in = bytes_of(der_or_raw);
    key.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &in, size));
  }
  if (!key) return crypto_error(Errc::bad_key, "RSA public key does not parse");
  if (EVP_PKEY_id(key.get()) != EVP_PKEY_RSA) {
    return unexpected(Errc::bad_key, "k=rsa but the key is not RSA");
  }
  return PublicKey(std::move(key), algorithm);
}

int PublicKey::bits() const { return EVP_PKEY_bits(key_.get()); }

bool PublicKey::verify_digest(const Digest& digest, std::string_view signature) const {
  int ok = 0;
  if (algorithm_ == Algorithm::rsa_sha256) {
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new(key_.get(), nullptr));
    ok = ctx && EVP_PKEY_verify_init(ctx.get()) > 0 &&
         EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) > 0 &&
         EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) > 0 &&
         EVP_PKEY_verify(ctx.get(), bytes_of(signature), signature.size(), digest.data(),
                         digest.size()) == 1;
  } else {
    MdCtxPtr ctx(EVP_MD_CTX_new());
    ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) > 0 &&
         EVP_DigestVerify(ctx.get(), bytes_of(signature), signature.size(), digest.data(),
                          digest.size()) == 1;
  }
  ERR_clear_error();
  return ok != 0;
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  MTA_ASSERT(ctx_ != nullptr);
  const int ok = EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
  MTA_ASSERT(ok == 1);
}

void Sha256::update(std::string_view bytes) {
  if (bytes.empty()) return;
  const int ok = EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size());
  MTA_ASSERT(ok == 1);
}

Digest Sha256::finish() {
  Digest digest{};
  unsigned int size = 0;
  const int ok = EVP_DigestFinal_ex(ctx_.get(), digest.data(), &size);
  MTA_ASSERT(ok == 1);
  MTA_ASSERT(size == digest.size());
  return digest;
}

Digest sha256(std::string_view bytes) {
  Sha256 hash;
  hash.update(bytes);
  return hash.finish();
}

Result<std::string> base64_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t acc = 0;
  int bits = 0;
  int padding = 0;
  std::size_t symbols = 0;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') {
      ++padding;
      ++symbols;
      continue;
    }
    const int v = base64_value(c);
    if (v < 0 || padding > 0) return unexpected(Errc::malformed_signature, "bad base64");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    ++symbols;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (symbols % 4 != 0 || padding > 2) {
    return unexpected(Errc::malformed_signature, "bad base64 length");
  }
  return out;
}

}  // namespace mta::dkim
