// SSL_CTX set-up for both sides. Differences between BoringSSL and OpenSSL handled here:
// ticket key length (48 / 80 bytes), and renegotiation (OpenSSL needs SSL_OP_NO_RENEGOTIATION;
// BoringSSL clients never renegotiate by default and its servers cannot).
#include "tls/context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cstdint>
#include <iterator>

#include "tls/errc.h"

namespace mta::tls {
namespace {

constexpr char kSessionIdContext[] = "outpost";
constexpr char kSystemCaFile[] = "/etc/ssl/certs/ca-certificates.crt";

#ifdef OUTPOST_OPENSSL
constexpr std::size_t kTicketKeyBytes = 80;
#else
constexpr std::size_t kTicketKeyBytes = 48;
#endif

Result<SslCtxPtr> new_context(bool server) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_method()));
  if (!ctx) return unexpected(Errc::crypto_failure, "SSL_CTX_new: " + take_library_error());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);
  // Memory BIOs never block, but a write may still be split over several calls: let SSL_write
  // take a different buffer address for the retry.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (server) {
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_session_id_context(ctx.get(),
                                   reinterpret_cast<const unsigned char*>(kSessionIdContext),
                                   sizeof(kSessionIdContext) - 1);
  }
  return ctx;
}

// The library calls this when the server hands us a session (end of a TLS 1.2 handshake,
// or a TLS 1.3 NewSessionTicket read by SSL_read). Returning 1 takes ownership.
int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* context = static_cast<ClientContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  const auto* key = static_cast<const std::string*>(SSL_get_ex_data(ssl, cache_key_ex_index()));
  if (context == nullptr || key == nullptr || key->empty()) return 0;
  if (SSL_SESSION_is_resumable(session) != 1) return 0;
  context->store_session(*key, SslSessionPtr(session));
  return 1;
}

}  // namespace

// ServerContext

ServerContext::ServerContext(Key, std::string cert_chain_path, std::string key_path, SslCtxPtr ctx)
    : cert_chain_path_(std::move(cert_chain_path)),
      key_path_(std::move(key_path)),
      ctx_(std::move(ctx)) {}

ServerContext::~ServerContext() = default;

Result<SslCtxPtr> ServerContext::build(const std::string& cert_chain_path,
                                       const std::string& key_path) {
  auto ctx = new_context(/*server=*/true);
  if (!ctx) return ctx;
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx->get(), cert_chain_path.c_str()) != 1) {
    return unexpected(Errc::bad_certificate, cert_chain_path + ": " + take_library_error());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx->get(), key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
    return unexpected(Errc::bad_key, key_path + ": " + take_library_error());
  }
  if (SSL_CTX_check_private_key(ctx->get()) != 1) {
    return unexpected(Errc::bad_key,
                      key_path + ": does not match the certificate: " + take_library_error());
  }
  return ctx;
}

Result<std::unique_ptr<ServerContext>> ServerContext::load(std::string cert_chain_path,
                                                           std::string key_path) {
  auto ctx = build(cert_chain_path, key_path);
  if (!ctx) return unexpected(ctx.error());
  return std::make_unique<ServerContext>(Key(), std::move(cert_chain_path), std::move(key_path),
                                         std::move(*ctx));
}

Result<void> ServerContext::reload() {
  auto ctx = build(cert_chain_path_, key_path_);
  if (!ctx) return unexpected(ctx.error());
  const std::string keys = ticket_keys();
  SslCtxPtr old = std::exchange(ctx_, std::move(*ctx));
  if (!keys.empty()) {
    auto copied = set_ticket_keys(keys);
    if (!copied) {
      ctx_ = std::move(old);
      return copied;
    }
  }
  return {};
}

std::string ServerContext::ticket_keys() const {
  std::string keys(kTicketKeyBytes, '\0');
  if (SSL_CTX_get_tlsext_ticket_keys(ctx_.get(), keys.data(), static_cast<long>(keys.size())) !=
      1) {
    return {};
  }
  return keys;
}

