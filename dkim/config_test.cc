// [[dkim]]: every key, defaults and the errors a typo produces.
#include "dkim/config.h"

#include <gtest/gtest.h>

#include "base/config_reader_for_test.h"

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
            "test.toml:1: dkim[0] needs domain, selector and key"},
           {"[[dkim]]\ndomain = \"a\"\nselector = \"s\"\nkey = \"k\"\nrole = \"boss\"\n",
            "test.toml:5: dkim[0].role"},
           {"[[dkim]]\ndomain = \"a\"\nselector = \"s\"\nkey = \"k\"\nalgorithm = \"rsa\"\n",
            "dkim[0].algorithm"},
           {"[[dkim]]\ndomain = \"a\"\nselector = \"s\"\nkey = \"k\"\nselecter = \"t\"\n",
            "dkim[0].selecter"}}) {
    EXPECT_NE(config::error_for_test(parse(text)).find(want), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace mta::dkim
