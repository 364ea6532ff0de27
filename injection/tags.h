// Tenant, campaign, class and pool of a message (issue 11): read from X-Outpost-* header fields
// at intake (and removed there, before the message is traced, signed and stored, so receivers
// never see them) or given by the HTTP API; validated here. Pure; the Injector applies them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "queue/envelope.h"

namespace mta::injection {

// What a message says about itself; unset = not said (the tenant's defaults apply).
struct Tags {
  std::optional<std::string> tenant;                 // X-Outpost-Tenant, API "tenant"
  std::optional<std::string> campaign;               // X-Outpost-Campaign, API "campaign"
  std::optional<queue::TrafficClass> traffic_class;  // X-Outpost-Class, API "class"
  std::optional<std::string> pool;                   // X-Outpost-Pool, API "pool"
};

// A tenant, campaign or pool name: 1 to queue::tag_bytes_max (64) bytes of letters, digits,
// '.', '_' and '-' (safe in logs, metric labels and the schedule index).
bool valid_tag(std::string_view value);
// "transactional" or "bulk" (any case).
std::optional<queue::TrafficClass> parse_traffic_class(std::string_view text);

// Removes every X-Outpost-Tenant, -Campaign, -Class and -Pool field (with its folded
// continuation lines) from the header section of `message` (CRLF or LF lines; field names in
// any case) and sets `tags` from their values, white space trimmed and unfolded. Returns what
// is wrong when a value is not valid or a field appears twice with different values (then
// `message` may have lost some fields: the caller refuses it).
std::optional<std::string> take_tag_fields(std::string& message, Tags& tags);

}  // namespace mta::injection
