// libFuzzer target for ReplyParser. The input is fed in chunks whose sizes come from the input
// itself, and then again in one piece and one byte at a time: all three runs must produce the
// same replies and the same error (a differential check, STYLE.md §7).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "base/assert.h"
#include "proto/smtp/reply.h"

namespace {

struct Outcome {
  std::vector<mta::smtp::Reply> replies;
  std::optional<int> error;
  bool operator==(const Outcome&) const = default;
};

// Feeds `input` in pieces of the lengths produced by `next_size`.
template <typename NextSize>
Outcome parse(std::string_view input, NextSize next_size) {
  // Small limits so the limit paths are reachable by the fuzzer.
  mta::smtp::ReplyParser parser(mta::smtp::ReplyLimits{64, 8});
  Outcome out;
  while (!input.empty()) {
    std::size_t size = std::min(next_size(), input.size());
    mta::Result<void> fed = parser.feed(input.substr(0, size));
    input.remove_prefix(size);
    while (auto reply = parser.next()) {
      MTA_ASSERT(reply->code >= 200 && reply->code <= 599);
      MTA_ASSERT(!reply->lines.empty());
      MTA_ASSERT(reply->lines.size() <= 8);
      out.replies.push_back(std::move(*reply));
    }
    if (!fed) {
      out.error = fed.error().code.value();
      break;
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  Outcome whole = parse(input, [&] { return input.size(); });
  Outcome bytewise = parse(input, [] { return std::size_t{1}; });
  // Chunk sizes 1..16 derived from the data, so different inputs split differently.
  std::size_t i = 0;
  Outcome chunked = parse(input, [&] {
    std::size_t n = size == 0 ? 1 : (static_cast<std::size_t>(data[i % size]) % 16) + 1;
    ++i;
    return n;
  });
  MTA_ASSERT(whole == bytewise);
  MTA_ASSERT(whole == chunked);
  return 0;
}
