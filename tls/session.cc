// Session over two memory BIOs: rbio holds the peer's ciphertext until SSL_do_handshake or
// SSL_read consume it, wbio collects what we must send. Memory BIOs never block, so the only
// "would block" answer is SSL_ERROR_WANT_READ (need more bytes from the peer).
//
// Renegotiation: both libraries refuse it (SSL_OP_NO_RENEGOTIATION; BoringSSL by design), but
// OpenSSL only answers with a warning alert and carries on. We treat that alert, or a new
// handshake starting after the first one on TLS <= 1.2, as a fatal renegotiation_refused, so
// a peer that tries is cut off the same way with either library.
#include "tls/session.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <climits>
#include <optional>

#include "tls/errc.h"

namespace mta::tls {
namespace {

constexpr std::size_t kReadChunkBytes = 16 * 1024;

bool is_ip_literal(const std::string& host) {
  unsigned char address[16];
  return inet_pton(AF_INET, host.c_str(), address) == 1 ||
         inet_pton(AF_INET6, host.c_str(), address) == 1;
}

X509Ptr peer_certificate(const SSL* ssl) {
#ifdef OUTPOST_OPENSSL
  return X509Ptr(SSL_get1_peer_certificate(ssl));
#else
  return X509Ptr(SSL_get_peer_certificate(ssl));
#endif
}

std::string verify_text(long result) {
  if (result == X509_V_OK) return "ok";
  if (result == X509_V_ERR_HOSTNAME_MISMATCH) return "host name mismatch";
  return X509_verify_cert_error_string(result);
}

// Subject CN, else the first dNSName of subjectAltName, else "".
std::string certificate_name(X509* certificate) {
  char common_name[256];
  const int length = X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName,
                                               common_name, sizeof common_name);
  if (length > 0) return std::string(common_name, static_cast<std::size_t>(length));
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return {};
  std::string found;
  // int with OpenSSL, size_t with BoringSSL.
  const auto count = sk_GENERAL_NAME_num(names);
  for (decltype(sk_GENERAL_NAME_num(names)) i = 0; i < count; ++i) {
    const GENERAL_NAME* entry = sk_GENERAL_NAME_value(names, i);
    if (entry->type != GEN_DNS) continue;
    const ASN1_STRING* dns = entry->d.dNSName;
    found.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                 static_cast<std::size_t>(ASN1_STRING_length(dns)));
    break;
  }
  GENERAL_NAMES_free(names);
  return found;
}

}  // namespace

struct Session::Impl {
  SslPtr ssl;
  BIO* rbio = nullptr;  // owned by ssl
  BIO* wbio = nullptr;  // owned by ssl
  bool client = false;
  Verify verify = Verify::none;
  std::string cache_key;  // caller's key + '\n' + SNI; its address is in the SSL's ex_data
  bool handshake_done = false;
  bool peer_closed = false;
  bool sent_close = false;
  bool renegotiation_seen = false;  // set by on_info, acted upon after the library call
  std::optional<Error> error;
  Buffer pending_plaintext;  // write() before the handshake finished
  Info info;

  ~Impl() {
#ifdef OUTPOST_OPENSSL
    // OpenSSL marks the session of an SSL freed without close_notify as not resumable (and
    // a TLS 1.3 client's current session is the newest ticket, the one in our cache). Mail
    // peers often just drop the TCP connection; only a failed session should lose it.
    if (ssl && handshake_done && !error) {
      SSL_set_shutdown(ssl.get(), SSL_get_shutdown(ssl.get()) | SSL_SENT_SHUTDOWN);
    }
#endif
  }

  static void on_info(const SSL* ssl, int where, int value) {
    auto* impl = static_cast<Impl*>(SSL_get_app_data(ssl));
    if (impl == nullptr) return;
    const bool wrote_no_renegotiation = (where & SSL_CB_WRITE_ALERT) == SSL_CB_WRITE_ALERT &&
                                        (value & 0xff) == SSL_AD_NO_RENEGOTIATION;
    const bool second_handshake = (where & SSL_CB_HANDSHAKE_START) != 0 && impl->handshake_done &&
                                  SSL_version(ssl) <= TLS1_2_VERSION;
    if (wrote_no_renegotiation || second_handshake) impl->renegotiation_seen = true;
  }

  Unexpected<Error> fail(Error failure) {
    if (!error) error = std::move(failure);
    return unexpected(*error);
  }

