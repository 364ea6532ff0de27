// libFuzzer target for parse_smarthosts and the route matcher. Whatever the bytes: a parsed
// list has at least one host when the text is not empty, each with a port, numeric hosts with
// an address and never an MX lookup; parsing is repeatable; a valid pattern matches its own domain
// ahead of less specific ones.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/assert.h"
#include "delivery/smarthost.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mta::delivery;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto list = parse_smarthosts(input);
  if (list) {
    MTA_ASSERT(input.empty() == list->hosts.empty());
    for (const Smarthost& host : list->hosts) {
      MTA_ASSERT(host.port != 0);
      MTA_ASSERT(!host.address || !host.mx_lookup);
      MTA_ASSERT(!host.host.empty());
    }
    auto again = parse_smarthosts(input);
    MTA_ASSERT(again && again->hosts == list->hosts);
  }
  const std::string pattern(input.substr(0, input.find('\n')));
  if (valid_route_pattern(pattern)) {
    const std::vector<std::string> patterns{pattern, "example.com", ".example.com"};
    const std::string domain = pattern.starts_with('.') ? "x" + pattern : pattern;
    const auto match = match_route(patterns, domain);
    // The pattern itself is at least as specific as the others, and comes first.
    MTA_ASSERT(match.has_value() && *match == 0);
  }
  return 0;
}
