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

// In queue/envelope.h since the configuration's delivery sections check tags too.
using queue::parse_traffic_class;
using queue::valid_tag;

// Removes every X-Outpost-Tenant, -Campaign, -Class and -Pool field (with its folded
// continuation lines) from the header section of `message` (CRLF or LF lines; field names in
// any case) and sets `tags` from their values, white space trimmed and unfolded. Returns what
// is wrong when a value is not valid or a field appears twice with different values (then
// `message` may have lost some fields: the caller refuses it).
std::optional<std::string> take_tag_fields(std::string& message, Tags& tags);

}  // namespace mta::injection
