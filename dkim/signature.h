// The DKIM-Signature field (RFC 6376 §3.5) and the DNS key record (§3.6.1, RFC 8463 §4) as
// typed values, plus the two hashes both sides compute: the body hash (bh=) and the digest of
// the selected headers and the signature field itself (what b= signs).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "dkim/canon.h"
#include "dkim/crypto.h"
#include "dkim/message.h"

namespace mta::dkim {

inline constexpr std::string_view signature_field_name = "DKIM-Signature";

struct Signature {
  Algorithm algorithm = Algorithm::rsa_sha256;
  Canon header_canon = Canon::simple;
  Canon body_canon = Canon::simple;
  std::string domain;                        // d=
  std::string selector;                      // s=
  std::string identity;                      // i=, "@" + d= when absent
  std::vector<std::string> headers;          // h=, lowercased, in order
  std::string body_hash;                     // bh=, decoded
  std::string signature;                     // b=, decoded
  std::optional<std::int64_t> timestamp;     // t=
  std::optional<std::int64_t> expiration;    // x=
  std::optional<std::uint64_t> body_length;  // l=
};

// Parses the value of a DKIM-Signature field (the text after the colon). Checks what §6.1.1
// requires: v=1, the mandatory tags, From in h=, i= within d=, x= after t=. An unknown a= is
// malformed_signature with the detail "unsupported algorithm ...".
Result<Signature> parse_signature(std::string_view value);

struct KeyRecord {
  Algorithm algorithm = Algorithm::rsa_sha256;  // from k= (rsa when absent)
  std::string public_key;                       // p=, decoded; empty means revoked
  bool testing = false;                         // t=y
  bool strict_identity = false;                 // t=s: i= must be exactly d=
};

// Parses a DNS TXT key record, "v=DKIM1; k=rsa; p=...". Unknown tags are ignored (§3.6.1); an
// unknown k=, an h= without sha256 or an s= without email or * is an error.
Result<KeyRecord> parse_key_record(std::string_view text);

// bh=: SHA-256 of the canonical body, streamed in chunks, never holding a canonical copy.
// length_max hashes only that many canonical bytes (the verifier's l=); nullopt is all.
Digest body_hash(Canon canon, std::string_view body,
                 std::optional<std::uint64_t> length_max = std::nullopt);

// What b= signs (§3.7): SHA-256 over the canonical selected fields, in h= order (a missing
// field contributes nothing), then the canonical signature field with the b= value deleted
// and without its final CRLF. signature_raw is that field as HeaderField::raw has it.
Digest header_digest(Canon canon, const std::vector<const HeaderField*>& selected,
                     std::string_view signature_raw);

// signature_raw with everything between "b=" and the next ';' (or the end) removed.
std::string strip_b_value(std::string_view signature_raw);

}  // namespace mta::dkim
