// libFuzzer target for ResponseRules::parse and match. Whatever the bytes: parsing either fails
// or gives rules whose actions are sane (every rule acts, positive durations), and matching the
// input's own text against them is repeatable.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/assert.h"
#include "delivery/response_rules.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mta::delivery;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto rules = ResponseRules::parse(input);
  if (!rules) return 0;
  const std::string_view text = input.substr(0, 256);
  for (int code : {0, 250, 421, 451, 550}) {
    const ResponseRule* first = rules->match(code, text);
    MTA_ASSERT(first == rules->match(code, text));
    if (first == nullptr) continue;
    const ResponseAction& action = first->action;
    MTA_ASSERT(action.suspend.count() > 0 || action.throttles());
    MTA_ASSERT(action.recover.count() > 0);
    MTA_ASSERT(action.messages_per_second >= 0);
  }
  return 0;
}
