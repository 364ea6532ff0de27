// ServerContext and ClientContext: the configuration every TLS session of one shard starts
// from (an SSL_CTX), plus the client's bounded session cache for resumption. Both contexts are
// per shard and not thread-safe: no locking anywhere, by design.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.h"
#include "tls/certificate.h"
#include "tls/ssl_ptr.h"

namespace mta::tls {

// Server side: a certificate chain and its key, TLS 1.2 minimum, renegotiation refused,
// resumption through session tickets (stateless) and the server session cache (TLS 1.2 ids).
// Sessions keep a reference to the SSL_CTX they started with, so reload() never disturbs
// a handshake in progress.
class ServerContext {
 private:
  struct Key {
    explicit Key() = default;
  };

 public:
  // cert_chain_path: PEM, leaf first then intermediates. key_path: PEM, RSA, EC or Ed25519.
  static Result<std::unique_ptr<ServerContext>> load(std::string cert_chain_path,
                                                     std::string key_path);
  ServerContext(Key, std::string cert_chain_path, std::string key_path, SslCtxPtr ctx);
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;
  ~ServerContext();

  // Re-reads both files (SIGHUP). On failure the old context stays in use and the error is
  // returned. The session ticket keys carry over, so tickets issued before still resume.
  Result<void> reload();

  // Session ticket key material, to give every shard's context the same keys so a client
  // resumes whichever shard SO_REUSEPORT picks (48 bytes with BoringSSL, 80 with OpenSSL).
  std::string ticket_keys() const;
  Result<void> set_ticket_keys(std::string_view keys);

  ssl_ctx_st* native() const { return ctx_.get(); }

 private:
  static Result<SslCtxPtr> build(const std::string& cert_chain_path, const std::string& key_path);

  std::string cert_chain_path_;
  std::string key_path_;
  SslCtxPtr ctx_;
};

// Verify::none is opportunistic STARTTLS (RFC 7435): the handshake completes whatever the
// certificate, and Session::info() records whether it verified and why not.
// Verify::chain_and_name fails the handshake unless the chain verifies against the CA store
// and the certificate matches the expected host name (RFC 6125; wildcards only whole labels).
enum class Verify { none, chain_and_name };

struct ClientOptions {
  Verify verify = Verify::none;
  std::string ca_file;  // PEM bundle; empty = the system store
  std::size_t session_cache_entries_max = 256;
};

// Client side, one per shard. The session cache maps a key (the caller's choice, e.g. the MX
// host; the Session adds the SNI name to it) to the newest resumable SSL_SESSION the server
// gave us, least recently used dropped first. Filled from the library's new-session callback,
// which runs inside Session calls on this shard, so no lock is needed.
class ClientContext {
 private:
  struct Key {
    explicit Key() = default;
  };

 public:
  static Result<std::unique_ptr<ClientContext>> create(const ClientOptions& options);
  ClientContext(Key, Verify verify, std::size_t entries_max, SslCtxPtr ctx);
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;
  ~ClientContext();

  Verify verify() const { return verify_; }
  ssl_ctx_st* native() const { return ctx_.get(); }

  // The cached session for `key` (marked most recently used), or null. Still owned here.
  ssl_session_st* find_session(const std::string& key);
  void store_session(const std::string& key, SslSessionPtr session);
  void forget_session(const std::string& key);
  std::size_t cached_sessions() const { return lru_.size(); }

 private:
  struct Entry {
    std::string key;
    SslSessionPtr session;
  };

  Verify verify_;
  std::size_t entries_max_;
  SslCtxPtr ctx_;
  std::list<Entry> lru_;  // front = most recently used
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace mta::tls
