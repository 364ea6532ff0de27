// Fuzzes canonical_address: never crashes, a canonical form is a fixed point of itself, and
// suppression_key agrees on an address and its canonical form.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/assert.h"
#include "base/envelope_address.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto canonical = mta::canonical_address(text);
  const std::string key = mta::suppression_key(text);
  if (!canonical) return 0;
  MTA_ASSERT(canonical->size() <= text.size());
  auto again = mta::canonical_address(*canonical);
  MTA_ASSERT(again.has_value());
  MTA_ASSERT(*again == *canonical);
  MTA_ASSERT(mta::suppression_key(*canonical) == key);
  return 0;
}
