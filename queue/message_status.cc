// Merging a message's queued parts with its history records, and naming recipient states.
#include "queue/message_status.h"

#include <algorithm>
#include <utility>

#include "queue/query.h"

namespace mta::queue {

std::vector<MessagePart> merge_message_parts(std::vector<Envelope> queued,
                                             std::vector<Envelope> finished) {
  std::vector<MessagePart> parts;
  parts.reserve(queued.size() + finished.size());
  for (auto& envelope : finished) {
    parts.push_back(MessagePart{.envelope = std::move(envelope), .finished = true});
  }
  for (auto& envelope : queued) {
    const bool in_history = std::any_of(parts.begin(), parts.end(), [&](const MessagePart& p) {
      return p.finished && p.envelope.part == envelope.part;
    });
    if (!in_history) parts.push_back(MessagePart{.envelope = std::move(envelope)});
  }
  std::stable_sort(parts.begin(), parts.end(), [](const MessagePart& a, const MessagePart& b) {
    return a.envelope.part < b.envelope.part;
  });
  return parts;
}

Result<std::vector<MessagePart>> read_message_parts(Store& store, MessageId id) {
  // Queued parts first: a part removed between the two reads is then in the history (written
  // in the same batch as its removal), never in neither.
  auto queued = store.read_message(id);
  if (!queued) return unexpected(queued.error());
  auto finished = store.read_history(id);
  if (!finished) return unexpected(finished.error());
  return merge_message_parts(std::move(*queued), std::move(*finished));
}

std::string_view recipient_status(const Recipient& recipient) {
  if (recipient.state == RecipientState::bounced &&
      std::string_view(recipient.last_reply).starts_with(expired_reply)) {
    return "expired";
  }
  return name_of(recipient.state);
}

}  // namespace mta::queue
