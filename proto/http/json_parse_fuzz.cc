// Fuzzes parse_json with a round trip: text that parses is written back with JsonWriter and
// must parse again to an equal value, and writing that gives the same canonical text. The
// input is also written as a JSON string, which must parse back to the input (or, where the
// input is not UTF-8, to text carrying U+FFFD).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/assert.h"
#include "proto/http/json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const mta::Result<mta::http::JsonValue> parsed = mta::http::parse_json(text);
  if (parsed) {
    const std::string canonical = mta::http::to_json(*parsed);
    const mta::Result<mta::http::JsonValue> again = mta::http::parse_json(canonical);
    MTA_ASSERT(again.has_value());
    MTA_ASSERT(*again == *parsed);
    MTA_ASSERT(mta::http::to_json(*again) == canonical);
  } else {
    MTA_ASSERT(parsed.error().detail.size() > 0);
  }

  mta::http::JsonWriter writer;
  writer.value(text);
  const mta::Result<mta::http::JsonValue> string = mta::http::parse_json(writer.str());
  MTA_ASSERT(string.has_value());
  MTA_ASSERT(string->is_string());
  MTA_ASSERT(string->as_string() == text ||
             string->as_string().find("\xef\xbf\xbd") != std::string::npos);
  return 0;
}
