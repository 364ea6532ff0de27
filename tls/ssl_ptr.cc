// Deleters for the library's objects and the error-queue reader shared by the TLS module.
#include "tls/ssl_ptr.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cctype>

namespace mta::tls {

void SslDeleter::operator()(ssl_ctx_st* ctx) const { SSL_CTX_free(ctx); }
void SslDeleter::operator()(ssl_st* ssl) const { SSL_free(ssl); }
void SslDeleter::operator()(ssl_session_st* session) const { SSL_SESSION_free(session); }
void SslDeleter::operator()(x509_st* certificate) const { X509_free(certificate); }
void SslDeleter::operator()(evp_pkey_st* key) const { EVP_PKEY_free(key); }
void SslDeleter::operator()(bio_st* bio) const { BIO_free(bio); }

std::string take_library_error(const char* fallback) {
  const unsigned long err = ERR_get_error();
  ERR_clear_error();
  if (err == 0) return fallback;
  const char* reason = ERR_reason_error_string(err);
  if (reason == nullptr) return "library error " + std::to_string(err);
  std::string text(reason);
  for (char& c : text) {
    c = c == '_' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text;
}

int cache_key_ex_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace mta::tls
