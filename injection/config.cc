#include "injection/config.h"

#include <cctype>

#include "queue/envelope.h"

namespace mta::injection {
namespace {

// A "100/s" style rate; empty or absent: unlimited.
Result<void> read_rate(config::Table& section, std::string_view key, Rate& out) {
  std::string text;
  CONFIG_TRY(section.string(key, text));
  if (text.empty()) return {};
  auto parsed = parse_rate(text);
  if (!parsed) return section.error(key, parsed.error().detail);
  out = *parsed;
  return {};
}

Result<void> parse_user(config::Table& entry, std::vector<SubmissionUser>& out) {
  SubmissionUser user;
  CONFIG_TRY(entry.string("name", user.name));
  CONFIG_TRY(entry.string("password_hash", user.password_hash));
  CONFIG_TRY(entry.string("tenant", user.tenant));
  CONFIG_TRY(entry.no_unknown_keys());
  if (user.name.empty() || !user.password_hash.starts_with("$")) {
    return entry.error("needs a name and a crypt(3) password_hash (outpost passwd)");
  }
  if (!user.tenant.empty() && !queue::valid_tag(user.tenant)) {
    return entry.error("tenant", "must be 1 to 64 letters, digits, '.', '_' or '-'");
  }
  out.push_back(std::move(user));
  return {};
}

Result<void> parse_mechanisms(config::Table& section, std::vector<std::string>& mechanisms) {
  for (auto& mechanism : mechanisms) {
    for (char& c : mechanism) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (mechanism != "PLAIN" && mechanism != "LOGIN") {
      return section.error("auth", "\"" + mechanism + "\" is not PLAIN or LOGIN");
    }
  }
  return {};
}

// 64 lower-case hex digits -> 32 bytes; false when `digest` is anything else.
bool decode_digest(const std::string& digest, std::array<std::uint8_t, 32>& out) {
  constexpr std::string_view hex_digits = "0123456789abcdef";
  if (digest.size() != 2 * out.size() ||
      digest.find_first_not_of(hex_digits) != std::string::npos) {
    return false;
  }
  for (std::size_t b = 0; b < out.size(); ++b) {
    out[b] = static_cast<std::uint8_t>(hex_digits.find(digest[2 * b]) * 16 +
                                       hex_digits.find(digest[2 * b + 1]));
  }
  return true;
}

Result<void> parse_api_key(config::Table& entry, std::vector<ApiKeyConfig>& out) {
  ApiKeyConfig key;
  std::string digest;
  CONFIG_TRY(entry.string("name", key.name));
  CONFIG_TRY(entry.string("key_sha256", digest));
  CONFIG_TRY(read_rate(entry, "rate", key.rate));
  CONFIG_TRY(entry.string("tenant", key.tenant));
  CONFIG_TRY(entry.no_unknown_keys());
  if (!key.tenant.empty() && !queue::valid_tag(key.tenant)) {
    return entry.error("tenant", "must be 1 to 64 letters, digits, '.', '_' or '-'");
  }
  if (key.name.empty()) return entry.error("needs a name and key_sha256");
  if (!decode_digest(digest, key.sha256)) {
    return entry.error("key_sha256",
                       "must be 64 lower-case hex digits (outpost passwd --api-key makes a key)");
  }
  out.push_back(std::move(key));
  return {};
}

}  // namespace

Result<void> parse_submission(config::Table& section, SubmissionConfig& out) {
  CONFIG_TRY(section.string_list("listen", out.listen));
  CONFIG_TRY(
      section.integer("message_bytes_max", out.message_bytes_max, 1024, std::int64_t{1} << 40));
  CONFIG_TRY(section.integer("recipients_max", out.recipients_max, 1, 100'000));
  CONFIG_TRY(section.duration("idle_timeout", out.idle_timeout));
  CONFIG_TRY(section.boolean("starttls", out.starttls));
  CONFIG_TRY(section.string_list("tls_listen", out.tls_listen));
  CONFIG_TRY(section.string_list("trusted_networks", out.trusted_networks));
  CONFIG_TRY(section.string_list("auth", out.auth_mechanisms));
  CONFIG_TRY(section.boolean("auth_without_tls", out.auth_without_tls));
  CONFIG_TRY(read_rate(section, "rate_per_ip", out.rate_per_ip));
  CONFIG_TRY(read_rate(section, "rate_per_user", out.rate_per_user));
  CONFIG_TRY(parse_mechanisms(section, out.auth_mechanisms));
  CONFIG_TRY(
      section.each("user", [&](config::Table& entry) { return parse_user(entry, out.users); }));
  CONFIG_TRY(engine::parse_limit_overrides(section, out.limits));
  return section.no_unknown_keys();
}

Result<void> parse_http(config::Table& section, HttpConfig& out) {
  CONFIG_TRY(section.string_list("listen", out.listen));
  CONFIG_TRY(section.string("admin_key", out.admin_key));
  CONFIG_TRY(section.integer("body_bytes_max", out.body_bytes_max, 1024, std::int64_t{1} << 34));
  CONFIG_TRY(section.each(
      "api_key", [&](config::Table& entry) { return parse_api_key(entry, out.api_keys); }));
  CONFIG_TRY(engine::parse_limit_overrides(section, out.limits));
  return section.no_unknown_keys();
}

Users load_users(const std::vector<SubmissionUser>& users) {
  Users loaded;
  for (const auto& user : users) {
    loaded.add(user.name, user.password_hash);
    if (!user.tenant.empty()) loaded.set_tenant(user.name, user.tenant);
  }
  return loaded;
}

}  // namespace mta::injection
