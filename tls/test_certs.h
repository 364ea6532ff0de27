// Test helpers: a temporary directory, a small PKI made fresh in it (a CA, a server
// certificate it signed, a self-signed one), contexts built from it, and a pump that moves
// bytes between two in-memory Sessions. No private key is ever committed.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "tls/certificate.h"
#include "tls/context.h"
#include "tls/session.h"

namespace mta::tls::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "outpost-tls-XXXXXX").string();
    const char* made = ::mkdtemp(pattern.data());
    path_ = made != nullptr ? made : "";
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline constexpr char kServerHost[] = "mx.example.test";

// Files of one test PKI. `ca_file` signed `cert_file`/`key_file` for kServerHost.
struct Pki {
  TempDir dir;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string self_signed_cert_file;  // kServerHost, signed by its own key
  std::string self_signed_key_file;
};

inline void write_or_fail(const std::string& path, const std::string& text) {
  auto written = write_file_atomically(path, text, 0600);
  ASSERT_TRUE(written.has_value()) << written.error().message();
}

// A CA and a server certificate with a key of `key_type`; made once per key type per run.
inline const Pki& pki(KeyType key_type = KeyType::ec_p256) {
  static std::unique_ptr<Pki> made[3];
  std::unique_ptr<Pki>& slot = made[static_cast<int>(key_type)];
  if (slot) return *slot;
  slot = std::make_unique<Pki>();
  Pki& p = *slot;
  CertificateSpec ca_spec{"Outpost Test CA", {}, true};
  auto ca = make_certificate(ca_spec, KeyType::ec_p256);
  EXPECT_TRUE(ca.has_value());
  CertificateSpec leaf_spec{kServerHost, {kServerHost}, false};
  auto leaf = make_certificate(leaf_spec, key_type, &*ca);
  EXPECT_TRUE(leaf.has_value());
  auto self = make_certificate(leaf_spec, KeyType::ec_p256);
  EXPECT_TRUE(self.has_value());
  p.ca_file = p.dir.file("ca.pem");
  p.cert_file = p.dir.file("server.pem");
  p.key_file = p.dir.file("server.key");
  p.self_signed_cert_file = p.dir.file("self.pem");
  p.self_signed_key_file = p.dir.file("self.key");
  write_or_fail(p.ca_file, ca->certificate);
  write_or_fail(p.cert_file, leaf->certificate);
  write_or_fail(p.key_file, leaf->private_key);
  write_or_fail(p.self_signed_cert_file, self->certificate);
  write_or_fail(p.self_signed_key_file, self->private_key);
  return p;
}

// A second, unrelated CA: "the wrong CA" for verification tests.
inline const std::string& other_ca_file() {
  static TempDir dir;
  static std::string path;
  if (!path.empty()) return path;
  auto ca = make_certificate(CertificateSpec{"Other CA", {}, true}, KeyType::ec_p256);
  EXPECT_TRUE(ca.has_value());
  path = dir.file("other-ca.pem");
  write_or_fail(path, ca->certificate);
  return path;
}

inline std::unique_ptr<ServerContext> server_context(const std::string& cert_file,
                                                     const std::string& key_file) {
  auto context = ServerContext::load(cert_file, key_file);
  EXPECT_TRUE(context.has_value()) << context.error().message();
  return context ? std::move(*context) : nullptr;
}

inline std::unique_ptr<ClientContext> client_context(Verify verify, const std::string& ca_file,
                                                     std::size_t cache_entries = 16) {
  ClientOptions options;
  options.verify = verify;
  options.ca_file = ca_file;
  options.session_cache_entries_max = cache_entries;
  auto context = ClientContext::create(options);
  EXPECT_TRUE(context.has_value()) << context.error().message();
  return context ? std::move(*context) : nullptr;
}

// Moves ciphertext both ways (at most `chunk` bytes per feed) and decrypts into the plaintext
// buffers until neither side has anything to send. Failures stay in the sessions.
inline void pump(Session& client, Session& server, Buffer& client_plain, Buffer& server_plain,
                 std::size_t chunk = std::string::npos) {
  auto deliver = [chunk](Buffer& wire, Session& to, Buffer& plain) {
    std::string_view bytes = wire.readable();
    while (!bytes.empty() && !to.failed()) {
      const std::size_t n = std::min(chunk, bytes.size());
      (void)to.feed(bytes.substr(0, n));
      bytes.remove_prefix(n);
      (void)to.read(plain);
    }
    wire.clear();
  };
  for (int round = 0; round < 100; ++round) {
    Buffer to_server;
    Buffer to_client;
    client.take_output(to_server);
    server.take_output(to_client);
    if (to_server.empty() && to_client.empty()) return;
    deliver(to_server, server, server_plain);
    deliver(to_client, client, client_plain);
  }
  ADD_FAILURE() << "pump did not settle";
}

}  // namespace mta::tls::testing
