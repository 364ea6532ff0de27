// canonical_address and suppression_key: a table of inputs, the canonical form or the fault.
#include "base/envelope_address.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace mta {
namespace {

struct Case {
  std::string_view input;
  std::string_view want;        // canonical form, or "" when refused
  std::string_view fault = {};  // part of the refusal's detail
};

TEST(CanonicalAddress, Table) {
  const Case cases[] = {
      {"ann@example.com", "ann@example.com"},
      {"Ann.Lee@Example.COM", "Ann.Lee@example.com"},
      {"a+tag=x@b.example", "a+tag=x@b.example"},
      {"\"ann\"@example.com", "ann@example.com"},
      {"\"a\\nn\"@Example.com", "ann@example.com"},
      {"\"ann lee\"@example.com", "\"ann lee\"@example.com"},
      {"\"a\\\"b\"@x.example", "\"a\\\"b\"@x.example"},
      {"\"a.\"@x.example", "\"a.\"@x.example"},
      {"\"\"@x.example", "\"\"@x.example"},
      {"user@[192.0.2.1]", "user@[192.0.2.1]"},
      {"user@[IPv6:2001:DB8::1]", "user@[ipv6:2001:db8::1]"},
      {"j\xc3\xb6rg@b\xc3\xbc"
       "cher.example",
       "j\xc3\xb6rg@b\xc3\xbc"
       "cher.example"},
      {"", "", "empty"},
      {" victim@x.example", "", "leading white space"},
      {"victim@x.example\t", "", "trailing white space"},
      {"victim@x.example ", "", "trailing white space"},
      {"vic tim@x.example", "", "a space in the local part"},
      {"victim@x.exa mple", "", "a space in the domain"},
      {"vic\x01tim@x.example", "", "a control character in the local part"},
      {"victim@x.exam\x7fple", "", "a control character in the domain"},
      {"\"victim@x.example", "", "an unbalanced quote"},
      {"victim\"@x.example", "", "an unbalanced quote in the local part"},
      {"\"victim\"x@x.example", "", "'x' after the quoted local part"},
      {"\" victim\"@x.example", "", "white space at the edge"},
      {"\"victim \"@x.example", "", "white space at the edge"},
      {"\"vic\ttim\"@x.example", "", "a control character"},
      {"<victim@x.example>", "", "angle brackets"},
      {"@relay.example:victim@x.example", "", "a source route"},
      {"victim", "", "no '@'"},
      {"@x.example", "", "an empty local part"},
      {"victim@", "", "an empty domain"},
      {".victim@x.example", "", "misplaced '.'"},
      {"vic..tim@x.example", "", "misplaced '.'"},
      {"victim@x..example", "", "malformed domain label"},
      {"victim@x.example.", "", "malformed domain label"},
      {"victim@-x.example", "", "'-' in the domain"},
      {"victim@x-.example", "", "malformed domain label"},
      {"victim@[]", "", "address literal"},
      {"vic\xc2\x85tim@x.example", "", "invalid UTF-8"},
      {"vic\xfftim@x.example", "", "invalid UTF-8"},
      {"a@b@x.example", "", "'@' in the local part"},
  };
  for (const Case& c : cases) {
    auto got = canonical_address(c.input);
    if (c.want.empty()) {
      ASSERT_FALSE(got.has_value()) << c.input << " gave " << *got;
      EXPECT_NE(got.error().detail.find(c.fault), std::string::npos)
          << c.input << ": " << got.error().detail;
    } else {
      ASSERT_TRUE(got.has_value()) << c.input << ": " << got.error().detail;
      EXPECT_EQ(*got, c.want) << c.input;
      // Canonical forms are fixed points.
      auto again = canonical_address(*got);
      ASSERT_TRUE(again.has_value()) << *got;
      EXPECT_EQ(*again, *got);
    }
  }
}

TEST(CanonicalAddress, RefusesWhatNoCommandLineCarries) {
  const std::string longest = std::string(kEnvelopeAddressBytesMax - 10, 'a') + "@x.example";
  EXPECT_TRUE(canonical_address(longest).has_value());
  EXPECT_FALSE(canonical_address("a" + longest).has_value());
}

TEST(SuppressionKey, FoldsCaseAndSpellings) {
  EXPECT_EQ(suppression_key("Victim@X.example"), "victim@x.example");
  EXPECT_EQ(suppression_key("victim@X.EXAMPLE"), suppression_key("Victim@x.example"));
  EXPECT_EQ(suppression_key("\"Victim\"@x.example"), "victim@x.example");
  // Not an address (an old record): trimmed and lower-cased all the same.
  EXPECT_EQ(suppression_key(" Victim@X.example\t"), "victim@x.example");
  EXPECT_EQ(suppression_key("\"Ann Lee\"@X.example"), "\"ann lee\"@x.example");
}

}  // namespace
}  // namespace mta
