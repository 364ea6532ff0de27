// Fuzz target for the tag-list parser (RFC 6376 §3.2) and the DKIM-Signature parser on top of
// it: arbitrary bytes parse or fail cleanly; what parses re-serializes as "name=value;" and
// parses again to the same tags (round trip).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/assert.h"
#include "dkim/signature.h"
#include "dkim/tag_list.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)mta::dkim::parse_signature(text);
  auto tags = mta::dkim::parse_tag_list(text);
  if (!tags) return 0;
  std::string again;
  for (const mta::dkim::Tag& tag : *tags) {
    MTA_ASSERT(tag.name.data() >= text.data());
    MTA_ASSERT(tag.value.data() + tag.value.size() <= text.data() + text.size());
    again.append(tag.name).append("=").append(tag.value).append(";");
  }
  auto reparsed = mta::dkim::parse_tag_list(again);
  MTA_ASSERT(reparsed.has_value());
  MTA_ASSERT(reparsed->size() == tags->size());
  for (std::size_t i = 0; i < tags->size(); ++i) {
    MTA_ASSERT((*reparsed)[i].name == (*tags)[i].name);
    MTA_ASSERT((*reparsed)[i].value == (*tags)[i].value);
  }
  return 0;
}
