// Filters compare addresses case-insensitively: local parts are case-sensitive in theory
// (RFC 5321 2.4) but operators type them by hand and no mail system in practice relies on it.
#include "queue/query.h"

#include "queue/store.h"

#include <algorithm>
#include <cctype>

#include "queue/errc.h"

namespace mta::queue {
namespace {

bool same_text(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool sender_matches(std::string_view want, std::string_view sender) {
  if (want == "<>") return sender.empty();
  if (want.front() == '@') {
    const auto at = sender.rfind('@');
    return at != std::string_view::npos && same_text(sender.substr(at), want);
  }
  return same_text(sender, want);
}

}  // namespace

bool matches(const QueueFilter& filter, const Envelope& envelope) {
  if (filter.id && *filter.id != envelope.id) return false;
  if (!filter.destination.empty() && !same_text(filter.destination, envelope.destination)) {
    return false;
  }
  if (!filter.sender.empty() && !sender_matches(filter.sender, envelope.mail_from)) return false;
  if (!filter.recipient.empty()) {
    return std::any_of(envelope.recipients.begin(), envelope.recipients.end(),
                       [&](const Recipient& r) { return same_text(r.address, filter.recipient); });
  }
  return true;
}

Result<MessageId> parse_message_id(std::string_view text) {
  const auto dot = text.find('.');
  const std::string_view hex = text.substr(0, dot);
  if (hex.empty() || hex.size() > 16) {
    return unexpected(Errc::invalid_argument, "message id must be 1 to 16 hex digits");
  }
  std::uint64_t value = 0;
  for (char c : hex) {
    const int digit = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                      : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                      : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                                  : -1;
    if (digit < 0) return unexpected(Errc::invalid_argument, "message id must be hex");
    value = value << 4 | static_cast<std::uint64_t>(digit);
  }
  return MessageId(value);
}

void QueueCounts::add(const Envelope& envelope) {
  if (parts == 0 || envelope.received_at < oldest) oldest = envelope.received_at;
  ++parts;
  if (is_quarantined(envelope)) ++quarantined;
  for (const auto& recipient : envelope.recipients) {
    ++recipients[static_cast<std::size_t>(recipient.state)];
  }
}

}  // namespace mta::queue