Result<void> ServerContext::set_ticket_keys(std::string_view keys) {
  if (keys.size() != kTicketKeyBytes) {
    return unexpected(Errc::crypto_failure,
                      "ticket keys are " + std::to_string(kTicketKeyBytes) + " bytes");
  }
  std::string copy(keys);  // OpenSSL's macro takes a non-const pointer
  if (SSL_CTX_set_tlsext_ticket_keys(ctx_.get(), copy.data(), static_cast<long>(copy.size())) !=
      1) {
    return unexpected(Errc::crypto_failure, "set ticket keys: " + take_library_error());
  }
  return {};
}

// ClientContext

ClientContext::ClientContext(Key, Verify verify, std::size_t entries_max, SslCtxPtr ctx)
    : verify_(verify), entries_max_(entries_max), ctx_(std::move(ctx)) {}

ClientContext::~ClientContext() = default;

Result<std::unique_ptr<ClientContext>> ClientContext::create(const ClientOptions& options) {
  auto ctx = new_context(/*server=*/false);
  if (!ctx) return unexpected(ctx.error());
  ERR_clear_error();
  if (!options.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx->get(), options.ca_file.c_str(), nullptr) != 1) {
      return unexpected(Errc::bad_ca_file, options.ca_file + ": " + take_library_error());
    }
  } else {
    // BoringSSL's compiled-in default paths are Android's; Debian's bundle is here.
    struct stat info {};
    const bool have_bundle = ::stat(kSystemCaFile, &info) == 0;
    const int ok = have_bundle ? SSL_CTX_load_verify_locations(ctx->get(), kSystemCaFile, nullptr)
                               : SSL_CTX_set_default_verify_paths(ctx->get());
    if (ok != 1) {
      return unexpected(Errc::bad_ca_file, "system CA store: " + take_library_error());
    }
  }
  // Verify::none still runs the verification and keeps its result (SSL_get_verify_result);
  // it only does not fail the handshake on it.
  SSL_CTX_set_verify(ctx->get(),
                     options.verify == Verify::chain_and_name ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
                     nullptr);
#ifndef OUTPOST_OPENSSL
  // BoringSSL clients leave Ed25519 out of the signature algorithms they accept; OpenSSL's
  // include it. Same list as BoringSSL's default, plus Ed25519, so both builds agree.
  static constexpr std::uint16_t kVerifyPrefs[] = {
      SSL_SIGN_ECDSA_SECP256R1_SHA256, SSL_SIGN_RSA_PSS_RSAE_SHA256, SSL_SIGN_RSA_PKCS1_SHA256,
      SSL_SIGN_ECDSA_SECP384R1_SHA384, SSL_SIGN_RSA_PSS_RSAE_SHA384, SSL_SIGN_RSA_PKCS1_SHA384,
      SSL_SIGN_RSA_PSS_RSAE_SHA512,    SSL_SIGN_RSA_PKCS1_SHA512,    SSL_SIGN_ED25519};
  if (SSL_CTX_set_verify_algorithm_prefs(ctx->get(), kVerifyPrefs, std::size(kVerifyPrefs)) != 1) {
    return unexpected(Errc::crypto_failure, "signature algorithms: " + take_library_error());
  }
#endif
  SSL_CTX_set_session_cache_mode(ctx->get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_sess_set_new_cb(ctx->get(), on_new_session);
  const std::size_t entries_max =
      options.session_cache_entries_max == 0 ? 1 : options.session_cache_entries_max;
  auto context =
      std::make_unique<ClientContext>(Key(), options.verify, entries_max, std::move(*ctx));
  SSL_CTX_set_app_data(context->ctx_.get(), context.get());
  return context;
}

ssl_session_st* ClientContext::find_session(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->session.get();
}

void ClientContext::store_session(const std::string& key, SslSessionPtr session) {
  auto it = index_.find(key);
  if (it != index_.end()) {
    it->second->session = std::move(session);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(Entry{key, std::move(session)});
  index_.emplace(key, lru_.begin());
  if (lru_.size() > entries_max_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

void ClientContext::forget_session(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  lru_.erase(it->second);
  index_.erase(it);
}

}  // namespace mta::tls