  // Turns the library's error queue (and our own observations) into an Errc and a reason.
  Error classify() {
    const unsigned long err = ERR_peek_error();
    const bool ssl_lib = ERR_GET_LIB(err) == ERR_LIB_SSL;
    const int reason = ERR_GET_REASON(err);
    std::string text = take_library_error();
    if (renegotiation_seen || (ssl_lib && reason == SSL_R_NO_RENEGOTIATION)) {
      return {Errc::renegotiation_refused, "renegotiation refused"};
    }
    if (!handshake_done) {
      if (client && ssl_lib && reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        const long result = SSL_get_verify_result(ssl.get());
        if (result == X509_V_ERR_HOSTNAME_MISMATCH) {
          return {Errc::host_name_mismatch, "host name mismatch"};
        }
        return {Errc::certificate_verify_failed,
                "certificate verify failed: " + verify_text(result)};
      }
      return {Errc::handshake_failed, "handshake failure: " + text};
    }
    return {Errc::bad_record, "peer sent bad record: " + text};
  }

  void fill_info() {
    info.protocol = SSL_get_version(ssl.get());
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl.get());
    info.cipher = cipher != nullptr ? SSL_CIPHER_get_name(cipher) : "";
    info.resumed = SSL_session_reused(ssl.get()) == 1;
    X509Ptr peer = peer_certificate(ssl.get());
    if (!peer) {
      info.verified = false;
      info.verify_result = "no peer certificate";
      return;
    }
    const long result = SSL_get_verify_result(ssl.get());
    info.verified = result == X509_V_OK;
    info.verify_result = verify_text(result);
    info.peer_name = certificate_name(peer.get());
  }

  Result<void> encrypt(std::string_view plaintext) {
    while (!plaintext.empty()) {
      const int chunk = static_cast<int>(std::min<std::size_t>(plaintext.size(), INT_MAX));
      ERR_clear_error();
      const int n = SSL_write(ssl.get(), plaintext.data(), chunk);
      if (n <= 0) return fail(classify());
      plaintext.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
  }

  Result<void> advance_handshake() {
    if (error) return unexpected(*error);
    if (handshake_done) return {};
    ERR_clear_error();
    const int ret = SSL_do_handshake(ssl.get());
    if (ret == 1) {
      handshake_done = true;
      fill_info();
#ifndef OUTPOST_OPENSSL
      // A BoringSSL server holds its TLS 1.3 session tickets back until the first write; an
      // empty write sends them now, so a client that speaks first still gets one.
      if (!client) {
        SSL_write(ssl.get(), "", 0);
        ERR_clear_error();
      }
#endif
      if (pending_plaintext.empty()) return {};
      auto written = encrypt(pending_plaintext.readable());
      pending_plaintext.clear();
      return written;
    }
    const int code = SSL_get_error(ssl.get(), ret);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
      ERR_clear_error();
      return {};
    }
    return fail(classify());
  }
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::Session(Session&& other) noexcept = default;
Session& Session::operator=(Session&& other) noexcept = default;
Session::~Session() = default;

namespace {

// The part of client() and server() that is the same: SSL object, BIOs, callbacks.
Result<SslPtr> new_ssl(ssl_ctx_st* ctx, void* app_data, void (*on_info)(const SSL*, int, int)) {
  ERR_clear_error();
  SslPtr ssl(SSL_new(ctx));
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  if (!ssl || rbio == nullptr || wbio == nullptr) {
    BIO_free(rbio);
    BIO_free(wbio);
    return unexpected(Errc::crypto_failure, "SSL_new: " + take_library_error());
  }
  SSL_set_bio(ssl.get(), rbio, wbio);  // the SSL owns both from here
  SSL_set_app_data(ssl.get(), app_data);
  SSL_set_info_callback(ssl.get(), on_info);
  return ssl;
}

}  // namespace

Result<Session> Session::client(ClientContext& context, std::string_view sni_host,
                                std::string_view cache_key) {
  auto impl = std::make_unique<Impl>();
  auto ssl = new_ssl(context.native(), impl.get(), &Impl::on_info);
  if (!ssl) return unexpected(ssl.error());
  impl->ssl = std::move(*ssl);
  SSL* raw = impl->ssl.get();
  impl->rbio = SSL_get_rbio(raw);
  impl->wbio = SSL_get_wbio(raw);
  impl->client = true;
  impl->verify = context.verify();
  SSL_set_connect_state(raw);

  const std::string host(sni_host);
  if (!host.empty()) {
    // The name is checked in both verify modes, so Verify::none still records a mismatch.
    X509_VERIFY_PARAM* param = SSL_get0_param(raw);
    if (is_ip_literal(host)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());  // RFC 6066: no SNI for addresses
    } else {
      SSL_set_tlsext_host_name(raw, host.c_str());
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
    }
  } else if (impl->verify == Verify::chain_and_name) {
    return unexpected(Errc::handshake_failed, "no host name to verify the certificate against");
  }

  if (!cache_key.empty()) {
    impl->cache_key = std::string(cache_key) + '\n' + host;
    SSL_set_ex_data(raw, cache_key_ex_index(), &impl->cache_key);
    if (ssl_session_st* cached = context.find_session(impl->cache_key)) {
      SSL_set_session(raw, cached);
    }
  }
  auto started = impl->advance_handshake();
  if (!started) return unexpected(started.error());
  return Session(std::move(impl));
}

