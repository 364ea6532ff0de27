// Key loading and signer choice. Files are read with std::ifstream: this runs at start and
// reload on the control path, never on a shard's data path.
#include "dkim/keyring.h"

#include <fstream>
#include <iterator>

#include "dkim/errc.h"
#include "dkim/message.h"

namespace mta::dkim {

void KeyRing::add(SignerConfig signer) {
  signer.domain = ascii_lowercase(signer.domain);
  signers_.push_back(std::move(signer));
}

std::vector<const SignerConfig*> KeyRing::keys_of(std::string_view domain) const {
  std::vector<const SignerConfig*> found;
  for (const SignerConfig& signer : signers_) {
    if (iequals(signer.domain, domain)) found.push_back(&signer);
  }
  return found;
}

std::vector<const SignerConfig*> KeyRing::signers_for(std::string_view from_domain) const {
  std::vector<const SignerConfig*> chosen;
  std::string_view domain = from_domain;
  while (!domain.empty() && chosen.empty()) {
    chosen = keys_of(domain);
    const std::size_t dot = domain.find('.');
    if (dot == std::string_view::npos) break;
    domain.remove_prefix(dot + 1);
    if (domain.find('.') == std::string_view::npos) break;  // never a bare TLD
  }
  if (chosen.empty() && !policy_.fallback_domain.empty()) chosen = keys_of(policy_.fallback_domain);
  if (!policy_.platform_domain.empty()) {
    const bool already =
        !chosen.empty() && iequals(chosen.front()->domain, policy_.platform_domain);
    if (!already) {
      for (const SignerConfig* signer : keys_of(policy_.platform_domain)) chosen.push_back(signer);
    }
  }
  return chosen;
}

Result<KeyRing> load_keys(std::span<const KeyConfig> keys, KeyRingPolicy policy) {
  KeyRing ring(std::move(policy));
  for (const KeyConfig& config : keys) {
    const std::string name = config.selector + "._domainkey." + config.domain;
    std::ifstream in(config.key_path, std::ios::binary);
    if (!in) return unexpected(Errc::io_error, name + ": cannot open " + config.key_path);
    const std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto key = PrivateKey::from_pem(pem);
    if (!key) return unexpected(key.error().code, name + ": " + key.error().message());
    if (config.algorithm && *config.algorithm != key->algorithm()) {
      return unexpected(Errc::algorithm_mismatch,
                        name + ": configured " + std::string(algorithm_name(*config.algorithm)) +
                            " but the key is " + std::string(algorithm_name(key->algorithm())));
    }
    SignerConfig signer{config.domain, config.selector, std::move(*key)};
    signer.headers = config.headers;
    ring.add(std::move(signer));
  }
  return ring;
}

Result<std::string> sign_message(const KeyRing& ring, std::string_view message,
                                 std::chrono::system_clock::time_point now) {
  auto parsed = parse_message(message);
  if (!parsed) return unexpected(parsed.error());
  std::string fields;
  for (const SignerConfig* signer : ring.signers_for(from_domain(*parsed))) {
    auto field = sign(*signer, message, now);
    if (!field) return unexpected(field.error());
    fields += *field;
  }
  return fields;
}

}  // namespace mta::dkim
