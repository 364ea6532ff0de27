// [[dkim]]: every key, defaults and the errors a typo produces.
#include "dkim/config.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/config_reader_for_test.h"
#include "dkim/test_keys_for_test.h"

namespace mta::dkim {
namespace {

using Keys = std::vector<SigningKeyConfig>;

Result<Keys> parse(std::string_view text) {
  return config::parse_file_for_test<Keys>(text, parse_signing_keys);
}

TEST(DkimConfig, DkimKeys) {
  auto keys = parse(R"([[dkim]]
domain = "example.com"
selector = "rsa1"
key = "keys/rsa.pem"
[[dkim]]
domain = "esp.example"
selector = "ed1"
key = "keys/ed.pem"
algorithm = "ed25519-sha256"
headers = ["from", "subject"]
role = "platform"
)");
  ASSERT_TRUE(keys.has_value()) << keys.error().message();
  ASSERT_EQ(keys->size(), 2U);
  EXPECT_EQ((*keys)[0].domain, "example.com");
  EXPECT_EQ((*keys)[0].role, "author");
  EXPECT_EQ((*keys)[0].algorithm, "");
  EXPECT_EQ((*keys)[1].key_path, "keys/ed.pem");
  EXPECT_EQ((*keys)[1].headers, (std::vector<std::string>{"from", "subject"}));
  EXPECT_EQ((*keys)[1].role, "platform");
}

TEST(DkimConfig, ErrorsNameTheKey) {
  for (const auto& [text, want] : std::vector<std::pair<const char*, const char*>>{
           {"[dkim]\ndomain = \"a\"\n", "[[dkim]]"},
           {"[[dkim]]\ndomain = \"a.example\"\nselector = \"s\"\n",
            "test.toml:1: dkim[0]: needs domain, selector and key"},
           {"[[dkim]]\ndomain = \"a\"\nselector = \"s\"\nkey = \"k\"\nrole = \"boss\"\n",
            "test.toml:5: dkim[0].role"},
           {"[[dkim]]\ndomain = \"a\"\nselector = \"s\"\nkey = \"k\"\nalgorithm = \"rsa\"\n",
            "dkim[0].algorithm"},
           {"[[dkim]]\ndomain = \"a\"\nselector = \"s\"\nkey = \"k\"\nselecter = \"t\"\n",
            "test.toml:5: dkim[0].selecter: unknown key (did you mean dkim[0].selector?)"}}) {
    EXPECT_NE(config::error_for_test(parse(text)).find(want), std::string::npos) << text;
  }
}

TEST(DkimConfig, NoKeysNoRing) {
  auto ring = load_signing_keys({}, config::Locations());
  ASSERT_TRUE(ring.has_value()) << ring.error().message();
  EXPECT_FALSE(ring->has_value());
}

TEST(DkimConfig, LoadsTheRingWithItsRoles) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("dkim_config_test." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "ed.pem", std::ios::binary) << rfc8463_ed25519_key_for_test().to_pem();
  const std::string key = (dir / "ed.pem").string();
  const Keys keys = {
      {.domain = "a.example", .selector = "s", .key_path = key, .algorithm = "ed25519-sha256"},
      {.domain = "esp.example", .selector = "p", .key_path = key, .role = "platform"},
      {.domain = "fall.example", .selector = "f", .key_path = key, .role = "fallback"}};
  auto ring = load_signing_keys(keys, config::Locations());
  ASSERT_TRUE(ring.has_value()) << ring.error().message();
  ASSERT_TRUE(ring->has_value());
  EXPECT_EQ((*ring)->signers().size(), 3U);
  EXPECT_EQ((*ring)->policy().platform_domain, "esp.example");
  EXPECT_EQ((*ring)->policy().fallback_domain, "fall.example");
  // A key that cannot be used stops the load, naming its entry's line and key.
  const std::string text = "[[dkim]]\ndomain = \"a.example\"\nselector = \"s\"\nkey = \"" + key +
                           "\"\n[[dkim]]\ndomain = \"b.example\"\nselector = \"s\"\n\nkey = \"" +
                           key + "\"\nalgorithm = \"rsa-sha256\"\n";
  auto file = config::Document::parse(text, "o.toml");
  ASSERT_TRUE(file.has_value());
  Keys two;
  ASSERT_TRUE(parse_signing_keys(*file, two).has_value());
  auto mismatch = load_signing_keys(two, file->locations());
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_TRUE(
      mismatch.error().detail.starts_with("o.toml:9: dkim[1].key: s._domainkey.b.example: "
                                          "configured rsa-sha256 but the key is "))
      << mismatch.error().detail;
  two[1].algorithm.clear();
  two[1].key_path = key + ".missing";
  auto missing = load_signing_keys(two, file->locations());
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().detail,
            "o.toml:9: dkim[1].key: s._domainkey.b.example: cannot open " + key + ".missing");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mta::dkim
