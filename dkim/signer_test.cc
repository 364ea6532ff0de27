// Signer and verifier together: every algorithm and canonicalization round-trips, h= lists
// duplicates and over-signs From, and tampering (body, signed header, a header added above,
// expiry, wrong key) fails with the right reason.
#include "dkim/signer.h"

#include <gtest/gtest.h>

#include <string>

#include "dkim/signature.h"
#include "dkim/tag_list.h"
#include "dkim/test_keys_for_test.h"
#include "dkim/verifier.h"

namespace mta::dkim {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

const system_clock::time_point t0{seconds(1700000000)};

const std::string message =
    "Received: from a by b\r\n"
    "From: Joe <joe@example.com>\r\n"
    "To: Suzie <suzie@example.net>,\r\n"
    "\tother@example.net\r\n"
    "Subject:   Is   dinner ready?  \r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
    "Message-ID: <1@example.com>\r\n"
    "Comments: one\r\n"
    "Comments: two\r\n"
    "\r\n"
    "Hi.  \r\n"
    "\r\n"
    "We lost the game.\tAre you hungry yet?\r\n"
    "\r\n"
    "\r\n";

SignerConfig config_for(const PrivateKey& key, Canon header, Canon body) {
  return SignerConfig{"example.com", "sel", key, header, body};
}

std::vector<Tag> tags_of(const std::string& field) {
  static std::string keep;  // tags view into this
  keep = field;
  return parse_tag_list(std::string_view(keep).substr(keep.find(':') + 1)).value();
}

struct Combo {
  const PrivateKey& key;
  Canon header;
  Canon body;
};

TEST(Signer, RoundTripsEveryAlgorithmAndCanonicalization) {
  for (const PrivateKey* key :
       {&rfc8463_rsa_key_for_test(), &rsa2048_key_for_test(), &rfc8463_ed25519_key_for_test()}) {
    for (Canon header : {Canon::simple, Canon::relaxed}) {
      for (Canon body : {Canon::simple, Canon::relaxed}) {
        auto field = sign(config_for(*key, header, body), message, t0);
        ASSERT_TRUE(field.has_value()) << field.error().message();
        EXPECT_EQ(field->rfind("DKIM-Signature: v=1; a=", 0), 0u);
        EXPECT_EQ(field->substr(field->size() - 2), "\r\n");
        for (std::size_t at = 0, next; at < field->size(); at = next + 2) {
          next = field->find("\r\n", at);
          EXPECT_LE(next - at, 78u) << *field;
        }
        const auto results = verify(*field + message, fixed_key(key->public_record()), t0);
        ASSERT_EQ(results.size(), 1u);
        EXPECT_TRUE(results[0].pass) << results[0].reason << "\n" << *field;
        EXPECT_EQ(results[0].domain, "example.com");
        EXPECT_EQ(results[0].algorithm, key->algorithm());
      }
    }
  }
}

TEST(Signer, HeaderListCoversDuplicatesAndOversignsFrom) {
  SignerConfig config = config_for(rfc8463_ed25519_key_for_test(), Canon::relaxed, Canon::relaxed);
  config.headers = {"From", "To", "Subject", "Comments", "Reply-To"};
  auto field = sign(config, message, t0);
  ASSERT_TRUE(field.has_value());
  const auto tags = tags_of(*field);
  EXPECT_EQ(strip_whitespace(find_tag(tags, "h")->value), "from:from:to:subject:comments:comments");
  config.oversigned = {"from", "reply-to"};
  field = sign(config, message, t0);
  ASSERT_TRUE(field.has_value());
  EXPECT_EQ(strip_whitespace(find_tag(tags_of(*field), "h")->value),
            "from:from:to:subject:comments:comments:reply-to");
}

TEST(Signer, DefaultListSignsOnlyPresentFields) {
  auto field =
      sign(config_for(rfc8463_ed25519_key_for_test(), Canon::relaxed, Canon::relaxed), message, t0);
  ASSERT_TRUE(field.has_value());
  EXPECT_EQ(strip_whitespace(find_tag(tags_of(*field), "h")->value),
            "from:from:subject:date:to:message-id");
}

TEST(Signer, TimestampAndExpiry) {
  SignerConfig config = config_for(rfc8463_ed25519_key_for_test(), Canon::relaxed, Canon::simple);
  config.expire_after = seconds(3600);
  auto field = sign(config, message, t0);
  ASSERT_TRUE(field.has_value());
  const auto tags = tags_of(*field);
  EXPECT_EQ(find_tag(tags, "t")->value, "1700000000");
  EXPECT_EQ(find_tag(tags, "x")->value, "1700003600");
  EXPECT_EQ(find_tag(tags, "l"), nullptr);
  const auto record = fixed_key(config.key.public_record());
  EXPECT_TRUE(verify(*field + message, record, t0 + seconds(3600))[0].pass);
  const auto late = verify(*field + message, record, t0 + seconds(3601));
  EXPECT_FALSE(late[0].pass);
  EXPECT_EQ(late[0].reason, "signature expired");
}

TEST(Signer, RefusesBadInput) {
  struct Case {
    const char* name;
    const char* domain;
    const char* selector;
    std::string message;
  };
  const Case cases[] = {
      {"no From", "example.com", "sel", "To: a@b.c\r\n\r\nbody\r\n"},
      {"header without colon", "example.com", "sel", "From: a@b.c\r\nbogus\r\n\r\nx\r\n"},
      {"domain with ;", "example.com; x=1", "sel", message},
      {"empty selector", "example.com", "", message},
  };
  for (const Case& c : cases) {
    SignerConfig config =
        config_for(rfc8463_ed25519_key_for_test(), Canon::relaxed, Canon::relaxed);
    config.domain = c.domain;
    config.selector = c.selector;
    EXPECT_FALSE(sign(config, c.message, t0).has_value()) << c.name;
  }
}

struct TamperCase {
  const char* name;
  std::string from;
  std::string to;
  const char* want_reason;
};

TEST(Verifier, TamperingFails) {
  const TamperCase cases[] = {
      {"body changed", "We lost", "We won", "body hash mismatch"},
      {"body appended", "\r\n\r\n\r\n", "\r\n\r\nP.S.\r\n", "body hash mismatch"},
      {"signed header changed", "Subject:   Is", "Subject:   Was", "signature mismatch"},
      {"From added above", "Received: from a by b\r\n",
       "Received: from a by b\r\nFrom: evil@evil.org\r\n", "signature mismatch"},
      {"From added below", "Date: Fri", "From: evil@evil.org\r\nDate: Fri", "signature mismatch"},
  };
  for (const PrivateKey* key : {&rfc8463_rsa_key_for_test(), &rfc8463_ed25519_key_for_test()}) {
    for (Canon canon : {Canon::simple, Canon::relaxed}) {
      auto field = sign(config_for(*key, canon, canon), message, t0);
      ASSERT_TRUE(field.has_value());
      for (const TamperCase& c : cases) {
        std::string tampered = *field + message;
        const std::size_t at = tampered.find(c.from);
        ASSERT_NE(at, std::string::npos) << c.name;
        tampered.replace(at, c.from.size(), c.to);
        const auto results = verify(tampered, fixed_key(key->public_record()), t0);
        ASSERT_EQ(results.size(), 1u);
        EXPECT_FALSE(results[0].pass) << c.name;
        EXPECT_EQ(results[0].reason, c.want_reason) << c.name;
      }
    }
  }
}

TEST(Verifier, UnsignedHeaderChangesAndRelaxedWhitespacePass) {
  auto field =
      sign(config_for(rfc8463_ed25519_key_for_test(), Canon::relaxed, Canon::relaxed), message, t0);
  ASSERT_TRUE(field.has_value());
  std::string changed = *field + message;
  changed.replace(changed.find("Comments: one"), 13, "Comments: 1");
  changed.replace(changed.find("Is   dinner"), 11, "Is\r\n dinner");
  changed.replace(changed.find("yet?"), 4, "yet?  \t");
  const auto results =
      verify(changed, fixed_key(rfc8463_ed25519_key_for_test().public_record()), t0);
  EXPECT_TRUE(results[0].pass) << results[0].reason;
}

TEST(Verifier, KeyProblems) {
  auto field =
      sign(config_for(rfc8463_rsa_key_for_test(), Canon::relaxed, Canon::relaxed), message, t0);
  ASSERT_TRUE(field.has_value());
  const std::string signed_message = *field + message;
  struct Case {
    KeyLookup lookup;
    std::string want_reason;
  };
  const Case cases[] = {
      {fixed_key(rsa2048_key_for_test().public_record()), "signature mismatch"},
      {fixed_key(rfc8463_ed25519_key_for_test().public_record()), "key type does not match a="},
      {fixed_key("v=DKIM1; k=rsa; p="), "key revoked"},
      {fixed_key("v=DKIM1; k=rsa; p=AAAA"), "bad key: RSA public key does not parse"},
      {[](std::string_view, std::string_view) -> Result<std::string> {
         return unexpected(std::make_error_code(std::errc::host_unreachable), "SERVFAIL");
       },
       "no key (" + std::make_error_code(std::errc::host_unreachable).message() + ": SERVFAIL)"},
  };
  for (const Case& c : cases) {
    const auto results = verify(signed_message, c.lookup, t0);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_FALSE(results[0].pass);
    EXPECT_EQ(results[0].reason.substr(0, c.want_reason.size()), c.want_reason);
  }
}

TEST(Verifier, SeveralSignaturesOnOneMessage) {
  auto rsa = sign(config_for(rsa2048_key_for_test(), Canon::relaxed, Canon::relaxed), message, t0);
  SignerConfig platform = config_for(rfc8463_ed25519_key_for_test(), Canon::simple, Canon::simple);
  platform.domain = "esp.example.org";
  platform.selector = "ed";
  auto ed = sign(platform, message, t0);
  ASSERT_TRUE(rsa.has_value() && ed.has_value());
  const KeyLookup lookup = [](std::string_view domain,
                              std::string_view selector) -> Result<std::string> {
    if (domain == "example.com" && selector == "sel") {
      return rsa2048_key_for_test().public_record();
    }
    if (domain == "esp.example.org" && selector == "ed") {
      return rfc8463_ed25519_key_for_test().public_record();
    }
    return unexpected(std::make_error_code(std::errc::invalid_argument), "unknown");
  };
  const auto results = verify(*ed + *rsa + message, lookup, t0);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].pass) << results[0].reason;
  EXPECT_EQ(results[0].domain, "esp.example.org");
  EXPECT_TRUE(results[1].pass) << results[1].reason;
}