Result<Session> Session::server(ServerContext& context) {
  auto impl = std::make_unique<Impl>();
  auto ssl = new_ssl(context.native(), impl.get(), &Impl::on_info);
  if (!ssl) return unexpected(ssl.error());
  impl->ssl = std::move(*ssl);
  impl->rbio = SSL_get_rbio(impl->ssl.get());
  impl->wbio = SSL_get_wbio(impl->ssl.get());
  SSL_set_accept_state(impl->ssl.get());
  return Session(std::move(impl));
}

Result<void> Session::feed(std::string_view ciphertext) {
  Impl& s = *impl_;
  if (s.error) return unexpected(*s.error);
  while (!ciphertext.empty()) {
    const int chunk = static_cast<int>(std::min<std::size_t>(ciphertext.size(), INT_MAX));
    const int n = BIO_write(s.rbio, ciphertext.data(), chunk);
    if (n <= 0) return s.fail({Errc::crypto_failure, "BIO_write: " + take_library_error()});
    ciphertext.remove_prefix(static_cast<std::size_t>(n));
  }
  return s.advance_handshake();
}

Result<void> Session::read(Buffer& plaintext_out) {
  Impl& s = *impl_;
  auto advanced = s.advance_handshake();
  if (!advanced || !s.handshake_done) return advanced;
  while (!s.peer_closed) {
    std::span<char> space = plaintext_out.prepare(kReadChunkBytes);
    ERR_clear_error();
    const int n = SSL_read(s.ssl.get(), space.data(), static_cast<int>(space.size()));
    plaintext_out.commit(n > 0 ? static_cast<std::size_t>(n) : 0);
    if (s.renegotiation_seen) return s.fail(s.classify());
    if (n > 0) continue;
    const int code = SSL_get_error(s.ssl.get(), n);
    if (code == SSL_ERROR_ZERO_RETURN) {
      s.peer_closed = true;
      break;
    }
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
      ERR_clear_error();
      break;
    }
    return s.fail(s.classify());
  }
  return {};
}

Result<void> Session::write(std::string_view plaintext) {
  Impl& s = *impl_;
  if (s.error) return unexpected(*s.error);
  if (s.sent_close) return unexpected(Errc::closed, "write after close_notify");
  if (!s.handshake_done) {
    s.pending_plaintext.append(plaintext);
    return {};
  }
  return s.encrypt(plaintext);
}

void Session::take_output(Buffer& ciphertext_out) {
  const std::size_t pending = BIO_ctrl_pending(impl_->wbio);
  if (pending == 0) return;
  std::span<char> space = ciphertext_out.prepare(pending);
  const int n = BIO_read(impl_->wbio, space.data(), static_cast<int>(space.size()));
  ciphertext_out.commit(n > 0 ? static_cast<std::size_t>(n) : 0);
}

std::size_t Session::output_pending() const { return BIO_ctrl_pending(impl_->wbio); }

std::size_t Session::plaintext_pending() const { return impl_->pending_plaintext.size(); }

void Session::close_notify() {
  Impl& s = *impl_;
  if (s.sent_close) return;
  s.sent_close = true;
  // Before the handshake finished there is no session to close; an alert then would be a
  // protocol error of its own.
  if (s.error || !s.handshake_done) return;
  ERR_clear_error();
  SSL_shutdown(s.ssl.get());
  ERR_clear_error();
}

bool Session::handshake_done() const { return impl_->handshake_done; }
bool Session::peer_closed() const { return impl_->peer_closed; }
bool Session::failed() const { return impl_->error.has_value(); }
const Error& Session::error() const {
  MTA_ASSERT(impl_->error.has_value());
  return *impl_->error;
}
const Info& Session::info() const { return impl_->info; }
bool Session::is_client() const { return impl_->client; }

}  // namespace mta::tls
