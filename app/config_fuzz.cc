// Fuzzes the whole configuration parse (base/config_reader.cc and every module's section
// parser, as app/config.cc composes them): never crashes, and every error names the file first,
// in the one form "FILE[:LINE]: ...", whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "app/config.h"
#include "base/assert.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = mta::app::parse_config(text, "fuzz.toml");
  if (!config) {
    MTA_ASSERT(config.error().detail.starts_with("fuzz.toml"));
    return 0;
  }
  MTA_ASSERT(config->locations.file_name() == "fuzz.toml");
  return 0;
}
