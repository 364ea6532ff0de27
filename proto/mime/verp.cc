// VERP encoding and decoding. The recipient's local part may itself hold '+' and '=', so the
// decoder splits the id and the tag off the front (the prefix has no '+', the id and the tag
// are fixed-width hex) and the recipient's domain off the back (a domain has no '=').
#include "proto/mime/verp.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "base/ascii.h"

namespace mta::mime {
namespace {

constexpr std::size_t id_digits = 16;

bool is_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

}  // namespace

std::optional<std::string> verp_encode(std::string_view prefix, MessageId id, std::string_view tag,
                                       std::string_view recipient, std::string_view bounce_domain) {
  const std::size_t at = recipient.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == recipient.size()) return std::nullopt;
  const std::string_view local = recipient.substr(0, at);
  const std::string_view domain = recipient.substr(at + 1);
  // A quoted local part ("a b"@x) would need quoting inside ours as well; keep the sender.
  if (local.find('"') != std::string_view::npos || domain.find('=') != std::string_view::npos) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(prefix.size() + id_digits + recipient.size() + bounce_domain.size() + 3);
  out.append(prefix).append("+").append(to_hex(id)).append("+");
  if (!tag.empty()) out.append(tag).append("+");
  out.append(local).append("=").append(domain).append("@").append(bounce_domain);
  return out;
}

std::optional<VerpAddress> verp_decode(std::string_view prefix, std::string_view address,
                                       std::string_view bounce_domain) {
  const std::size_t at = address.rfind('@');
  if (at == std::string_view::npos || !iequals(address.substr(at + 1), bounce_domain)) {
    return std::nullopt;
  }
  std::string_view local = address.substr(0, at);
  if (local.size() <= prefix.size() + 1 || !iequals(local.substr(0, prefix.size()), prefix) ||
      local[prefix.size()] != '+') {
    return std::nullopt;
  }
  local.remove_prefix(prefix.size() + 1);
  if (local.size() < id_digits + 1 || local[id_digits] != '+') return std::nullopt;
  std::uint64_t id = 0;
  const auto [end, error] = std::from_chars(local.data(), local.data() + id_digits, id, 16);
  if (error != std::errc() || end != local.data() + id_digits) return std::nullopt;
  local.remove_prefix(id_digits + 1);
  std::string tag;
  if (local.size() > kVerpTagChars && local[kVerpTagChars] == '+' &&
      is_hex(local.substr(0, kVerpTagChars))) {
    tag = local.substr(0, kVerpTagChars);
    local.remove_prefix(kVerpTagChars + 1);
  }
  const std::size_t equals = local.rfind('=');
  if (equals == std::string_view::npos || equals == 0 || equals + 1 == local.size()) {
    return std::nullopt;
  }
  std::string recipient(local.substr(0, equals));
  recipient.append("@").append(local.substr(equals + 1));
  return VerpAddress{MessageId(id), std::move(tag), std::move(recipient)};
}

}  // namespace mta::mime
