// NetworkList matching (IPv4, IPv6, mapped, prefixes, bad input) and Users against real
// libcrypt hashes: PLAIN and LOGIN exchanges, wrong passwords, authzid rules, bad base64.
#include "injection/access.h"

#include <gtest/gtest.h>

#include "dkim/crypto.h"

namespace mta::injection {
namespace {

engine::SocketAddress at(const char* text) { return engine::SocketAddress::parse(text).value(); }

TEST(NetworkList, MatchesByPrefix) {
  auto list = NetworkList::parse({"127.0.0.0/8", "10.1.2.3", "2001:db8::/32"});
  ASSERT_TRUE(list.has_value()) << list.error().message();
  EXPECT_TRUE(list->contains(at("127.9.9.9:25")));
  EXPECT_TRUE(list->contains(at("10.1.2.3:25")));
  EXPECT_FALSE(list->contains(at("10.1.2.4:25")));
  EXPECT_FALSE(list->contains(at("128.0.0.1:25")));
  EXPECT_TRUE(list->contains(at("[2001:db8:1::5]:25")));
  EXPECT_FALSE(list->contains(at("[2001:db9::5]:25")));
  EXPECT_TRUE(list->contains(at("[::ffff:127.0.0.1]:25")));  // IPv4-mapped
  EXPECT_FALSE(list->contains(at("[::1]:25")));
  auto everything = NetworkList::parse({"0.0.0.0/0"});
  ASSERT_TRUE(everything.has_value());
  EXPECT_TRUE(everything->contains(at("203.0.113.9:25")));
  EXPECT_FALSE(everything->contains(at("[2001:db8::1]:25")));
}

TEST(NetworkList, RefusesBadNetworks) {
  for (const char* bad :
       {"127.0.0.0/33", "::1/129", "example.com", "10.0.0.0/", "10.0.0.0/x", "1.2.3.4/-1", ""}) {
    EXPECT_FALSE(NetworkList::parse({bad}).has_value()) << bad;
  }
}

TEST(Users, PlainAndLoginAgainstRealHashes) {
  auto hash = hash_password("s3cret");
  ASSERT_TRUE(hash.has_value()) << hash.error().message();
  EXPECT_TRUE(hash->starts_with("$y$"));
  Users users;
  users.add("app", *hash);
  const auto b64 = [](std::string_view text) { return dkim::base64_encode(text); };
  using R = std::vector<std::string>;
  EXPECT_EQ(users.check("PLAIN", R{b64(std::string("\0app\0s3cret", 11))}), "app");
  EXPECT_EQ(users.check("PLAIN", R{b64(std::string("app\0app\0s3cret", 14))}), "app");
  EXPECT_EQ(users.check("PLAIN", R{b64(std::string("other\0app\0s3cret", 16))}), std::nullopt);
  EXPECT_EQ(users.check("PLAIN", R{b64(std::string("\0app\0wrong", 10))}), std::nullopt);
  EXPECT_EQ(users.check("PLAIN", R{b64(std::string("\0nobody\0s3cret", 14))}), std::nullopt);
  EXPECT_EQ(users.check("PLAIN", R{b64("no separators")}), std::nullopt);
  EXPECT_EQ(users.check("PLAIN", R{"!!not base64!!"}), std::nullopt);
  EXPECT_EQ(users.check("LOGIN", R{b64("app"), b64("s3cret")}), "app");
  EXPECT_EQ(users.check("LOGIN", R{b64("app"), b64("S3cret")}), std::nullopt);
  EXPECT_EQ(users.check("LOGIN", R{b64("app")}), std::nullopt);
  EXPECT_EQ(users.check("CRAM-MD5", R{b64("app s3cret")}), std::nullopt);
  // A NUL or any control character in a field is refused, never cut off: crypt(3) would read
  // "s3cret\0junk" as "s3cret".
  const std::string nul_junk("\0app\0s3cret\0junk", 16);
  EXPECT_EQ(users.check("PLAIN", R{b64(nul_junk)}), std::nullopt);
  EXPECT_FALSE(Users::decode("PLAIN", R{b64(nul_junk)}).usable);
  EXPECT_EQ(Users::decode("PLAIN", R{b64(nul_junk)}).name, "app");  // still named in the log
  EXPECT_EQ(users.check("LOGIN", R{b64("app"), b64(std::string("s3cret\0junk", 11))}),
            std::nullopt);
  EXPECT_EQ(users.check("LOGIN", R{b64(std::string("app\0x", 5)), b64("s3cret")}), std::nullopt);
  EXPECT_EQ(users.check("LOGIN", R{b64("app"), b64("s3cret\n")}), std::nullopt);
  EXPECT_EQ(users.check("PLAIN", R{b64(std::string("\0app\x01\0s3cret", 12))}), std::nullopt);
  EXPECT_FALSE(users.check_password("app", std::string("s3cret\0junk", 11)));
  EXPECT_FALSE(users.check_password("app", "s3cret\x7f"));
  EXPECT_FALSE(users.check_password(std::string("app\0", 4), "s3cret"));
  EXPECT_TRUE(users.check_password("app", "s3cret"));
  // A hash libcrypt cannot use never lets anyone in.
  users.add("broken", "plaintext-password");
  EXPECT_FALSE(users.check_password("broken", "plaintext-password"));
}

}  // namespace
}  // namespace mta::injection
