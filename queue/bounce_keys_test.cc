// BounceKeys: the key file (made at first start, mode 0600, rotation, retirement, expiry) and
// the tags (verify with the key that made them, under any case, and with nothing else).
#include "queue/bounce_keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "base/assert.h"
#include "queue/temp_dir_for_test.h"

namespace mta::queue {
namespace {

using TempDir = TempDir_for_test;

constexpr std::int64_t day = 24 * 3600;
constexpr std::int64_t honour = 10 * day;

BounceKey key(std::uint8_t id, char fill) {
  return BounceKey{.id = id, .created_at = id, .secret = std::string(32, fill)};
}

TEST(BounceKeys, FirstStartMakesOnePrivateKeyAndKeepsIt) {
  TempDir dir;
  const std::string path = dir.file("bounce-keys");
  auto first = BounceKeys::open(path, 1000, honour);
  ASSERT_TRUE(first.has_value()) << first.error().message();
  ASSERT_EQ(first->keys().size(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = BounceKeys::open(path, 2000, honour);
  ASSERT_TRUE(again.has_value());
  ASSERT_EQ(again->keys().size(), 1u);
  EXPECT_EQ(again->keys()[0].secret, first->keys()[0].secret);
  const MessageId id(0x19a2b3c4d5e);
  EXPECT_EQ(again->verp_tag(id, "ann@example.com"), first->verp_tag(id, "ann@example.com"));
}

TEST(BounceKeys, RotationSignsWithTheNewKeyAndHonoursTheOldOneUntilItExpires) {
  TempDir dir;
  const std::string path = dir.file("bounce-keys");
  auto old_keys = BounceKeys::open(path, 1000, honour);
  ASSERT_TRUE(old_keys.has_value());
  const MessageId id(42);
  const std::string old_tag = old_keys->verp_tag(id, "ann@example.com");
  const std::string old_reference = old_keys->reference(id);

  auto added = BounceKeys::rotate(path, 2000);
  ASSERT_TRUE(added.has_value()) << added.error().message();
  EXPECT_NE(added->id, old_keys->keys()[0].id);

  // The next start: the new key signs, the old one was retired then and still verifies.
  auto rotated = BounceKeys::open(path, 3000, honour);
  ASSERT_TRUE(rotated.has_value());
  ASSERT_EQ(rotated->keys().size(), 2u);
  EXPECT_EQ(rotated->keys()[0].id, added->id);
  EXPECT_EQ(rotated->keys()[1].retired_at, 3000);
  EXPECT_NE(rotated->verp_tag(id, "ann@example.com"), old_tag);
  EXPECT_TRUE(rotated->verp_tag_valid(id, "ann@example.com", old_tag));
  EXPECT_EQ(rotated->reference_valid(old_reference), id);

  // Honoured for `honour` after it stopped signing, then dropped from the file.
  auto later = BounceKeys::open(path, 3000 + honour, honour);
  ASSERT_TRUE(later.has_value());
  EXPECT_TRUE(later->verp_tag_valid(id, "ann@example.com", old_tag));
  auto expired = BounceKeys::open(path, 3001 + honour, honour);
  ASSERT_TRUE(expired.has_value());
  EXPECT_EQ(expired->keys().size(), 1u);
  EXPECT_FALSE(expired->verp_tag_valid(id, "ann@example.com", old_tag));
  EXPECT_FALSE(expired->reference_valid(old_reference).has_value());
  auto reread = BounceKeys::open(path, 3002 + honour, honour);
  ASSERT_TRUE(reread.has_value());
  EXPECT_EQ(reread->keys().size(), 1u);
}

TEST(BounceKeys, RefusesADamagedFile) {
  TempDir dir;
  const std::string path = dir.file("bounce-keys");
  std::ofstream(path) << "1 100 0 00ff\n";
  EXPECT_FALSE(BounceKeys::open(path, 1000, honour).has_value());
  std::ofstream(path) << "1 100 0 " << std::string(64, 'a') << "\n1 200 0 " << std::string(64, 'b')
                      << "\n";
  EXPECT_FALSE(BounceKeys::open(path, 1000, honour).has_value());
}

TEST(BounceKeys, TagsVerifyOnlyForTheirMessageAndRecipient) {
  const BounceKeys keys = BounceKeys::from_keys_for_test({key(2, 'b'), key(1, 'a')});
  const BounceKeys other = BounceKeys::from_keys_for_test({key(2, 'x')});
  const MessageId id(0x19a2b3c4d5e);
  const std::string tag = keys.verp_tag(id, "Ann@Example.com");
  ASSERT_EQ(tag.size(), BounceKeys::tag_chars);
  EXPECT_EQ(tag.substr(0, 2), "02");
  EXPECT_TRUE(keys.verp_tag_valid(id, "Ann@Example.com", tag));
  // A relay may change the case of the return path.
  EXPECT_TRUE(keys.verp_tag_valid(id, "ann@example.com", tag));
  std::string upper = tag;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(keys.verp_tag_valid(id, "ann@example.com", upper));
  // Anything else fails: another recipient, another message, another key, a changed digit.
  EXPECT_FALSE(keys.verp_tag_valid(id, "bob@example.com", tag));
  EXPECT_FALSE(keys.verp_tag_valid(MessageId(id.value() + 1), "ann@example.com", tag));
  EXPECT_FALSE(other.verp_tag_valid(id, "ann@example.com", tag));
  std::string changed = tag;
  changed.back() = changed.back() == '0' ? '1' : '0';
  EXPECT_FALSE(keys.verp_tag_valid(id, "ann@example.com", changed));
  EXPECT_FALSE(keys.verp_tag_valid(id, "ann@example.com", tag.substr(1)));
  EXPECT_FALSE(keys.verp_tag_valid(id, "ann@example.com", ""));
  // The reference: the message id, then its tag; one message's does not name another.
  const std::string reference = keys.reference(id);
  EXPECT_EQ(reference.substr(0, 17), to_hex(id) + ".");
  EXPECT_EQ(keys.reference_valid(" " + reference + "\r\n"), id);
  EXPECT_FALSE(other.reference_valid(reference).has_value());
  std::string moved = reference;
  moved[15] = moved[15] == '0' ? '1' : '0';
  EXPECT_FALSE(keys.reference_valid(moved).has_value());
  EXPECT_FALSE(keys.reference_valid("0000019a2b3c4d5e").has_value());
  // A VERP tag is not a reference tag for the same id.
  EXPECT_FALSE(keys.reference_valid(to_hex(id) + "." + tag).has_value());
}

}  // namespace
}  // namespace mta::queue
