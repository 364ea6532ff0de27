// One message of the queue as `outpost queue show ID` and GET /api/v1/queue/messages/ID give
// it: its queued parts and, for the parts that finished (delivered, bounced, suppressed,
// expired), their history records (queue/message_status.h), each recipient with its status
// and last reply. Also the JSON and text of one part that the admin API's listing shares.
#pragma once

#include <string>
#include <vector>

#include "base/strong_id.h"
#include "engine/shard.h"
#include "proto/http/json.h"
#include "queue/message_status.h"
#include "queue/store.h"
#include "server/http_listener.h"

namespace mta::app {

// One part as a JSON object (id, part, destination, sender, times, attempts, recipients with
// state, attempts and last_reply); `finished` adds "finished": true|false.
void write_part_json(http::JsonWriter& json, const queue::Envelope& part,
                     const bool* finished = nullptr);

// The text `outpost queue show` prints: per part a heading line, when it was received and
// where it stands, then one line per recipient with its status and last reply.
std::string message_text(const std::vector<queue::MessagePart>& parts);
// {"id": ..., "matched": parts, "parts": [...]}.
std::string message_json(MessageId id, const std::vector<queue::MessagePart>& parts);

// GET /api/v1/queue/messages/ID: reads the message's parts on the shard's worker and answers
// 200 (text or JSON), 404 when neither the queue nor the history holds it, 500 when the read
// failed.
void show_message(engine::Shard& shard, queue::Store& store, MessageId id, bool text,
                  const server::Respond& respond);

}  // namespace mta::app
