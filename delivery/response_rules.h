// Response-driven shaping (issue 11, item 2): rules, kept as data, that match a receiver's
// reply (its code, and a piece of its text or enhanced code) and say how to back off: suspend
// the destination for a while, and/or throttle it (fewer connections, a lower message rate)
// and recover step by step. The defaults are delivery/response_rules.conf, embedded at build
// time; `[delivery] response_rules` names a file to use instead.
//
// One rule per line; '#' starts a comment:
//   NAME  CODE  "TEXT"  ACTION...
//   CODE    421, 4xx, 5xx or * (any code)
//   TEXT    matched case-insensitively anywhere in "ENHANCED TEXT" of the reply; "" = any
//   ACTION  suspend=DURATION  connections=N  rate=MESSAGES_PER_SECOND  recover=DURATION
// The first rule that matches applies. A throttle relaxes every `recover` (default 5m): one
// more connection and twice the rate, until the destination's own limits are back.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/result.h"

namespace mta::delivery {

struct ResponseAction {
  Clock::Duration suspend{};       // > 0: no new transaction for this long
  std::size_t connections = 0;     // > 0: at most this many connections while throttled
  double messages_per_second = 0;  // > 0: at most this rate while throttled
  Clock::Duration recover = std::chrono::minutes(5);
  bool throttles() const { return connections > 0 || messages_per_second > 0; }
};

struct ResponseRule {
  std::string name;
  int code = 0;        // exact code, or 0
  int code_class = 0;  // 4 or 5 for "4xx"/"5xx", or 0
  std::string text;    // lower case; empty matches any
  ResponseAction action;
};

class ResponseRules {
 public:
  ResponseRules() = default;
  // Fails with invalid_argument naming the line.
  static Result<ResponseRules> parse(std::string_view text);
  // The embedded default rules for the big mailbox providers and generic rate limits.
  static const ResponseRules& defaults();

  // The first rule matching reply `code` with `text` ("4.7.0 Try again later"), or nullptr.
  const ResponseRule* match(int code, std::string_view text) const;
  std::size_t size() const { return rules_.size(); }

 private:
  std::vector<ResponseRule> rules_;
};

}  // namespace mta::delivery
