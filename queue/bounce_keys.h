// BounceKeys: the secret keys that tie a bounce to a message Outpost really sent (issue 21).
// Each VERP return path carries a tag, an HMAC-SHA256 over the message id and the recipient,
// and each message carries an X-Outpost-Ref field, the same over its id, so a bounce or a
// complaint suppresses a recipient only when it proves which message it is about (in the
// spirit of BATV and SRS). The keys live in one small file in the spool (mode 0600), made at
// the first start; `outpost bounce-keys rotate` adds a key, and every start signs with the
// newest while older keys still verify for queue.max_age plus bounce.key_grace after they
// stopped signing. Loaded once at start; a BounceKeys is immutable, so every shard reads it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/strong_id.h"

namespace mta::queue {

struct BounceKey {
  std::uint8_t id = 0;          // 1 to 255, written in every tag
  std::int64_t created_at = 0;  // seconds since the Unix epoch
  std::int64_t retired_at = 0;  // when a newer key took over signing; 0 = not yet
  std::string secret;           // 32 random bytes
};

class BounceKeys {
 public:
  // A tag: the key id (2 hex digits) then the first 64 bits of the MAC (16 hex digits), lower
  // case; verification ignores case, since a relay may change the case of a return path.
  static constexpr std::size_t tag_chars = 18;

  // Reads the key file at `path`, first creating it with one new key when there is none. The
  // newest key signs. Keys older than it that were not retired yet are retired at `now` (they
  // signed until this start); keys retired more than `honour_seconds` before `now` are
  // dropped. The file is rewritten (atomically, mode 0600) when that changed it; a file that
  // others may read is made 0600 with a warning.
  static Result<BounceKeys> open(const std::string& path, std::int64_t now,
                                 std::int64_t honour_seconds);
  // Adds a new key to the file at `path` (creating it), which signs from the daemon's next
  // start; returns it. Fails when 255 keys are held.
  static Result<BounceKey> rotate(const std::string& path, std::int64_t now);
  // Keys as given, newest (the signing one) first; for tests.
  static BounceKeys from_keys_for_test(std::vector<BounceKey> keys);

  // The tag of the VERP return path of `recipient` of message `id`. The MAC covers the
  // recipient's suppression_key(), so the case a relay gives the return path does not matter.
  std::string verp_tag(MessageId id, std::string_view recipient) const;
  bool verp_tag_valid(MessageId id, std::string_view recipient, std::string_view tag) const;

  // The X-Outpost-Ref value of message `id`: "<id, 16 hex digits>.<tag>".
  std::string reference(MessageId id) const;
  // The message a reference names, when its tag verifies (white space around it ignored).
  std::optional<MessageId> reference_valid(std::string_view value) const;

  const std::vector<BounceKey>& keys() const { return keys_; }

 private:
  explicit BounceKeys(std::vector<BounceKey> keys) : keys_(std::move(keys)) {}
  std::string tag(const BounceKey& key, std::string_view data) const;
  bool valid(std::string_view data, std::string_view tag) const;

  std::vector<BounceKey> keys_;  // newest first; never empty
};

}  // namespace mta::queue
