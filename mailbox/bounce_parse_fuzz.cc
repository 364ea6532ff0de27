// libFuzzer target for parse_bounce with the default rules. Whatever the bytes: the report
// stays within its limits (recipients, diagnostic bytes), names only valid categories and
// actions, keeps delayed and delivered recipients soft, and gives the same report twice. The
// first byte picks small limits so the truncation paths are reached.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/assert.h"
#include "mailbox/bounce.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mta::mailbox;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  BounceContext context;
  context.bounce_domain = "bounces.outpost.example";
  context.envelope_recipients = {"bounce+0000019a2b3c4d5e+ann=example.com@bounces.outpost.example",
                                 std::string(input.substr(0, 128))};
  BounceLimits limits;
  if (size > 0 && (data[0] & 1) != 0) {
    limits.recipients_max = data[0] % 4;
    limits.diagnostic_bytes_max = data[0] % 64;
    limits.bytes_max = size / 2;
  }
  const BounceReport report = parse_bounce(input, context, Rules::default_rules(), limits);
  MTA_ASSERT(report.recipients.size() <= limits.recipients_max);
  MTA_ASSERT(report.bytes_truncated == (size > limits.bytes_max));
  for (const BounceRecipient& r : report.recipients) {
    MTA_ASSERT(static_cast<std::size_t>(r.category) < kCategoryCount);
    MTA_ASSERT(static_cast<std::size_t>(r.action) <= static_cast<std::size_t>(Action::expanded));
    MTA_ASSERT(r.diagnostic.size() <= limits.diagnostic_bytes_max);
    MTA_ASSERT(!(r.hard && r.action == Action::delayed));
    MTA_ASSERT(r.status.empty() || parse_status_code(r.status).has_value());
    if (r.action != Action::failed && r.action != Action::delayed) {
      MTA_ASSERT(r.category == Category::unknown || r.category == Category::complaint ||
                 r.category == Category::auto_reply);
    }
    (void)to_string(r.category);
  }
  MTA_ASSERT(report.complaint.has_value() == (report.kind == BounceKind::complaint));
  MTA_ASSERT(report.kind == BounceKind::not_bounce || report.kind == BounceKind::dsn ||
             report.kind == BounceKind::non_standard || report.kind == BounceKind::complaint ||
             report.kind == BounceKind::auto_reply);
  const BounceReport again = parse_bounce(input, context, Rules::default_rules(), limits);
  MTA_ASSERT(again.recipients.size() == report.recipients.size());
  MTA_ASSERT(again.original_message_id == report.original_message_id);
  return 0;
}
