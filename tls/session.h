// Session: one TLS connection as a pure state machine on memory BIOs. Ciphertext from the
// peer goes in through feed(), plaintext comes out of read(); plaintext goes in through
// write() and ciphertext for the peer comes out of take_output(). No sockets, no clock: the
// Stream (or a test, or a benchmark) moves the bytes.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "base/buffer.h"
#include "base/result.h"
#include "tls/context.h"

namespace mta::tls {

// What the handshake settled, for the delivery log and for policy.
struct Info {
  std::string protocol;       // "TLSv1.3", "TLSv1.2"
  std::string cipher;         // "TLS_AES_128_GCM_SHA256"
  bool verified = false;      // the peer's chain verified and matched the expected name
  std::string verify_result;  // "ok", "host name mismatch", "self signed certificate", ...
  bool resumed = false;       // an abbreviated handshake from a cached session or ticket
  std::string peer_name;      // peer certificate subject CN, else its first DNS SAN
};

// Lifecycle: created by client() or server() -> handshake (feed/take_output until
// handshake_done()) -> data -> close_notify() and/or peer_closed(). The first failure is
// sticky: every later call returns it. Single-threaded; belongs to the caller. The context
// must outlive the session (a ClientContext receives new sessions for its cache).
class Session {
 public:
  // Starts the handshake: take_output() then holds the ClientHello. `sni_host` is sent as SNI
  // (unless it is an IP literal) and is the name checked against the certificate; the cached
  // session for (cache_key, sni_host) is offered and new ones are stored under it. An empty
  // cache_key disables resumption.
  static Result<Session> client(ClientContext& context, std::string_view sni_host,
                                std::string_view cache_key);
  static Result<Session> server(ServerContext& context);

  Session(Session&& other) noexcept;
  Session& operator=(Session&& other) noexcept;
  ~Session();

  // Ciphertext from the peer; advances the handshake as far as it allows. Errors are the
  // handshake's (certificate_verify_failed, host_name_mismatch, handshake_failed) or, after
  // it, bad_record / renegotiation_refused.
  Result<void> feed(std::string_view ciphertext);
  // Appends every plaintext byte decrypted so far to `plaintext_out`. Also processes
  // post-handshake messages (TLS 1.3 session tickets) and the peer's close_notify.
  Result<void> read(Buffer& plaintext_out);
  // Encrypts `plaintext` (in records of at most 16 KiB). Before the handshake is done the
  // bytes wait and go out right after it.
  Result<void> write(std::string_view plaintext);
  // Moves all pending ciphertext (handshake messages, records, alerts) to `ciphertext_out`.
  // After a failure it may still hold the alert that tells the peer why.
  void take_output(Buffer& ciphertext_out);
  std::size_t output_pending() const;
  // Plaintext given to write() before the handshake finished, not yet encrypted.
  std::size_t plaintext_pending() const;

  // Queues our close_notify alert (once); no write() after it.
  void close_notify();

  bool handshake_done() const;
  bool peer_closed() const;
  bool failed() const;
  const Error& error() const;  // only when failed()
  const Info& info() const;    // complete once handshake_done()
  bool is_client() const;

 private:
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace mta::tls
