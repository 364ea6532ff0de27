// DKIM verifier. Body hashes are computed once per (canonicalization, l=) pair, so an RSA and
// an Ed25519 signature over the same 10 MiB body canonicalize it once.
#include "dkim/verifier.h"

#include <map>

#include "dkim/errc.h"
#include "dkim/message.h"
#include "dkim/signature.h"

namespace mta::dkim {
namespace {

// RFC 8301 §3.2: verifiers MUST NOT consider signatures using RSA keys of less than 1024 bits.
constexpr int rsa_verify_bits_min = 1024;

std::string_view digest_view(const Digest& digest) {
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

}  // namespace

KeyLookup fixed_key(std::string record) {
  return [record = std::move(record)](std::string_view, std::string_view) -> Result<std::string> {
    return record;
  };
}

std::vector<VerifyResult> verify(std::string_view message, const KeyLookup& lookup,
                                 std::chrono::system_clock::time_point now) {
  std::vector<VerifyResult> results;
  auto parsed = parse_message(message);
  if (!parsed) {
    results.push_back(VerifyResult{{}, {}, {}, false, parsed.error().message()});
    return results;
  }
  const auto now_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  std::map<std::pair<Canon, std::uint64_t>, Digest> body_hashes;

  for (const HeaderField& field : parsed->headers) {
    if (!iequals(field.name, signature_field_name)) continue;
    VerifyResult& result = results.emplace_back();
    auto sig = parse_signature(field.raw.substr(field.raw.find(':') + 1));
    if (!sig) {
      result.reason = "malformed signature: " + sig.error().detail;
      continue;
    }
    result.domain = sig->domain;
    result.selector = sig->selector;
    result.algorithm = sig->algorithm;
    if (sig->expiration && *sig->expiration < now_seconds) {
      result.reason = "signature expired";
      continue;
    }
    auto record_text = lookup(sig->domain, sig->selector);
    if (!record_text) {
      result.reason = "no key (" + record_text.error().message() + ")";
      continue;
    }
    auto record = parse_key_record(*record_text);
    if (!record) {
      result.reason = "bad key record: " + record.error().detail;
      continue;
    }
    if (record->public_key.empty()) {
      result.reason = "key revoked";
      continue;
    }
    if (record->algorithm != sig->algorithm) {
      result.reason = "key type does not match a=";
      continue;
    }
    if (record->strict_identity) {
      const std::string_view id = sig->identity;
      if (!iequals(id.substr(id.rfind('@') + 1), sig->domain)) {
        result.reason = "key requires i= domain to equal d= (t=s)";
        continue;
      }
    }
    auto key = PublicKey::from_record_key(record->algorithm, record->public_key);
    if (!key) {
      result.reason = "bad key: " + key.error().detail;
      continue;
    }
    if (key->algorithm() == Algorithm::rsa_sha256 && key->bits() < rsa_verify_bits_min) {
      result.reason = "RSA key shorter than 1024 bits";
      continue;
    }
    const std::pair<Canon, std::uint64_t> body_key{sig->body_canon,
                                                   sig->body_length.value_or(UINT64_MAX)};
    auto cached = body_hashes.find(body_key);
    if (cached == body_hashes.end()) {
      cached =
          body_hashes.emplace(body_key, body_hash(sig->body_canon, parsed->body, sig->body_length))
              .first;
    }
    if (digest_view(cached->second) != sig->body_hash) {
      result.reason = "body hash mismatch";
      continue;
    }
    const auto selected = select_headers(parsed->headers, sig->headers);
    const Digest digest = header_digest(sig->header_canon, selected, field.raw);
    if (!key->verify_digest(digest, sig->signature)) {
      result.reason = "signature mismatch";
      continue;
    }
    result.pass = true;
  }
  return results;
}

}  // namespace mta::dkim
