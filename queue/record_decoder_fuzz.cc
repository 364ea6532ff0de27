// Fuzz target for the envelope record decoder: arbitrary bytes must decode or fail cleanly,
// and whatever decodes must survive encode -> decode unchanged; a version 3 record must also
// re-encode to the same bytes (version 1 and 2 records re-encode as version 3).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/assert.h"
#include "queue/envelope.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  mta::Result<mta::queue::Envelope> decoded = mta::queue::decode_envelope(bytes);
  if (!decoded) return 0;
  // A successful decode is within the bounds, so encoding it cannot assert.
  MTA_ASSERT(mta::queue::validate_envelope(*decoded).has_value());
  const std::string encoded = mta::queue::encode_envelope(*decoded);
  // The encoding is canonical: there is exactly one version 3 byte string per envelope.
  if (bytes[0] == static_cast<char>(mta::queue::envelope_record_version)) {
    MTA_ASSERT(encoded == bytes);
  } else if (bytes[0] == 2) {
    MTA_ASSERT(decoded->tenant.empty() && decoded->campaign.empty() && decoded->pool.empty());
  } else {
    MTA_ASSERT(bytes[0] == 1);
    MTA_ASSERT(decoded->part == 0);
  }
  mta::Result<mta::queue::Envelope> again = mta::queue::decode_envelope(encoded);
  MTA_ASSERT(again.has_value());
  MTA_ASSERT(*again == *decoded);
  return 0;
}
