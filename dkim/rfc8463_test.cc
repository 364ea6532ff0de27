// RFC 8463 Appendix A: the example message signed with the Appendix's Ed25519 key and the
// RFC 6376-era RSA test key. Our verifier accepts both published signatures, and our signer,
// given the same key, fields and timestamps, reproduces both b= values exactly (Ed25519 and
// RSA PKCS#1 v1.5 signatures are deterministic).
#include <gtest/gtest.h>

#include <string>

#include "dkim/message.h"
#include "dkim/signature.h"
#include "dkim/signer.h"
#include "dkim/tag_list.h"
#include "dkim/test_keys_for_test.h"
#include "dkim/verifier.h"

namespace mta::dkim {
namespace {

std::string signed_message() {
  return normalize_line_endings(read_testdata_for_test("rfc8463/signed.eml"));
}

KeyLookup rfc_keys() {
  return [](std::string_view domain, std::string_view selector) -> Result<std::string> {
    EXPECT_EQ(domain, "football.example.com");
    if (selector == "brisbane") return read_testdata_for_test("rfc8463/ed25519.dns");
    if (selector == "test") return read_testdata_for_test("rfc8463/rsa.dns");
    return unexpected(std::make_error_code(std::errc::no_such_file_or_directory), "no record");
  };
}

TEST(Rfc8463, VerifierAcceptsBothSignatures) {
  const auto results = verify(signed_message(), rfc_keys(), {});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].pass) << results[0].reason;
  EXPECT_EQ(results[0].algorithm, Algorithm::ed25519_sha256);
  EXPECT_EQ(results[0].selector, "brisbane");
  EXPECT_TRUE(results[1].pass) << results[1].reason;
  EXPECT_EQ(results[1].algorithm, Algorithm::rsa_sha256);
}

TEST(Rfc8463, PublicKeysMatchTheRecords) {
  EXPECT_EQ(rfc8463_ed25519_key_for_test().public_key_base64(),
            "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  EXPECT_NE(read_testdata_for_test("rfc8463/rsa.dns")
                .find("p=" + rfc8463_rsa_key_for_test().public_key_base64()),
            std::string::npos);
}

// Re-signs each published field (b= emptied) and compares the output with the published
// field: every byte before b= is ours verbatim, and the b= value must be identical. Only the
// folding inside the b= value may differ; it is deleted before hashing, so it is not signed.
TEST(Rfc8463, SignerReproducesPublishedSignatures) {
  const std::string message = signed_message();
  auto parsed = parse_message(message);
  ASSERT_TRUE(parsed.has_value());
  // The unsigned message is the signed one without its two DKIM-Signature fields.
  const std::string unsigned_message =
      normalize_line_endings(read_testdata_for_test("rfc8463/message.eml"));
  int reproduced = 0;
  for (const HeaderField& field : parsed->headers) {
    if (!iequals(field.name, "DKIM-Signature")) continue;
    const std::size_t b_at = field.raw.find(" b=") + 1;  // " bh=" does not match
    const std::string_view published_prefix = field.raw.substr(0, b_at + 2);
    const PrivateKey& key = field.raw.find("ed25519") != std::string_view::npos
                                ? rfc8463_ed25519_key_for_test()
                                : rfc8463_rsa_key_for_test();
    auto ours = sign_with_field(key, unsigned_message, published_prefix);
    ASSERT_TRUE(ours.has_value()) << ours.error().message();
    ASSERT_EQ(ours->substr(0, published_prefix.size()), published_prefix);
    EXPECT_EQ(strip_whitespace(ours->substr(published_prefix.size())),
              strip_whitespace(field.raw.substr(b_at + 2)));
    ++reproduced;
  }
  EXPECT_EQ(reproduced, 2);
}

// Our own field layout over the Appendix message, with the Appendix's c= and body: bh= must be
// the published one, and the result must verify.
TEST(Rfc8463, OwnLayoutGivesPublishedBodyHash) {
  const std::string message = normalize_line_endings(read_testdata_for_test("rfc8463/message.eml"));
  SignerConfig config{"football.example.com", "brisbane", rfc8463_ed25519_key_for_test(),
                      Canon::simple, Canon::simple};
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1518460054));
  auto field = sign(config, message, now);
  ASSERT_TRUE(field.has_value());
  EXPECT_NE(field->find("bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ="), std::string::npos)
      << *field;
  EXPECT_NE(field->find("t=1518460054;"), std::string::npos);
  const auto results = verify(*field + message, rfc_keys(), now);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].pass) << results[0].reason;
}

}  // namespace
}  // namespace mta::dkim
