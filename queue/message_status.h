// One message as an operator sees it (`outpost queue show`, the admin API): its queued parts
// and the history records of its finished ones, merged, with each recipient's status named.
// Reading goes through Store; merging and naming are pure.
#pragma once

#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/strong_id.h"
#include "queue/envelope.h"
#include "queue/store.h"

namespace mta::queue {

// A part of a message: still queued, or finished (removed once delivered, bounced, suppressed
// or expired; this is then its history record, kept for [queue] history_retention).
struct MessagePart {
  Envelope envelope;
  bool finished = false;

  friend bool operator==(const MessagePart&, const MessagePart&) = default;
};

// The parts of one message from Store::read_message (`queued`) then Store::read_history
// (`finished`), in part order. A part found in both (removed between the two reads) is taken
// from the history, which is its newer state. Empty when neither has any part: no such
// message, or its history expired.
std::vector<MessagePart> merge_message_parts(std::vector<Envelope> queued,
                                             std::vector<Envelope> finished);

// Reads both in the order that sees every part at least once, and merges them. Errors are the
// store's (corrupt_record naming the part, io_error).
Result<std::vector<MessagePart>> read_message_parts(Store& store, MessageId id);

// A recipient's state as operators read it: pending, deferred, delivered, bounced, suppressed,
// or expired (bounced because its time in the queue ran out: its last reply starts with
// expired_reply).
std::string_view recipient_status(const Recipient& recipient);

}  // namespace mta::queue
