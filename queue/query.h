// Queue queries for operators (`outpost queue`, the admin API): which parts a filter selects,
// and the summary of a scan (parts and recipients per state, per destination). Pure: the
// caller feeds envelopes from Store::for_each_envelope_from, in as many slices as it likes.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/result.h"
#include "base/strong_id.h"
#include "queue/envelope.h"

namespace mta::queue {

inline constexpr std::array<std::string_view, 5> recipient_state_names = {
    "pending", "delivered", "deferred", "bounced", "suppressed"};
inline std::string_view name_of(RecipientState state) {
  return recipient_state_names[static_cast<std::size_t>(state)];
}

// Every field that is set must match; an empty filter selects everything.
struct QueueFilter {
  std::optional<MessageId> id;
  std::string destination;  // exact, case-insensitive
  // An address (case-insensitive), "@domain" for every sender of that domain, or "<>" for the
  // null sender (bounces).
  std::string sender;
  std::string recipient;  // a recipient address of the part, case-insensitive

  bool empty() const { return !id && destination.empty() && sender.empty() && recipient.empty(); }
};

bool matches(const QueueFilter& filter, const Envelope& envelope);

// Parses a message id as `outpost queue list` prints it: 16 hex digits, optionally followed by
// ".part" (the part is ignored: a message id names every part).
Result<MessageId> parse_message_id(std::string_view text);

struct QueueCounts {
  std::uint64_t parts = 0;
  std::array<std::uint64_t, 5> recipients{};  // by RecipientState
  Clock::WallTime oldest{};                   // earliest received_at; meaningful if parts > 0
  std::uint64_t quarantined = 0;              // parts held by the crash-loop breaker

  void add(const Envelope& envelope);
};

struct QueueSummary {
  QueueCounts total;
  std::map<std::string, QueueCounts> by_destination;

  void add(const Envelope& envelope) {
    total.add(envelope);
    by_destination[envelope.destination].add(envelope);
  }
};

}  // namespace mta::queue
