// What the adapter needs from a raw DNS message (RFC 1035 §4.1) that c-ares does not give:
// the TTLs (ares_parse_mx_reply drops them), the RFC 2308 negative TTL from the SOA, and
// where the answer's CNAME chain ends, so a chain the server left unfinished can be followed.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace mta::dns {

struct MessageSummary {
  std::uint8_t rcode = 0;  // 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED
  std::string question;    // lower case, no trailing dot; "" without a question
  std::uint16_t question_type = 0;
  std::uint16_t answer_count = 0;
  std::size_t answers_of_question_type = 0;  // e.g. the MX records of an MX query
  // Smallest TTL over every answer record: the records asked for and the CNAMEs leading to
  // them all bound how long the answer holds. nullopt when the answer section is empty.
  std::optional<std::chrono::seconds> answer_ttl;
  // RFC 2308 §5: a negative answer is cached for min(SOA TTL, SOA MINIMUM) of the SOA in the
  // authority section. nullopt when there is no SOA there.
  std::optional<std::chrono::seconds> negative_ttl;
  // The name the answer's CNAME chain leads to from the question (RFC 1034 §3.6.2), "" when
  // the question name has no CNAME. Chains longer than 16 links stop at the 16th.
  std::string cname_target;
};

// Errc::malformed_message when the message is truncated, a name does not parse or compression
// pointers loop; never reads outside `message`.
Result<MessageSummary> summarize_message(std::string_view message);

}  // namespace mta::dns
