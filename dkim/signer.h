// DKIM signing (RFC 6376 §5, RFC 8463): builds the DKIM-Signature field for a message. Pure:
// the time is an argument, the key a prepared PrivateKey. The work splits into prepare (parse,
// canonicalize, hash, build the field) and the private-key operation, so each can be measured.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "dkim/canon.h"
#include "dkim/crypto.h"

namespace mta::dkim {

// RFC 6376 §5.4.1's list of fields to sign, lowercased, plus the list and feedback fields bulk
// senders need covered (List-Unsubscribe-Post for RFC 8058 one-click, Feedback-ID).
const std::vector<std::string>& default_signed_headers();

struct SignerConfig {
  std::string domain;    // d=
  std::string selector;  // s=
  PrivateKey key;
  Canon header_canon = Canon::relaxed;
  Canon body_canon = Canon::relaxed;
  // Field names to sign; empty means default_signed_headers(). Each name is listed in h= once
  // per occurrence in the message (bottom-up selection covers duplicates); absent names are
  // left out, except the oversigned ones.
  std::vector<std::string> headers;
  // Names listed in h= once more than the message has them, so a verifier rejects a copy added
  // later (§8.15). From is required by DMARC-minded receivers to be over-signed.
  std::vector<std::string> oversigned = {"from"};
  std::optional<std::chrono::seconds> expire_after;  // x= = t= + this
  std::string identity;                              // i=; empty leaves it out
};

// The signature field before the private-key operation: the folded text ending in "b=" and
// the digest b= will sign.
struct UnsignedSignature {
  std::string field;
  Digest digest;
};

// Everything but the private-key operation. message is CRLF text: header block, empty line,
// body. Fails on a malformed header block or a message without From.
Result<UnsignedSignature> prepare_signature(const SignerConfig& config, std::string_view message,
                                            std::chrono::system_clock::time_point now);

// The private-key operation: appends the folded b= value and the final CRLF.
Result<std::string> finish_signature(const PrivateKey& key, UnsignedSignature prepared);

// Returns the complete "DKIM-Signature: ...\r\n" field (folded at 78 columns) to prepend.
Result<std::string> sign(const SignerConfig& config, std::string_view message,
                         std::chrono::system_clock::time_point now);

// Signs with a field written by someone else: field is a full "DKIM-Signature: ..." field
// ending in "b=" (no CRLF) whose a=, c=, h= and bh= are used as written. bh= must match the
// body. This reproduces published signatures (RFC 8463 Appendix A) to the byte.
Result<std::string> sign_with_field(const PrivateKey& key, std::string_view message,
                                    std::string_view field);

}  // namespace mta::dkim
