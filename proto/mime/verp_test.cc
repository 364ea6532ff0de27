// VERP: what the encoder writes the decoder reads back, for awkward local parts too, and
// addresses that are not ours are refused.
#include "proto/mime/verp.h"

#include <gtest/gtest.h>

namespace mta::mime {
namespace {

constexpr std::string_view kTag = "01a1b2c3d4e5f60718";

TEST(Verp, RoundTripsAwkwardRecipients) {
  const MessageId id(0x0000019a2b3c4d5eULL);
  for (std::string_view recipient :
       {"ann@example.com", "a+tag@example.com", "x=y@example.com", "first.last@sub.example.co.uk",
        "UPPER@Example.COM", "a+b=c+d@x.test"}) {
    const auto encoded = verp_encode("bounce", id, kTag, recipient, "bounces.example.net");
    ASSERT_TRUE(encoded) << recipient;
    EXPECT_TRUE(encoded->starts_with("bounce+0000019a2b3c4d5e+" + std::string(kTag) + "+"))
        << *encoded;
    EXPECT_TRUE(encoded->ends_with("@bounces.example.net")) << *encoded;
    const auto decoded = verp_decode("bounce", *encoded, "bounces.example.net");
    ASSERT_TRUE(decoded) << *encoded;
    EXPECT_EQ(decoded->id, id);
    EXPECT_EQ(decoded->recipient, recipient);
    EXPECT_EQ(decoded->tag, kTag);
  }
}

TEST(Verp, UntaggedAddressesStillDecode) {
  const MessageId id(0x0000019a2b3c4d5eULL);
  const auto decoded =
      verp_decode("bounce", "bounce+0000019a2b3c4d5e+ann+x=example.com@bnc.test", "bnc.test");
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->id, id);
  EXPECT_EQ(decoded->tag, "");
  EXPECT_EQ(decoded->recipient, "ann+x@example.com");
}

TEST(Verp, EncodesTheDocumentedForm) {
  EXPECT_EQ(verp_encode("b", MessageId(255), kTag, "ann@example.com", "bnc.test"),
            "b+00000000000000ff+" + std::string(kTag) + "+ann=example.com@bnc.test");
}

TEST(Verp, RefusesWhatCannotBeEncoded) {
  const MessageId id(1);
  for (std::string_view recipient : {"no-at-sign", "@example.com", "ann@", "\"a b\"@example.com"}) {
    EXPECT_FALSE(verp_encode("bounce", id, kTag, recipient, "bnc.test")) << recipient;
  }
}

TEST(Verp, DecodeRefusesOtherAddresses) {
  const std::string good =
      *verp_encode("bounce", MessageId(7), kTag, "ann@example.com", "bnc.test");
  EXPECT_TRUE(verp_decode("BOUNCE", good, "BNC.test"));  // case does not matter
  for (std::string_view address : {
           "bounce+0000000000000007+ann=example.com@other.test",  // another domain
           "other+0000000000000007+ann=example.com@bnc.test",     // another prefix
           "bounce+000000000000007+ann=example.com@bnc.test",     // id too short
           "bounce+00000000000000zz+ann=example.com@bnc.test",    // not hex
           "bounce+0000000000000007+annexample.com@bnc.test",     // no '='
           "bounce+0000000000000007+=example.com@bnc.test",       // empty local part
           "bounce+0000000000000007+ann=@bnc.test",               // empty domain
           "bounce@bnc.test",
       }) {
    EXPECT_FALSE(verp_decode("bounce", address, "bnc.test")) << address;
  }
}

}  // namespace
}  // namespace mta::mime
