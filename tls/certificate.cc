// Key and X.509 generation through the EVP and X509 calls BoringSSL and OpenSSL 3 share.
// Certificates are version 3 with a random 64-bit serial, SHA-256 signatures (none for
// Ed25519, whose signature has its own hash), and the SAN entries the caller asked for.
#include "tls/certificate.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "tls/errc.h"
#include "tls/ssl_ptr.h"

namespace mta::tls {
namespace {

struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;

Unexpected<Error> crypto_error(std::string what) {
  return unexpected(Errc::crypto_failure, what + ": " + take_library_error());
}

Result<PkeyPtr> generate_key(KeyType key_type) {
  const int id = key_type == KeyType::ec_p256    ? EVP_PKEY_EC
                 : key_type == KeyType::rsa_2048 ? EVP_PKEY_RSA
                                                 : EVP_PKEY_ED25519;
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(id, nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0) return crypto_error("keygen init");
  if (key_type == KeyType::ec_p256 &&
      EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx.get(), NID_X9_62_prime256v1) <= 0) {
    return crypto_error("keygen curve");
  }
  if (key_type == KeyType::rsa_2048 && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 2048) <= 0) {
    return crypto_error("keygen bits");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_keygen(ctx.get(), &raw) <= 0) return crypto_error("keygen");
  return PkeyPtr(raw);
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return length > 0 ? std::string(data, static_cast<std::size_t>(length)) : std::string();
}

bool add_name_entry(X509_NAME* name, const char* field, const std::string& value) {
  return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(value.data()),
                                    static_cast<int>(value.size()), -1, 0) == 1;
}

bool add_subject_alt_names(X509* certificate, const std::vector<std::string>& dns_names) {
  if (dns_names.empty()) return true;
  GENERAL_NAMES* names = GENERAL_NAMES_new();
  if (names == nullptr) return false;
  bool ok = true;
  for (const std::string& dns : dns_names) {
    ASN1_IA5STRING* text = ASN1_IA5STRING_new();
    GENERAL_NAME* entry = GENERAL_NAME_new();
    if (text == nullptr || entry == nullptr ||
        ASN1_STRING_set(text, dns.data(), static_cast<int>(dns.size())) != 1) {
      ASN1_IA5STRING_free(text);
      GENERAL_NAME_free(entry);
      ok = false;
      break;
    }
    GENERAL_NAME_set0_value(entry, GEN_DNS, text);
    if (sk_GENERAL_NAME_push(names, entry) == 0) {
      GENERAL_NAME_free(entry);
      ok = false;
      break;
    }
  }
  ok =
      ok && X509_add1_ext_i2d(certificate, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1;
  GENERAL_NAMES_free(names);
  return ok;
}

bool add_ca_extensions(X509* certificate) {
  BASIC_CONSTRAINTS* constraints = BASIC_CONSTRAINTS_new();
  if (constraints == nullptr) return false;
  constraints->ca = 0xff;  // ASN.1 BOOLEAN TRUE
  const bool ok = X509_add1_ext_i2d(certificate, NID_basic_constraints, constraints, 1,
                                    X509V3_ADD_DEFAULT) == 1;
  BASIC_CONSTRAINTS_free(constraints);
  if (!ok) return false;
  ASN1_BIT_STRING* usage = ASN1_BIT_STRING_new();
  if (usage == nullptr) return false;
  // keyUsage bits: 5 = keyCertSign, 6 = cRLSign (RFC 5280 §4.2.1.3).
  const bool set = ASN1_BIT_STRING_set_bit(usage, 5, 1) == 1 &&
                   ASN1_BIT_STRING_set_bit(usage, 6, 1) == 1 &&
                   X509_add1_ext_i2d(certificate, NID_key_usage, usage, 1, X509V3_ADD_DEFAULT) == 1;
  ASN1_BIT_STRING_free(usage);
  return set;
}

Result<X509Ptr> parse_certificate(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr certificate(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!certificate) return unexpected(Errc::bad_certificate, take_library_error("no PEM"));
  return certificate;
}

Result<PkeyPtr> parse_key(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return unexpected(Errc::bad_key, take_library_error("no PEM"));
  return key;
}

}  // namespace

