// Fuzz target for canonicalization, checked differentially: the streaming body canonicalizer
// fed in two pieces (split where the first input byte says) equals the one-shot result, both
// forms are idempotent, and relaxed header canonicalization is idempotent.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/assert.h"
#include "dkim/canon.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const mta::dkim::Canon canon =
      (data[0] & 1) ? mta::dkim::Canon::relaxed : mta::dkim::Canon::simple;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string whole = mta::dkim::canonicalize_body(canon, input);
  const std::size_t split = input.empty() ? 0 : (data[0] >> 1) % (input.size() + 1);
  std::string pieces;
  mta::dkim::BodyCanonicalizer canonicalizer(canon);
  canonicalizer.update(input.substr(0, split), pieces);
  canonicalizer.update(input.substr(split), pieces);
  canonicalizer.finish(pieces);
  MTA_ASSERT(pieces == whole);
  MTA_ASSERT(mta::dkim::canonicalize_body(canon, whole) == whole);
  MTA_ASSERT(whole.empty() || whole.ends_with("\r\n"));

  std::string header;
  mta::dkim::canonicalize_header(canon, input, header);
  MTA_ASSERT(header.ends_with("\r\n"));
  if (canon == mta::dkim::Canon::relaxed) {
    std::string again;
    mta::dkim::canonicalize_header(canon, std::string_view(header).substr(0, header.size() - 2),
                                   again);
    MTA_ASSERT(again == header);
  }
  return 0;
}
