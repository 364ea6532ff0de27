// Fuzz target for the envelope record decoder: arbitrary bytes must decode or fail cleanly,
// and whatever decodes must survive encode -> decode unchanged and re-encode to the same bytes.
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
  // The encoding is canonical: there is exactly one byte string per envelope.
  MTA_ASSERT(encoded == bytes);
  mta::Result<mta::queue::Envelope> again = mta::queue::decode_envelope(encoded);
  MTA_ASSERT(again.has_value());
  MTA_ASSERT(*again == *decoded);
  return 0;
}
