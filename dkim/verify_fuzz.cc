// Fuzz target for the whole verifier over arbitrary messages: header splitting, DKIM-Signature
// parsing, header selection, canonicalization and hashing must fail cleanly on any input. The
// key is the RFC 8463 Appendix A Ed25519 key, so seeds signed with it reach the crypto step.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/assert.h"
#include "dkim/verifier.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  static const mta::dkim::KeyLookup lookup =
      mta::dkim::fixed_key("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  for (const mta::dkim::VerifyResult& result : mta::dkim::verify(message, lookup, {})) {
    MTA_ASSERT(result.pass == result.reason.empty());
  }
  return 0;
}
