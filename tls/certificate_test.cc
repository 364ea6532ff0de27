// Certificate generation: the self-signed fallback's files (modes, atomic replacement, the
// certificate's SAN) and that a client trusting exactly that certificate verifies the server.
#include "tls/certificate.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tls/errc.h"
#include "tls/session.h"
#include "tls/test_certs.h"

namespace mta::tls {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

mode_t file_mode(const std::string& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 0777;
}

std::vector<std::string> dns_names(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  EXPECT_TRUE(certificate != nullptr);
  std::vector<std::string> found;
  if (!certificate) return found;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate.get(), NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return found;
  const auto count = sk_GENERAL_NAME_num(names);
  for (decltype(sk_GENERAL_NAME_num(names)) i = 0; i < count; ++i) {
    const GENERAL_NAME* entry = sk_GENERAL_NAME_value(names, i);
    if (entry->type != GEN_DNS) continue;
    found.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(entry->d.dNSName)),
                       static_cast<std::size_t>(ASN1_STRING_length(entry->d.dNSName)));
  }
  GENERAL_NAMES_free(names);
  return found;
}

TEST(Certificate, SelfSignedFilesAreUsableAndPrivate) {
  testing::TempDir dir;
  const std::string cert = dir.file("outpost.pem");
  const std::string key = dir.file("outpost.key");
  ASSERT_TRUE(generate_self_signed("outpost.example.test", cert, key).has_value());

  EXPECT_EQ(file_mode(key), 0600u);
  EXPECT_EQ(file_mode(cert), 0644u);
  const std::string first_pem = read_file(cert);
  EXPECT_EQ(dns_names(first_pem), std::vector<std::string>{"outpost.example.test"});
  // Nothing but the two files: the temporaries were renamed, not left behind.
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 2u);

  // A client that trusts exactly this certificate verifies it, name included.
  auto server_ctx = testing::server_context(cert, key);
  auto client_ctx = testing::client_context(Verify::chain_and_name, cert);
  ASSERT_TRUE(server_ctx && client_ctx);
  auto client = Session::client(*client_ctx, "outpost.example.test", "");
  auto server = Session::server(*server_ctx);
  ASSERT_TRUE(client && server);
  Buffer client_plain, server_plain;
  testing::pump(*client, *server, client_plain, server_plain);
  ASSERT_FALSE(client->failed()) << client->error().message();
  EXPECT_TRUE(client->info().verified);
  EXPECT_EQ(client->info().peer_name, "outpost.example.test");

  // Generating again replaces both files whole.
  ASSERT_TRUE(generate_self_signed("outpost.example.test", cert, key).has_value());
  EXPECT_NE(read_file(cert), first_pem);
  EXPECT_EQ(file_mode(key), 0600u);
}

TEST(Certificate, WriteFailuresAreReported) {
  auto written =
      generate_self_signed("x.example.test", "/nonexistent-dir/c.pem", "/nonexistent-dir/k.pem");
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().code, make_error_code(Errc::io_error));
}

TEST(Certificate, EveryKeyTypeSignsAndLoads) {
  struct Case {
    KeyType key_type;
    const char* want_pem_marker;
  };
  for (const Case& c :
       {Case{KeyType::ec_p256, "PRIVATE KEY"}, Case{KeyType::rsa_2048, "PRIVATE KEY"},
        Case{KeyType::ed25519, "PRIVATE KEY"}}) {
    const testing::Pki& p = testing::pki(c.key_type);
    EXPECT_NE(read_file(p.key_file).find(c.want_pem_marker), std::string::npos);
    EXPECT_EQ(dns_names(read_file(p.cert_file)), std::vector<std::string>{testing::kServerHost});
    EXPECT_TRUE(ServerContext::load(p.cert_file, p.key_file).has_value());
  }
}

}  // namespace
}  // namespace mta::tls
