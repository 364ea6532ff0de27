// Tag-list parser tests (RFC 6376 §3.2) and DKIM-Signature / key record parsing on top of it.
#include "dkim/tag_list.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dkim/signature.h"

namespace mta::dkim {
namespace {

struct TagCase {
  const char* input;
  bool ok;
  std::vector<std::pair<std::string, std::string>> want;
};

TEST(TagList, Table) {
  const TagCase cases[] = {
      {"", true, {}},
      {"  ", true, {}},
      {"v=1", true, {{"v", "1"}}},
      {"v=1;", true, {{"v", "1"}}},
      {"v=1; ", true, {{"v", "1"}}},
      {" v = 1 ; a=rsa-sha256", true, {{"v", "1"}, {"a", "rsa-sha256"}}},
      {"b=abc\r\n def;bh=x", true, {{"b", "abc\r\n def"}, {"bh", "x"}}},
      {"k=", true, {{"k", ""}}},
      {"x_1=a b", true, {{"x_1", "a b"}}},
      {"n=a=b", true, {{"n", "a=b"}}},
      {"v=1;;a=2", false, {}},
      {"1v=1", false, {}},
      {"v", false, {}},
      {"v=1; v=2", false, {}},
      {"v=caf\xc3\xa9", false, {}},
      {"=1", false, {}},
      {"v=1 ; ; ", false, {}},
  };
  for (const TagCase& c : cases) {
    auto got = parse_tag_list(c.input);
    ASSERT_EQ(got.has_value(), c.ok) << c.input;
    if (!c.ok) continue;
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const Tag& tag : *got) pairs.emplace_back(tag.name, tag.value);
    EXPECT_EQ(pairs, c.want) << c.input;
  }
}

TEST(TagList, StripWhitespace) { EXPECT_EQ(strip_whitespace(" ab\r\n\tc d "), "abcd"); }

constexpr const char* good_signature =
    "v=1; a=rsa-sha256; c=relaxed/simple; d=example.com; s=sel; t=100; x=200;\r\n"
    " h=From : To:subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA";

TEST(Signature, ParsesTags) {
  auto sig = parse_signature(good_signature);
  ASSERT_TRUE(sig.has_value()) << sig.error().message();
  EXPECT_EQ(sig->algorithm, Algorithm::rsa_sha256);
  EXPECT_EQ(sig->header_canon, Canon::relaxed);
  EXPECT_EQ(sig->body_canon, Canon::simple);
  EXPECT_EQ(sig->domain, "example.com");
  EXPECT_EQ(sig->selector, "sel");
  EXPECT_EQ(sig->identity, "@example.com");
  EXPECT_EQ(sig->headers, (std::vector<std::string>{"from", "to", "subject"}));
  EXPECT_EQ(sig->timestamp, 100);
  EXPECT_EQ(sig->expiration, 200);
  EXPECT_EQ(sig->body_hash.size(), 32u);
}

TEST(Signature, RejectsTable) {
  const std::string base = good_signature;
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = base;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  const std::string cases[] = {
      replace("v=1", "v=2"),
      replace("a=rsa-sha256", "a=rsa-sha1"),
      replace("c=relaxed/simple", "c=fancy"),
      replace("d=example.com; ", ""),
      replace("h=From : To:subject", "h=to:subject"),
      replace("h=From : To:subject", "h=from::to"),
      replace("x=200", "x=50"),
      replace("t=100", "t=abc"),
      replace("bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "bh=AAAA"),
      replace("b=AAAA", "b=A!AA"),
      replace("s=sel;", "s=sel; i=@other.org;"),
      replace("s=sel;", "s=sel; q=http;"),
  };
  for (const std::string& c : cases) {
    EXPECT_FALSE(parse_signature(c).has_value()) << c;
  }
  EXPECT_TRUE(parse_signature(replace("s=sel;", "s=sel; i=joe@sub.example.com;")).has_value());
}

struct KeyCase {
  const char* record;
  bool ok;
  Algorithm algorithm;
  bool revoked;
};

TEST(KeyRecord, Table) {
  const KeyCase cases[] = {
      {"v=DKIM1; k=rsa; p=AAAA", true, Algorithm::rsa_sha256, false},
      {"p=AAAA", true, Algorithm::rsa_sha256, false},
      {"v=DKIM1; k=ed25519; p=AAAA", true, Algorithm::ed25519_sha256, false},
      {"v=DKIM1; p=", true, Algorithm::rsa_sha256, true},
      {"v=DKIM1; h=sha1:sha256; s=email; t=y; p=AAAA", true, Algorithm::rsa_sha256, false},
      {"k=rsa; v=DKIM1; p=AAAA", false, {}, false},
      {"v=DKIM2; p=AAAA", false, {}, false},
      {"v=DKIM1; k=dsa; p=AAAA", false, {}, false},
      {"v=DKIM1; h=sha1; p=AAAA", false, {}, false},
      {"v=DKIM1; s=tlsrpt; p=AAAA", false, {}, false},
      {"v=DKIM1; k=rsa", false, {}, false},
      {"v=DKIM1; p=A*AA", false, {}, false},
  };
  for (const KeyCase& c : cases) {
    auto got = parse_key_record(c.record);
    ASSERT_EQ(got.has_value(), c.ok) << c.record;
    if (!c.ok) continue;
    EXPECT_EQ(got->algorithm, c.algorithm) << c.record;
    EXPECT_EQ(got->public_key.empty(), c.revoked) << c.record;
  }
}

}  // namespace
}  // namespace mta::dkim
