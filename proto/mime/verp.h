// VERP (variable envelope return path): each recipient's copy leaves with its own return path
// in the bounce domain, naming the message and the recipient, so a bounce maps back to both
// even when its body says nothing useful. The format, with the recipient's '@' turned into '='
// as qmail and Postfix do:
//
//   <prefix>+<message id, 16 hex digits>+<tag>+<recipient local part>=<recipient domain>@<bounce
//   domain>
//
// The tag (queue::BounceKeys, 18 hex digits: key id and MAC) proves that Outpost made the
// address for that message and recipient; anyone can write the rest. Addresses made before
// tags (no tag between the id and the recipient) still decode, with an empty tag.
//
// Pure; the bounce mailbox parses what the injection path writes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/strong_id.h"

namespace mta::mime {

inline constexpr std::size_t kVerpTagChars = 18;

struct VerpAddress {
  MessageId id;
  std::string tag;        // kVerpTagChars hex digits as written, or empty for an untagged address
  std::string recipient;  // local@domain
};

// The return path for `recipient` of message `id` with `tag` (kVerpTagChars hex digits; empty
// writes an untagged address, for tests of old addresses); nullopt when the recipient cannot be
// encoded (no '@', or a quoted local part), and the original sender is kept for it.
std::optional<std::string> verp_encode(std::string_view prefix, MessageId id, std::string_view tag,
                                       std::string_view recipient, std::string_view bounce_domain);

// The message and recipient a VERP address names; nullopt when `address` is not one made with
// `prefix` for `bounce_domain` (compared without case).
std::optional<VerpAddress> verp_decode(std::string_view prefix, std::string_view address,
                                       std::string_view bounce_domain);

}  // namespace mta::mime
