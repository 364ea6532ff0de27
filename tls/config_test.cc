// [tls]: the server certificate's paths go together.
#include "tls/config.h"

#include <gtest/gtest.h>

#include "base/config_reader_for_test.h"

namespace mta::tls {
namespace {

Result<ServerTlsConfig> parse(std::string_view text) {
  return config::parse_table_for_test<ServerTlsConfig>(text, "tls", parse_server_tls);
}

TEST(TlsConfig, CertificateAndKeyGoTogether) {
  auto both = parse(
      "[tls]\ncertificate = \"/etc/outpost/cert.pem\"\nkey = \"/etc/outpost/key.pem\"\n"
      "handshake_timeout = \"5s\"\n");
  ASSERT_TRUE(both) << both.error().message();
  EXPECT_EQ(both->certificate, "/etc/outpost/cert.pem");
  EXPECT_EQ(both->key, "/etc/outpost/key.pem");
  EXPECT_EQ(both->handshake_timeout, std::chrono::seconds(5));
  auto none = parse("");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->handshake_timeout, std::chrono::seconds(30));
  EXPECT_EQ(config::error_for_test(parse("[tls]\ncertificate = \"c.pem\"\n")),
            "Invalid argument: test.toml:2: tls.certificate: needs tls.key too (both empty: "
            "self-signed)");
  EXPECT_EQ(config::error_for_test(parse("[tls]\nkey = \"k.pem\"\n")),
            "Invalid argument: test.toml:2: tls.key: needs tls.certificate too (both empty: "
            "self-signed)");
}

}  // namespace
}  // namespace mta::tls
