// Fuzzes summarize_message: any bytes must parse or fail cleanly, and a message that parses must
// parse to the same result again with trailing garbage (the reader never looks past what the
// counts describe).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/assert.h"
#include "dns/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto first = mta::dns::summarize_message(bytes);
  if (!first.has_value()) return 0;
  const auto again = mta::dns::summarize_message(std::string(bytes) + "trailing");
  MTA_ASSERT(again.has_value());
  MTA_ASSERT(again->rcode == first->rcode);
  MTA_ASSERT(again->answer_ttl == first->answer_ttl);
  MTA_ASSERT(again->negative_ttl == first->negative_ttl);
  MTA_ASSERT(again->cname_target == first->cname_target);
  MTA_ASSERT(first->question.size() <= 255);
  return 0;
}
