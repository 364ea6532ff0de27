// `outpost queue show` and its admin route: the store is read on the shard's blocking worker
// (two prefix scans: the queued parts, then the history), the answer is built on the shard.
#include "app/queue_show.h"

#include <memory>
#include <utility>

#include "base/rfc3339.h"
#include "queue/query.h"

namespace mta::app {
namespace {

http::Response answer(int status, bool text, std::string body) {
  http::Response response;
  response.status = status;
  response.content_type = text ? "text/plain; charset=utf-8" : "application/json";
  response.body = std::move(body);
  return response;
}

http::Response failure(int status, const std::string& message, bool text) {
  if (text) return answer(status, true, message + "\n");
  http::JsonWriter json;
  json.begin_object();
  json.key("error");
  json.value(message);
  json.end_object();
  return answer(status, false, json.take());
}

// Where a part stands: finished, held by the crash-loop breaker, or due again.
std::string standing(const queue::MessagePart& p) {
  const queue::Envelope& e = p.envelope;
  if (p.finished) return "finished";
  if (queue::is_quarantined(e)) {
    return "quarantined (in flight at " + std::to_string(queue::crashes_before_quarantine) +
           " crashes; retry releases it), expires " + rfc3339(e.expires_at);
  }
  return "next attempt " + rfc3339(e.next_attempt_at) + ", expires " + rfc3339(e.expires_at);
}

}  // namespace

void write_part_json(http::JsonWriter& json, const queue::Envelope& e, const bool* finished) {
  json.begin_object();
  json.key("id");
  json.value(to_hex(e.id));
  json.key("part");
  json.value(std::uint64_t{e.part});
  json.key("destination");
  json.value(e.destination);
  json.key("sender");
  json.value(e.mail_from);
  if (finished != nullptr) {
    // From the history: delivery is over for every recipient; the times below are the last
    // ones it had while queued.
    json.key("finished");
    json.value(*finished);
  }
  json.key("received_at");
  json.value(rfc3339(e.received_at));
  json.key("next_attempt_at");
  json.value(rfc3339(e.next_attempt_at));
  // Held by the crash-loop breaker (next_attempt_at then says 2255): retry releases it.
  json.key("quarantined");
  json.value(queue::is_quarantined(e));
  json.key("expires_at");
  json.value(rfc3339(e.expires_at));
  json.key("attempts");
  json.value(std::uint64_t{e.attempts});
  json.key("body_bytes");
  json.value(e.body_bytes);
  json.key("recipients");
  json.begin_array();
  for (const auto& r : e.recipients) {
    json.begin_object();
    json.key("address");
    json.value(r.address);
    json.key("state");
    json.value(queue::recipient_status(r));
    json.key("attempts");
    json.value(std::uint64_t{r.attempts});
    json.key("last_reply");
    json.value(r.last_reply);
    json.end_object();
  }
  json.end_array();
  json.end_object();
}

std::string message_text(const std::vector<queue::MessagePart>& parts) {
  std::string out;
  for (const auto& p : parts) {
    const queue::Envelope& e = p.envelope;
    out += to_hex(e.id) + "." + std::to_string(e.part) + " to " + e.destination + " from <" +
           e.mail_from + ">\n  received " + rfc3339(e.received_at) + ", " + standing(p) + ", " +
           std::to_string(e.attempts) + " attempts, " + std::to_string(e.body_bytes) +
           " body bytes\n";
    for (const auto& r : e.recipients) {
      out += "  <" + r.address + "> " + std::string(queue::recipient_status(r)) + " after " +
             std::to_string(r.attempts) + " attempts" +
             (r.last_reply.empty() ? std::string() : ": " + r.last_reply) + "\n";
    }
  }
  return out;
}

std::string message_json(MessageId id, const std::vector<queue::MessagePart>& parts) {
  http::JsonWriter json;
  json.begin_object();
  json.key("id");
  json.value(to_hex(id));
  json.key("matched");
  json.value(static_cast<std::uint64_t>(parts.size()));
  json.key("parts");
  json.begin_array();
  for (const auto& p : parts) write_part_json(json, p.envelope, &p.finished);
  json.end_array();
  json.end_object();
  return json.take();
}

void show_message(engine::Shard& shard, queue::Store& store, MessageId id, bool text,
                  const server::Respond& respond) {
  auto read =
      std::make_shared<Result<std::vector<queue::MessagePart>>>(std::vector<queue::MessagePart>{});
  shard.offload([read, &store, id] { *read = queue::read_message_parts(store, id); },
                [read, id, text, respond] {
                  if (!*read) return respond(failure(500, read->error().message(), text));
                  if ((*read)->empty()) {
                    return respond(failure(
                        404, "no such message in the queue or its history: " + to_hex(id), text));
                  }
                  respond(text ? answer(200, true, message_text(**read))
                               : answer(200, false, message_json(id, **read)));
                });
}

}  // namespace mta::app
