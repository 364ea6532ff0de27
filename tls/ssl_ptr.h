// Owning pointers for the crypto library's objects, and the one place that turns the
// library's error queue into text. The types are forward-declared (both BoringSSL and OpenSSL
// name them ssl_ctx_st, ssl_st, ...) so public headers need not include <openssl/ssl.h>.
#pragma once

#include <memory>
#include <string>

struct ssl_ctx_st;
struct ssl_st;
struct ssl_session_st;
struct x509_st;
struct evp_pkey_st;
struct bio_st;

namespace mta::tls {

struct SslDeleter {
  void operator()(ssl_ctx_st* ctx) const;
  void operator()(ssl_st* ssl) const;
  void operator()(ssl_session_st* session) const;
  void operator()(x509_st* certificate) const;
  void operator()(evp_pkey_st* key) const;
  void operator()(bio_st* bio) const;
};

using SslCtxPtr = std::unique_ptr<ssl_ctx_st, SslDeleter>;
using SslPtr = std::unique_ptr<ssl_st, SslDeleter>;
using SslSessionPtr = std::unique_ptr<ssl_session_st, SslDeleter>;
using X509Ptr = std::unique_ptr<x509_st, SslDeleter>;
using PkeyPtr = std::unique_ptr<evp_pkey_st, SslDeleter>;
using BioPtr = std::unique_ptr<bio_st, SslDeleter>;

// The reason of the oldest entry on this thread's error queue in lower case with spaces
// ("no shared cipher": BoringSSL says NO_SHARED_CIPHER, OpenSSL "no shared cipher"), or
// `fallback` when the queue is empty. Clears the queue.
std::string take_library_error(const char* fallback = "unknown error");

// The SSL ex_data slot where a client Session keeps its session-cache key (a std::string*),
// read by ClientContext's new-session callback.
int cache_key_ex_index();

}  // namespace mta::tls
