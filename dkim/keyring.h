// Signing keys per domain and selector, loaded once at start (and again on reload: load_keys
// is a plain function the daemon calls again and swaps the result in), and the choice of
// signers for a message by its From domain, with a configurable fallback domain.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "dkim/signer.h"

namespace mta::dkim {

// One [[dkim]] entry of the configuration.
struct KeyConfig {
  std::string domain;
  std::string selector;
  std::string key_path;                // PEM file
  std::optional<Algorithm> algorithm;  // checked against the key when given
  std::vector<std::string> headers;    // empty: default_signed_headers()
};

struct KeyRingPolicy {
  // Signs mail whose From domain has no key (e.g. the platform's own domain). Empty: such mail
  // goes out unsigned.
  std::string fallback_domain;
  // Also signs every message with this domain's keys, next to the author domain's (the
  // "platform signature" of an ESP). Empty: none.
  std::string platform_domain;
};

// Immutable after loading; shards share one by const reference.
class KeyRing {
 public:
  explicit KeyRing(KeyRingPolicy policy = {}) : policy_(std::move(policy)) {}

  void add(SignerConfig signer);
  const std::vector<SignerConfig>& signers() const { return signers_; }
  const KeyRingPolicy& policy() const { return policy_; }

  // The signers for a From domain: every key of that domain, else of its closest parent
  // domain with keys (DMARC relaxed alignment), else the fallback domain's; plus the platform
  // domain's keys when different. Several keys of one domain (RSA and Ed25519) all sign.
  std::vector<const SignerConfig*> signers_for(std::string_view from_domain) const;

 private:
  std::vector<const SignerConfig*> keys_of(std::string_view domain) const;

  KeyRingPolicy policy_;
  std::vector<SignerConfig> signers_;
};

// Reads and parses every key file. Fails on the first unreadable or unusable key, naming it,
// so a bad reload leaves the old KeyRing in service.
Result<KeyRing> load_keys(std::span<const KeyConfig> keys, KeyRingPolicy policy = {});

// The DKIM-Signature fields to prepend to message (CRLF text), one per signer chosen by
// signers_for(From domain), or "" when no key applies.
Result<std::string> sign_message(const KeyRing& ring, std::string_view message,
                                 std::chrono::system_clock::time_point now);

}  // namespace mta::dkim
