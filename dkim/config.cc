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
  const std::string& name = entry.name();
  if (key.domain.empty() || key.selector.empty() || key.key_path.empty()) {
    return entry.error(name + " needs domain, selector and key");
  }
  if (key.algorithm != "" && key.algorithm != "rsa-sha256" && key.algorithm != "ed25519-sha256") {
    return entry.error("algorithm",
                       name + ".algorithm must be \"rsa-sha256\" or \"ed25519-sha256\"");
  }
  if (key.role != "author" && key.role != "fallback" && key.role != "platform") {
    return entry.error("role", name + ".role must be \"author\", \"fallback\" or \"platform\"");
  }
  out.push_back(std::move(key));
  return {};
}

}  // namespace

Result<void> parse_signing_keys(const config::Document& file, std::vector<SigningKeyConfig>& out) {
  return file.each("dkim", [&](config::Table& entry) { return parse_key(entry, out); });
}

}  // namespace mta::dkim