TEST(Verifier, EmptyBodyAndNoSignature) {
  const std::string bare = "From: a@example.com\r\nSubject: x\r\n\r\n";
  for (Canon canon : {Canon::simple, Canon::relaxed}) {
    auto field = sign(config_for(rfc8463_ed25519_key_for_test(), canon, canon), bare, t0);
    ASSERT_TRUE(field.has_value());
    EXPECT_TRUE(
        verify(*field + bare, fixed_key(rfc8463_ed25519_key_for_test().public_record()), t0)[0]
            .pass);
  }
  EXPECT_TRUE(verify(bare, fixed_key(""), t0).empty());
}

TEST(Keys, PemRoundTripAndRecords) {
  for (const PrivateKey* key : {&rsa2048_key_for_test(), &rfc8463_ed25519_key_for_test()}) {
    auto again = PrivateKey::from_pem(key->to_pem());
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->algorithm(), key->algorithm());
    EXPECT_EQ(again->public_key_base64(), key->public_key_base64());
    auto record = parse_key_record(key->public_record());
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->algorithm, key->algorithm());
  }
  EXPECT_EQ(rsa2048_key_for_test().bits(), 2048);
  EXPECT_FALSE(PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n").has_value());
  EXPECT_FALSE(PrivateKey::generate(Algorithm::rsa_sha256, 512).has_value());
}

TEST(Base64, RoundTripsAndRejects) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(base64_decode(base64_encode(s)).value(), s);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_decode("Zm9v\r\n YmE=").value(), "fooba");
  EXPECT_FALSE(base64_decode("Zm9").has_value());
  EXPECT_FALSE(base64_decode("Zm=v").has_value());
  EXPECT_FALSE(base64_decode("Z!9v").has_value());
}

}  // namespace
}  // namespace mta::dkim
