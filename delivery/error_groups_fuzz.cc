// libFuzzer target for normalize_reply and ErrorGroups::add, which take a remote server's reply
// text. Whatever the bytes: the normalized text is bounded, normalizing is repeatable, and
// grouping keeps its caps.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/assert.h"
#include "delivery/error_groups.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mta::delivery;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string normalized = normalize_reply(input);
  MTA_ASSERT(normalized.size() <= 300);
  MTA_ASSERT(normalized == normalize_reply(input));
  ErrorGroups groups(4, 2);
  const mta::Clock::WallTime at{};
  for (std::size_t i = 0; i < input.size() && i < 64; i += 8) {
    groups.add(input.substr(i, 8), i % 16 == 0, input.substr(i), at + std::chrono::seconds(i));
  }
  MTA_ASSERT(groups.size() <= 4);
  for (const ErrorGroup& group : groups.snapshot(10)) MTA_ASSERT(group.count >= 1);
  return 0;
}
