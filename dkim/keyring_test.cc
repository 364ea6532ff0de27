// Key loading from PEM files and the choice of signers by From domain: exact domain, parent
// domain, fallback, platform domain, several keys per domain; sign_message end to end.
#include "dkim/keyring.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dkim/errc.h"
#include "dkim/test_keys_for_test.h"
#include "dkim/verifier.h"

namespace mta::dkim {
namespace {

class KeyRingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dkim_keyring_test." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    write("rsa.pem", rfc8463_rsa_key_for_test().to_pem());
    write("ed.pem", rfc8463_ed25519_key_for_test().to_pem());
    write("junk.pem", "not a key\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

TEST_F(KeyRingTest, LoadsAndChecksKeys) {
  const std::vector<KeyConfig> good = {
      {"Example.com", "rsa", path("rsa.pem"), Algorithm::rsa_sha256, {}},
      {"example.com", "ed", path("ed.pem"), std::nullopt, {"from", "subject"}},
  };
  auto ring = load_keys(good);
  ASSERT_TRUE(ring.has_value()) << ring.error().message();
  ASSERT_EQ(ring->signers().size(), 2u);
  EXPECT_EQ(ring->signers()[0].domain, "example.com");
  EXPECT_EQ(ring->signers()[1].key.algorithm(), Algorithm::ed25519_sha256);

  struct Case {
    KeyConfig config;
    Errc want;
  };
  const Case bad[] = {
      {{"example.com", "x", path("missing.pem"), std::nullopt, {}}, Errc::io_error},
      {{"example.com", "x", path("junk.pem"), std::nullopt, {}}, Errc::bad_key},
      {{"example.com", "x", path("ed.pem"), Algorithm::rsa_sha256, {}}, Errc::algorithm_mismatch},
  };
  for (const Case& c : bad) {
    auto got = load_keys(std::span<const KeyConfig>(&c.config, 1));
    ASSERT_FALSE(got.has_value()) << c.config.key_path;
    EXPECT_EQ(got.error().code, make_error_code(c.want)) << got.error().message();
  }
}

TEST_F(KeyRingTest, ChoosesSignersByFromDomain) {
  KeyRing ring(KeyRingPolicy{"fallback.net", "esp.org"});
  const PrivateKey& key = rfc8463_ed25519_key_for_test();
  for (const char* domain :
       {"example.com", "example.com", "shop.example.com", "fallback.net", "esp.org"}) {
    ring.add(SignerConfig{domain, "s", key});
  }
  struct Case {
    const char* from;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"example.com", {"example.com", "example.com", "esp.org"}},
      {"news.example.com", {"example.com", "example.com", "esp.org"}},
      {"shop.example.com", {"shop.example.com", "esp.org"}},
      {"a.b.shop.example.com", {"shop.example.com", "esp.org"}},
      {"other.com", {"fallback.net", "esp.org"}},
      {"com", {"fallback.net", "esp.org"}},
      {"esp.org", {"esp.org"}},
      {"", {"fallback.net", "esp.org"}},
  };
  for (const Case& c : cases) {
    std::vector<std::string> got;
    for (const SignerConfig* signer : ring.signers_for(c.from)) got.push_back(signer->domain);
    EXPECT_EQ(got, c.want) << c.from;
  }
  KeyRing plain;
  plain.add(SignerConfig{"example.com", "s", key});
  EXPECT_TRUE(plain.signers_for("other.com").empty());
}

TEST_F(KeyRingTest, SignMessagePrependsOneFieldPerSigner) {
  const std::vector<KeyConfig> keys = {
      {"example.com", "rsa", path("rsa.pem"), std::nullopt, {}},
      {"example.com", "ed", path("ed.pem"), std::nullopt, {}},
  };
  auto ring = load_keys(keys);
  ASSERT_TRUE(ring.has_value());
  const std::string message = "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n";
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  auto fields = sign_message(*ring, message, now);
  ASSERT_TRUE(fields.has_value());
  const KeyLookup lookup = [](std::string_view, std::string_view selector) -> Result<std::string> {
    return selector == "rsa" ? rfc8463_rsa_key_for_test().public_record()
                             : rfc8463_ed25519_key_for_test().public_record();
  };
  const auto results = verify(*fields + message, lookup, now);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].pass && results[1].pass);
  auto none = sign_message(*ring, "From: a@other.org\r\n\r\nx\r\n", now);
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(*none, "");
}

}  // namespace
}  // namespace mta::dkim
