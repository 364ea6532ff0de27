// DKIM verification (RFC 6376 §6): checks every DKIM-Signature of a message against keys from
// a lookup function (DNS in the daemon, fixed records in tests and on the command line).
// Pure: the time is an argument; the lookup is the only way out.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "dkim/crypto.h"

namespace mta::dkim {

struct VerifyResult {
  std::string domain;                  // d=, empty when the field did not parse
  std::string selector;                // s=
  std::optional<Algorithm> algorithm;  // a=, when known
  bool pass = false;
  std::string reason;  // why it failed: "body hash mismatch", "signature mismatch", ...
};

// Returns the TXT record text for selector._domainkey.domain, or an error that becomes the
// failure reason.
using KeyLookup =
    std::function<Result<std::string>(std::string_view domain, std::string_view selector)>;

// One result per DKIM-Signature field, top to bottom. now is compared with x=.
std::vector<VerifyResult> verify(std::string_view message, const KeyLookup& lookup,
                                 std::chrono::system_clock::time_point now);

// A lookup that answers every query with one record (the key given directly).
KeyLookup fixed_key(std::string record);

}  // namespace mta::dkim
