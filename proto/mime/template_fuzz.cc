// libFuzzer target for Template. A parse error must name an offset inside the input. A parsed
// template must round-trip: rendering every placeholder back as "{{name}}" gives text that
// parses to the same names and the same literal text, and rendering with no values gives only
// the literals.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/assert.h"
#include "base/concat.h"
#include "proto/mime/template.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto parsed = mta::mime::Template::parse(input);
  if (!parsed) {
    MTA_ASSERT(parsed.error().detail.starts_with("at byte "));
    return 0;
  }
  auto none = [](std::string_view) -> std::optional<std::string_view> { return std::nullopt; };
  std::string literals = parsed->render(none);
  MTA_ASSERT(literals.size() <= input.size());

  std::string braces;  // "{{name}}" storage for the lookup below
  std::string canonical = parsed->render([&](std::string_view name) {
    braces = mta::concat({"{{", name, "}}"});
    return std::optional<std::string_view>(braces);
  });
  auto reparsed = mta::mime::Template::parse(canonical);
  MTA_ASSERT(reparsed.has_value());
  MTA_ASSERT(reparsed->names() == parsed->names());
  MTA_ASSERT(reparsed->render(none) == literals);
  for (const std::string& name : parsed->names()) {
    MTA_ASSERT(!name.empty());
    MTA_ASSERT(name.size() <= mta::mime::kTemplateNameBytesMax);
  }
  return 0;
}
