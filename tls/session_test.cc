// Session and contexts in memory, with real TLS from the crypto library: handshakes for each
// server key type, data both ways, record splitting, close_notify, verification failures
// and their reasons, resumption (and the client cache's LRU), renegotiation, garbage input,
// byte-at-a-time delivery, and server context loading and reload.
#include "tls/session.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <string>
#include <vector>

#include "tls/errc.h"
#include "tls/test_certs.h"

namespace mta::tls {
namespace {

using testing::client_context;
using testing::kServerHost;
using testing::other_ca_file;
using testing::pki;
using testing::pump;
using testing::server_context;

std::string payload(std::size_t size) {
  std::string text(size, '\0');
  for (std::size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + (i * 31 + i / 7) % 26);
  return text;
}

struct Pair {
  Session client;
  Session server;
  Buffer client_plain;
  Buffer server_plain;
};

Pair connect(ClientContext& client_ctx, ServerContext& server_ctx,
             std::string_view sni = kServerHost, std::string_view cache_key = "",
             std::size_t chunk = std::string::npos) {
  auto client = Session::client(client_ctx, sni, cache_key);
  auto server = Session::server(server_ctx);
  EXPECT_TRUE(client.has_value()) << client.error().message();
  EXPECT_TRUE(server.has_value());
  Pair pair{std::move(*client), std::move(*server), {}, {}};
  pump(pair.client, pair.server, pair.client_plain, pair.server_plain, chunk);
  return pair;
}

TEST(Session, HandshakeAndDataBothWaysForEachServerKeyType) {
  struct Case {
    KeyType key_type;
    const char* name;
  };
  const Case cases[] = {
      {KeyType::ec_p256, "ec"}, {KeyType::rsa_2048, "rsa"}, {KeyType::ed25519, "ed25519"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const auto& p = pki(c.key_type);
    auto server_ctx = server_context(p.cert_file, p.key_file);
    auto client_ctx = client_context(Verify::chain_and_name, p.ca_file);
    ASSERT_TRUE(server_ctx && client_ctx);
    Pair pair = connect(*client_ctx, *server_ctx);
    ASSERT_FALSE(pair.client.failed()) << pair.client.error().message();
    ASSERT_FALSE(pair.server.failed()) << pair.server.error().message();
    ASSERT_TRUE(pair.client.handshake_done());
    ASSERT_TRUE(pair.server.handshake_done());

    const Info& info = pair.client.info();
    EXPECT_EQ(info.protocol, "TLSv1.3");
    EXPECT_FALSE(info.cipher.empty());
    EXPECT_TRUE(info.verified);
    EXPECT_EQ(info.verify_result, "ok");
    EXPECT_FALSE(info.resumed);
    EXPECT_EQ(info.peer_name, kServerHost);
    EXPECT_EQ(pair.server.info().protocol, "TLSv1.3");
    EXPECT_EQ(pair.server.info().verify_result, "no peer certificate");

    ASSERT_TRUE(pair.client.write("EHLO client\r\n").has_value());
    ASSERT_TRUE(pair.server.write("250 server\r\n").has_value());
    pump(pair.client, pair.server, pair.client_plain, pair.server_plain);
    EXPECT_EQ(pair.server_plain.readable(), "EHLO client\r\n");
    EXPECT_EQ(pair.client_plain.readable(), "250 server\r\n");
  }
}

TEST(Session, WritesBeforeTheHandshakeGoOutAfterIt) {
  const auto& p = pki();
  auto server_ctx = server_context(p.cert_file, p.key_file);
  auto client_ctx = client_context(Verify::chain_and_name, p.ca_file);
  auto client = Session::client(*client_ctx, kServerHost, "");
  auto server = Session::server(*server_ctx);
  ASSERT_TRUE(client && server);
  ASSERT_TRUE(client->write("early").has_value());
  EXPECT_EQ(client->plaintext_pending(), 5u);
  Buffer client_plain, server_plain;
  pump(*client, *server, client_plain, server_plain);
  EXPECT_EQ(client->plaintext_pending(), 0u);
  EXPECT_EQ(server_plain.readable(), "early");
}

TEST(Session, LargeWriteIsSplitIntoRecords) {
  const auto& p = pki();
  auto server_ctx = server_context(p.cert_file, p.key_file);
  auto client_ctx = client_context(Verify::chain_and_name, p.ca_file);
  Pair pair = connect(*client_ctx, *server_ctx);
  ASSERT_TRUE(pair.client.handshake_done());
  const std::string big = payload(1 << 20);
  ASSERT_TRUE(pair.client.write(big).has_value());
  Buffer wire;
  pair.client.take_output(wire);
  // TLSPlaintext: type(1) version(2) length(2) fragment; a TLSCiphertext fragment is at most
  // 2^14 + 256 bytes (RFC 8446 §5.2).
  std::size_t records = 0;
  std::string_view rest = wire.readable();
  while (rest.size() >= 5) {
    const std::size_t length =
        (static_cast<unsigned char>(rest[3]) << 8) | static_cast<unsigned char>(rest[4]);
    EXPECT_LE(length, 16384u + 256u);
    ASSERT_GE(rest.size(), 5 + length);
    rest.remove_prefix(5 + length);
    ++records;
  }
  EXPECT_TRUE(rest.empty());
  EXPECT_GE(records, 64u);
  ASSERT_TRUE(pair.server.feed(wire.readable()).has_value());
  ASSERT_TRUE(pair.server.read(pair.server_plain).has_value());
  EXPECT_EQ(pair.server_plain.size(), big.size());
  EXPECT_TRUE(pair.server_plain.readable() == big);
}

TEST(Session, CloseNotifyReachesThePeer) {
  const auto& p = pki();
  auto server_ctx = server_context(p.cert_file, p.key_file);
  auto client_ctx = client_context(Verify::chain_and_name, p.ca_file);
  Pair pair = connect(*client_ctx, *server_ctx);
  ASSERT_TRUE(pair.server.write("221 bye\r\n").has_value());
  pair.server.close_notify();
  pair.server.close_notify();  // once only
  EXPECT_FALSE(pair.client.peer_closed());
  pump(pair.client, pair.server, pair.client_plain, pair.server_plain);
  EXPECT_EQ(pair.client_plain.readable(), "221 bye\r\n");
  EXPECT_TRUE(pair.client.peer_closed());
  EXPECT_FALSE(pair.client.failed());
  auto late = pair.server.write("more");
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().code, make_error_code(Errc::closed));
}

TEST(Session, VerificationFailuresCarryAReason) {
  const auto& p = pki();
  struct Case {
    const char* name;
    Verify verify;
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    std::string sni;
    Errc want_code;  // Errc::ok = the handshake succeeds
    std::string want_detail_prefix;
    bool want_verified;
    std::string want_verify_result_part;
  };
  const std::vector<Case> cases = {
      {"wrong CA", Verify::chain_and_name, other_ca_file(), p.cert_file, p.key_file, kServerHost,
       Errc::certificate_verify_failed, "certificate verify failed: ", false, ""},
      {"name mismatch", Verify::chain_and_name, p.ca_file, p.cert_file, p.key_file,
       "other.example.test", Errc::host_name_mismatch, "host name mismatch", false, ""},
      {"name mismatch, opportunistic", Verify::none, p.ca_file, p.cert_file, p.key_file,
       "other.example.test", Errc::ok, "", false, "host name mismatch"},
      {"self-signed", Verify::chain_and_name, p.ca_file, p.self_signed_cert_file,
       p.self_signed_key_file, kServerHost, Errc::certificate_verify_failed,
       "certificate verify failed: self", false, ""},
      {"self-signed, opportunistic", Verify::none, p.ca_file, p.self_signed_cert_file,
       p.self_signed_key_file, kServerHost, Errc::ok, "", false, "self"},
      {"wrong CA, opportunistic", Verify::none, other_ca_file(), p.cert_file, p.key_file,
       kServerHost, Errc::ok, "", false, "issuer"},
      {"good", Verify::none, p.ca_file, p.cert_file, p.key_file, kServerHost, Errc::ok, "", true,
       "ok"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto server_ctx = server_context(c.cert_file, c.key_file);
    auto client_ctx = client_context(c.verify, c.ca_file);
    ASSERT_TRUE(server_ctx && client_ctx);
    Pair pair = connect(*client_ctx, *server_ctx, c.sni);
    if (c.want_code == Errc::ok) {
      ASSERT_FALSE(pair.client.failed()) << pair.client.error().message();
      ASSERT_TRUE(pair.client.handshake_done());
      EXPECT_EQ(pair.client.info().verified, c.want_verified);
      EXPECT_NE(pair.client.info().verify_result.find(c.want_verify_result_part), std::string::npos)
          << pair.client.info().verify_result;
      continue;
    }
    ASSERT_TRUE(pair.client.failed());
    const Error& error = pair.client.error();
    EXPECT_EQ(error.code, make_error_code(c.want_code)) << error.message();
    EXPECT_EQ(error.detail.rfind(c.want_detail_prefix, 0), 0u) << error.detail;
    // The server hears an alert and fails its handshake too.
    ASSERT_TRUE(pair.server.failed());
    EXPECT_EQ(pair.server.error().code, make_error_code(Errc::handshake_failed));
    EXPECT_EQ(pair.server.error().detail.rfind("handshake failure: ", 0), 0u);
    EXPECT_FALSE(pair.client.write("x").has_value());  // failures are sticky
  }
}

// TLS 1.2 (session ids or tickets) and TLS 1.3 (tickets read after the handshake).
TEST(Session, ResumptionWithTheSameCacheKey) {
  const auto& p = pki();
  for (const int max_version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(max_version);
    auto server_ctx = server_context(p.cert_file, p.key_file);
    auto client_ctx = client_context(Verify::chain_and_name, p.ca_file);
    SSL_CTX_set_max_proto_version(client_ctx->native(), static_cast<uint16_t>(max_version));

    Pair first = connect(*client_ctx, *server_ctx, kServerHost, "mx.example.test:25");
    ASSERT_TRUE(first.client.handshake_done());
    EXPECT_FALSE(first.client.info().resumed);
    EXPECT_EQ(client_ctx->cached_sessions(), 1u);

    Pair second = connect(*client_ctx, *server_ctx, kServerHost, "mx.example.test:25");
    ASSERT_TRUE(second.client.handshake_done());
    EXPECT_TRUE(second.client.info().resumed);
    EXPECT_TRUE(second.server.info().resumed);
    EXPECT_TRUE(second.client.info().verified);  // the result carried over from the first
    EXPECT_EQ(second.client.info().peer_name, kServerHost);

    Pair other = connect(*client_ctx, *server_ctx, kServerHost, "other-key");
    ASSERT_TRUE(other.client.handshake_done());
    EXPECT_FALSE(other.client.info().resumed);
    Pair no_key = connect(*client_ctx, *server_ctx, kServerHost, "");
    EXPECT_FALSE(no_key.client.info().resumed);

    // Ticket keys survive a reload, so clients keep resuming after a SIGHUP.
    ASSERT_TRUE(server_ctx->reload().has_value());
    Pair after_reload = connect(*client_ctx, *server_ctx, kServerHost, "mx.example.test:25");
    EXPECT_TRUE(after_reload.server.info().resumed);
  }
}

TEST(Session, SharedTicketKeysResumeAcrossServerContexts) {
  const auto& p = pki();
  auto shard_a = server_context(p.cert_file, p.key_file);
  auto shard_b = server_context(p.cert_file, p.key_file);
  auto client_ctx = client_context(Verify::chain_and_name, p.ca_file);
  Pair first = connect(*client_ctx, *shard_a, kServerHost, "k");
  Pair unshared = connect(*client_ctx, *shard_b, kServerHost, "k");
  EXPECT_FALSE(unshared.server.info().resumed);
  ASSERT_TRUE(shard_b->set_ticket_keys(shard_a->ticket_keys()).has_value());
  Pair again = connect(*client_ctx, *shard_a, kServerHost, "k");
  Pair shared = connect(*client_ctx, *shard_b, kServerHost, "k");
  EXPECT_TRUE(shared.server.info().resumed);
  EXPECT_FALSE(shard_b->set_ticket_keys("short").has_value());
}

TEST(Session, ClientCacheDropsTheLeastRecentlyUsedKey) {
  const auto& p = pki();
  auto server_ctx = server_context(p.cert_file, p.key_file);
  auto client_ctx = client_context(Verify::chain_and_name, p.ca_file, /*cache_entries=*/2);
  connect(*client_ctx, *server_ctx, kServerHost, "a");
  connect(*client_ctx, *server_ctx, kServerHost, "b");
  EXPECT_TRUE(connect(*client_ctx, *server_ctx, kServerHost, "a").client.info().resumed);
  connect(*client_ctx, *server_ctx, kServerHost, "c");  // evicts b, the least recent
  EXPECT_EQ(client_ctx->cached_sessions(), 2u);
  struct Case {
    const char* key;
    bool want_resumed;
  };
  for (const Case& c : {Case{"a", true}, Case{"c", true}}) {
    EXPECT_EQ(connect(*client_ctx, *server_ctx, kServerHost, c.key).client.info().resumed,
              c.want_resumed)
        << c.key;
  }
  EXPECT_FALSE(connect(*client_ctx, *server_ctx, kServerHost, "b").client.info().resumed);
}

TEST(Session, GarbageInputFailsCleanly) {
  const auto& p = pki();
  auto server_ctx = server_context(p.cert_file, p.key_file);
  auto client_ctx = client_context(Verify::none, p.ca_file);

  auto server = Session::server(*server_ctx);
  ASSERT_TRUE(server.has_value());
  auto fed = server->feed("EHLO plaintext.example\r\n");
  ASSERT_FALSE(fed.has_value());
  EXPECT_EQ(fed.error().code, make_error_code(Errc::handshake_failed));
  EXPECT_EQ(fed.error().detail.rfind("handshake failure: ", 0), 0u) << fed.error().detail;
  EXPECT_GT(fed.error().detail.size(), std::string("handshake failure: ").size());

  auto client = Session::client(*client_ctx, kServerHost, "");
  ASSERT_TRUE(client.has_value());
  Buffer hello;
  client->take_output(hello);
  EXPECT_FALSE(hello.empty());
  EXPECT_FALSE(client->feed("220 but not TLS\r\n").has_value());
  EXPECT_EQ(client->error().code, make_error_code(Errc::handshake_failed));

  // After the handshake: one flipped bit in a record.
  Pair pair = connect(*client_ctx, *server_ctx);
  ASSERT_TRUE(pair.client.write("secret").has_value());
  Buffer wire;
  pair.client.take_output(wire);
  std::string tampered(wire.readable());
  tampered[tampered.size() - 3] ^= 0x01;
  EXPECT_FALSE(pair.server.feed(tampered).has_value() &&
               pair.server.read(pair.server_plain).has_value());
  ASSERT_TRUE(pair.server.failed());
  EXPECT_EQ(pair.server.error().code, make_error_code(Errc::bad_record));
  EXPECT_EQ(pair.server.error().detail.rfind("peer sent bad record: ", 0), 0u)
      << pair.server.error().detail;
  EXPECT_TRUE(pair.server_plain.empty());
}

TEST(Session, OneByteAtATime) {
  const auto& p = pki();
  auto server_ctx = server_context(p.cert_file, p.key_file);
  auto client_ctx = client_context(Verify::chain_and_name, p.ca_file);
  for (const bool want_resumed : {false, true}) {  // a full handshake, then a resumed one
    SCOPED_TRACE(want_resumed);
    auto client = Session::client(*client_ctx, kServerHost, "k");
    auto server = Session::server(*server_ctx);
    ASSERT_TRUE(client && server);
    ASSERT_TRUE(client->write("MAIL FROM:<a@example.test>\r\n").has_value());
    ASSERT_TRUE(server->write("220 ready\r\n").has_value());
    Buffer client_plain, server_plain;
    pump(*client, *server, client_plain, server_plain, 1);
    ASSERT_FALSE(client->failed()) << client->error().message();
    ASSERT_FALSE(server->failed()) << server->error().message();
    EXPECT_EQ(server_plain.readable(), "MAIL FROM:<a@example.test>\r\n");
    EXPECT_EQ(client_plain.readable(), "220 ready\r\n");
    client->close_notify();
    pump(*client, *server, client_plain, server_plain, 1);
    EXPECT_TRUE(server->peer_closed());
    EXPECT_EQ(server->info().resumed, want_resumed);
    EXPECT_EQ(client->info().resumed, want_resumed);
  }
  EXPECT_EQ(client_ctx->cached_sessions(), 1u);
}

#ifdef OUTPOST_OPENSSL
// Only OpenSSL can start a renegotiation, so only that build can show that ours refuses it.
// A raw SSL (TLS 1.2, renegotiation allowed) plays the peer.
struct RawPeer {
  SslPtr ssl;
  BIO* in;
  BIO* out;
  explicit RawPeer(ssl_ctx_st* ctx, bool server) : ssl(SSL_new(ctx)) {
    in = BIO_new(BIO_s_mem());
    out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl.get(), in, out);
    SSL_clear_options(ssl.get(), SSL_OP_NO_RENEGOTIATION);
    SSL_set_options(ssl.get(), SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
    SSL_set_max_proto_version(ssl.get(), TLS1_2_VERSION);
    if (server)
      SSL_set_accept_state(ssl.get());
    else
      SSL_set_connect_state(ssl.get());
  }
  // One exchange with `session`; returns the session's error if it failed.
  void exchange(Session& session, Buffer& plain) {
    for (int round = 0; round < 20; ++round) {
      SSL_do_handshake(ssl.get());
      char scratch[256];
      SSL_read(ssl.get(), scratch, sizeof scratch);
      std::string to_session(BIO_ctrl_pending(out), '\0');
      BIO_read(out, to_session.data(), static_cast<int>(to_session.size()));
      if (!to_session.empty()) {
        (void)session.feed(to_session);
        (void)session.read(plain);
      }
      Buffer to_peer;
      session.take_output(to_peer);
      if (!to_peer.empty()) {
        BIO_write(in, to_peer.readable().data(), static_cast<int>(to_peer.size()));
      }
      if (to_session.empty() && to_peer.empty()) return;
    }
  }
};

TEST(Session, RenegotiationIsRefused) {
  const auto& p = pki();
  auto server_ctx = server_context(p.cert_file, p.key_file);
  auto client_ctx = client_context(Verify::none, p.ca_file);
  {
    SCOPED_TRACE("peer client renegotiates with our server");
    RawPeer peer(client_ctx->native(), /*server=*/false);
    auto server = Session::server(*server_ctx);
    ASSERT_TRUE(server.has_value());
    Buffer plain;
    peer.exchange(*server, plain);
    ASSERT_TRUE(server->handshake_done());
    EXPECT_EQ(server->info().protocol, "TLSv1.2");
    ASSERT_EQ(SSL_renegotiate(peer.ssl.get()), 1);
    peer.exchange(*server, plain);
    ASSERT_TRUE(server->failed());
    EXPECT_EQ(server->error().code, make_error_code(Errc::renegotiation_refused));
    EXPECT_EQ(server->error().detail, "renegotiation refused");
  }
  {
    SCOPED_TRACE("peer server asks our client to renegotiate");
    RawPeer peer(server_ctx->native(), /*server=*/true);
    auto client = Session::client(*client_ctx, kServerHost, "");
    ASSERT_TRUE(client.has_value());
    Buffer plain;
    peer.exchange(*client, plain);
    ASSERT_TRUE(client->handshake_done());
    ASSERT_EQ(SSL_renegotiate(peer.ssl.get()), 1);
    peer.exchange(*client, plain);
    ASSERT_TRUE(client->failed());
    EXPECT_EQ(client->error().code, make_error_code(Errc::renegotiation_refused));
  }
}
#endif

TEST(ServerContext, LoadErrorsAndAFailedReloadKeepsTheOldContext) {
  const auto& p = pki();
  testing::TempDir dir;
  struct Case {
    const char* name;
    std::string cert;
    std::string key;
    Errc want;
  };
  const std::vector<Case> cases = {
      {"missing certificate", dir.file("none.pem"), p.key_file, Errc::bad_certificate},
      {"missing key", p.cert_file, dir.file("none.key"), Errc::bad_key},
      {"key of another certificate", p.cert_file, p.self_signed_key_file, Errc::bad_key},
      {"key file given as certificate", p.key_file, p.key_file, Errc::bad_certificate},
  };
  for (const Case& c : cases) {
    auto got = ServerContext::load(c.cert, c.key);
    ASSERT_FALSE(got.has_value()) << c.name;
    EXPECT_EQ(got.error().code, make_error_code(c.want)) << c.name << ": " << got.error().message();
  }

  // A context on copies of the files; break the certificate and reload.
  const std::string cert = dir.file("cert.pem");
  const std::string key = dir.file("key.pem");
  std::filesystem::copy_file(p.cert_file, cert);
  std::filesystem::copy_file(p.key_file, key);
  auto server_ctx = server_context(cert, key);
  ASSERT_TRUE(server_ctx);
  testing::write_or_fail(cert, "not a certificate");
  auto reloaded = server_ctx->reload();
  ASSERT_FALSE(reloaded.has_value());
  EXPECT_EQ(reloaded.error().code, make_error_code(Errc::bad_certificate));
  auto client_ctx = client_context(Verify::chain_and_name, p.ca_file);
  Pair still = connect(*client_ctx, *server_ctx);
  EXPECT_TRUE(still.client.handshake_done());
  EXPECT_TRUE(still.client.info().verified);

  // A good certificate (the self-signed one) replaces it.
  std::filesystem::copy_file(p.self_signed_cert_file, cert,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(p.self_signed_key_file, key,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE(server_ctx->reload().has_value());
  Pair after = connect(*client_ctx, *server_ctx);
  ASSERT_TRUE(after.client.failed());
  EXPECT_EQ(after.client.error().code, make_error_code(Errc::certificate_verify_failed));
}

TEST(ClientContext, BadCaFileAndMissingHostName) {
  auto bad = ClientContext::create(ClientOptions{Verify::chain_and_name, "/nonexistent/ca.pem"});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, make_error_code(Errc::bad_ca_file));
  auto system = ClientContext::create(ClientOptions{Verify::chain_and_name, ""});
  ASSERT_TRUE(system.has_value()) << system.error().message();
  auto no_name = Session::client(**system, "", "");
  EXPECT_FALSE(no_name.has_value());
}

}  // namespace
}  // namespace mta::tls
