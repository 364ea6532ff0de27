// libFuzzer target for Template. A parse error must name an offset inside the input. A parsed
// template must round-trip: rendering every placeholder back as "{{name}}" gives text that
// parses to the same names and the same literal text, and rendering every value as "" gives
// only the literals. Rendering with no values either uses every default or fails naming one
// of the template's placeholders.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/assert.h"
#include "base/concat.h"
#include "proto/mime/errc.h"
#include "proto/mime/template.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto parsed = mta::mime::Template::parse(input);
  if (!parsed) {
    MTA_ASSERT(parsed.error().detail.starts_with("at byte "));
    return 0;
  }
  const std::vector<std::string> names = parsed->names();
  auto empty = [](std::string_view) { return std::optional<std::string_view>(""); };
  auto literals = parsed->render(empty);
  MTA_ASSERT(literals.has_value());
  MTA_ASSERT(literals->size() <= input.size());

  auto none = [](std::string_view) -> std::optional<std::string_view> { return std::nullopt; };
  auto defaulted = parsed->render(none);
  if (defaulted) {
    MTA_ASSERT(defaulted->size() <= input.size());
  } else {
    MTA_ASSERT(defaulted.error().code ==
               mta::mime::make_error_code(mta::mime::Errc::template_value_missing));
    MTA_ASSERT(std::find(names.begin(), names.end(), defaulted.error().detail) != names.end());
  }

  std::string braces;  // "{{name}}" storage for the lookup below
  auto canonical = parsed->render([&](std::string_view name) {
    braces = mta::concat({"{{", name, "}}"});
    return std::optional<std::string_view>(braces);
  });
  MTA_ASSERT(canonical.has_value());
  auto reparsed = mta::mime::Template::parse(*canonical);
  MTA_ASSERT(reparsed.has_value());
  MTA_ASSERT(reparsed->names() == names);
  auto reparsed_literals = reparsed->render(empty);
  MTA_ASSERT(reparsed_literals.has_value());
  MTA_ASSERT(*reparsed_literals == *literals);
  for (const std::string& name : names) {
    MTA_ASSERT(!name.empty());
    MTA_ASSERT(name.size() <= mta::mime::kTemplateNameBytesMax);
  }
  return 0;
}
