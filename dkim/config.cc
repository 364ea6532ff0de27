#include "dkim/config.h"

namespace mta::dkim {
namespace {

Result<void> parse_key(config::Table& entry, std::vector<SigningKeyConfig>& out) {
  SigningKeyConfig key;
  CONFIG_TRY(entry.string("domain", key.domain));
  CONFIG_TRY(entry.string("selector", key.selector));
  CONFIG_TRY(entry.string("key", key.key_path));
  CONFIG_TRY(entry.string("algorithm", key.algorithm));
  CONFIG_TRY(entry.string_list("headers", key.headers));
  CONFIG_TRY(entry.string("role", key.role));
  CONFIG_TRY(entry.no_unknown_keys());
  if (key.domain.empty() || key.selector.empty() || key.key_path.empty()) {
    return entry.error("needs domain, selector and key");
  }
  if (key.algorithm != "" && key.algorithm != "rsa-sha256" && key.algorithm != "ed25519-sha256") {
    return entry.error("algorithm", "must be \"rsa-sha256\" or \"ed25519-sha256\"");
  }
  if (key.role != "author" && key.role != "fallback" && key.role != "platform") {
    return entry.error("role", "must be \"author\", \"fallback\" or \"platform\"");
  }
  out.push_back(std::move(key));
  return {};
}

}  // namespace

Result<void> parse_signing_keys(const config::Document& file, std::vector<SigningKeyConfig>& out) {
  return file.each("dkim", [&](config::Table& entry) { return parse_key(entry, out); });
}

Result<std::optional<KeyRing>> load_signing_keys(const std::vector<SigningKeyConfig>& keys,
                                                 const config::Locations& locations) {
  if (keys.empty()) return std::optional<KeyRing>();
  KeyRingPolicy policy;
  for (const auto& key : keys) {
    if (key.role == "fallback") policy.fallback_domain = key.domain;
    if (key.role == "platform") policy.platform_domain = key.domain;
  }
  KeyRing ring(policy);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const SigningKeyConfig& key = keys[i];
    const std::string at = "dkim[" + std::to_string(i) + "]";
    KeyConfig entry{.domain = key.domain,
                    .selector = key.selector,
                    .key_path = key.key_path,
                    .algorithm = std::nullopt,
                    .headers = key.headers};
    if (!key.algorithm.empty()) {
      auto algorithm = parse_algorithm(key.algorithm);
      if (!algorithm) return locations.error(at + ".algorithm", algorithm.error().message());
      entry.algorithm = *algorithm;
    }
    // One key at a time, so a failure names its entry.
    auto one = load_keys(std::span<const KeyConfig>(&entry, 1));
    if (!one) return locations.error(at + ".key", one.error().detail);
    for (const SignerConfig& signer : one->signers()) ring.add(signer);
  }
  return std::optional<KeyRing>(std::move(ring));
}

}  // namespace mta::dkim