Result<PemPair> make_certificate(const CertificateSpec& spec, KeyType key_type,
                                 const PemPair* issuer) {
  auto key = generate_key(key_type);
  if (!key) return unexpected(key.error());
  X509Ptr certificate(X509_new());
  if (!certificate) return crypto_error("X509_new");
  X509* x = certificate.get();

  std::uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<std::uint8_t*>(&serial), sizeof serial);
  serial &= 0x7fffffffffffffffULL;  // a positive INTEGER
  const long valid_seconds = static_cast<long>(spec.valid_for.count());
  if (X509_set_version(x, 2) != 1 ||
      ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial | 1) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(x), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(x), valid_seconds) == nullptr ||
      X509_set_pubkey(x, key->get()) != 1) {
    return crypto_error("certificate fields");
  }
  X509_NAME* subject = X509_get_subject_name(x);
  if (!add_name_entry(subject, "CN", spec.common_name)) return crypto_error("subject");
  if (!add_subject_alt_names(x, spec.dns_names)) return crypto_error("subjectAltName");
  if (spec.is_ca && !add_ca_extensions(x)) return crypto_error("CA extensions");

  PkeyPtr issuer_key;
  if (issuer == nullptr) {
    if (X509_set_issuer_name(x, subject) != 1) return crypto_error("issuer");
  } else {
    auto issuer_certificate = parse_certificate(issuer->certificate);
    if (!issuer_certificate) return unexpected(issuer_certificate.error());
    auto parsed_key = parse_key(issuer->private_key);
    if (!parsed_key) return unexpected(parsed_key.error());
    issuer_key = std::move(*parsed_key);
    if (X509_set_issuer_name(x, X509_get_subject_name(issuer_certificate->get())) != 1) {
      return crypto_error("issuer");
    }
  }
  EVP_PKEY* signing_key = issuer_key ? issuer_key.get() : key->get();
  const EVP_MD* digest = EVP_PKEY_id(signing_key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  if (X509_sign(x, signing_key, digest) <= 0) return crypto_error("X509_sign");

  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), x) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key->get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    return crypto_error("PEM output");
  }
  return PemPair{bio_text(cert_bio.get()), bio_text(key_bio.get())};
}

Result<void> write_file_atomically(const std::string& path, std::string_view contents,
                                   mode_t mode) {
  std::string temporary = path + ".tmp.XXXXXX";
  const int fd = ::mkstemp(temporary.data());
  if (fd < 0) return unexpected(Errc::io_error, "mkstemp " + temporary + ": " + strerror(errno));
  auto fail = [&](const char* call) {
    const int saved = errno;
    ::close(fd);
    ::unlink(temporary.c_str());
    return unexpected(Errc::io_error, std::string(call) + " " + path + ": " + strerror(saved));
  };
  // Before any byte is written, so a private key is never readable by others.
  if (::fchmod(fd, mode) != 0) return fail("fchmod");
  std::size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("write");
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("fsync");
  if (::close(fd) != 0) {
    ::unlink(temporary.c_str());
    return unexpected(Errc::io_error, "close " + path + ": " + strerror(errno));
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temporary.c_str());
    return unexpected(Errc::io_error, "rename " + path + ": " + strerror(saved));
  }
  return {};
}

Result<void> generate_self_signed(std::string_view hostname, const std::string& cert_path,
                                  const std::string& key_path) {
  CertificateSpec spec;
  spec.common_name = std::string(hostname);
  spec.dns_names = {std::string(hostname)};
  auto pair = make_certificate(spec, KeyType::ec_p256);
  if (!pair) return unexpected(pair.error());
  // Key first: a certificate on disk without its key would fail to load anyway.
  auto key_written = write_file_atomically(key_path, pair->private_key, 0600);
  if (!key_written) return key_written;
  return write_file_atomically(cert_path, pair->certificate, 0644);
}

}  // namespace mta::tls
