// Injector: trace fields, signature, return path and parts, then the group commit. Runs on the
// shard that received the message; the group commit's callback comes back to the same shard.
#include "injection/injector.h"

#include <algorithm>
#include <iterator>
#include <memory>
#include <utility>
#include <vector>

#include "base/ascii.h"
#include "base/log.h"
#include "dkim/errc.h"
#include "proto/mime/header.h"
#include "proto/mime/structure.h"
#include "proto/mime/verp.h"
#include "queue/errc.h"

namespace mta::injection {
namespace {

Injected failure(const Result<void>& result) {
  // Nothing was stored (Store::write_batch is all or nothing): the client keeps the message
  // and retries (RFC 5321 §4.2.5: a 4yz after DATA means the server did not take it).
  if (result.error().code == queue::Errc::no_space) {
    return Injected{.status = Injected::Status::no_space, .detail = "insufficient system storage"};
  }
  return Injected{.status = Injected::Status::failed, .detail = "queue write failed"};
}

// Removes every `name` field (with its continuation lines) from the header of `message`.
void remove_fields(std::string& message, std::string_view name) {
  const std::string_view header = mime::header_block(message);
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  for (const auto& field : mime::parse_header_fields(header)) {
    if (iequals(field.name, name)) spans.emplace_back(field.begin, field.end);
  }
  for (auto span = spans.rbegin(); span != spans.rend(); ++span) {
    message.erase(span->first, span->second - span->first);
  }
}

}  // namespace

Injector::Injector(engine::Shard& shard, queue::GroupCommit& group_commit,
                   queue::MessageIdGenerator& ids, InjectorOptions options, RouteFn route,
                   QueuedFn on_queued)
    : shard_(shard),
      group_commit_(group_commit),
      ids_(ids),
      options_(std::move(options)),
      route_(std::move(route)),
      on_queued_(std::move(on_queued)) {}

std::optional<Injected> Injector::resolve_tags(Inbound& message) {
  Tags fields;
  if (auto bad = take_tag_fields(message.body, fields)) {
    return Injected{.status = Injected::Status::refused, .detail = *bad};
  }
  Tags& tags = message.tags;  // the API's fields first, then the message's
  if (!tags.tenant) tags.tenant = std::move(fields.tenant);
  if (!tags.campaign) tags.campaign = std::move(fields.campaign);
  if (!tags.traffic_class) tags.traffic_class = fields.traffic_class;
  if (!tags.pool) tags.pool = std::move(fields.pool);
  if (!message.bound_tenant.empty()) {
    if (tags.tenant && *tags.tenant != message.bound_tenant) {
      return Injected{.status = Injected::Status::refused,
                      .detail = "tenant " + *tags.tenant + " is not this sender's (it sends as " +
                                message.bound_tenant + ")"};
    }
    tags.tenant = message.bound_tenant;
  }
  if (tags.tenant) {
    if (auto found = options_.tenants.find(*tags.tenant); found != options_.tenants.end()) {
      if (!tags.traffic_class) tags.traffic_class = found->second.traffic_class;
      if (!tags.pool && !found->second.source_pool.empty()) tags.pool = found->second.source_pool;
    }
  }
  if (tags.pool &&
      std::find(options_.pools.begin(), options_.pools.end(), *tags.pool) == options_.pools.end()) {
    return Injected{.status = Injected::Status::refused,
                    .detail = "source pool " + *tags.pool + " is not configured"};
  }
  return std::nullopt;
}

std::optional<Injected> Injector::prepare(Inbound& message, MessageId id, Clock::WallTime now,
                                          TraceFacts* trace, Probe& probe) {
  // Our own X-Outpost-* fields go before anything is added or signed: receivers never see them.
  if (auto refused = resolve_tags(message)) return refused;
  // The reference a returned header proves the message by: only ours, never the client's.
  if (options_.bounce_keys != nullptr) {
    remove_fields(message.body, "X-Outpost-Ref");
    message.body.insert(0, "X-Outpost-Ref: " + options_.bounce_keys->reference(id) + "\r\n");
  }
  // Trace fields first: they are part of what is signed and stored.
  if (trace != nullptr) {
    trace->hostname = options_.hostname;
    trace->id = id;
    trace->when = now;
    add_trace_fields(message.body, *trace);
  }
  if (options_.signing == nullptr) return std::nullopt;
  const auto sign_started = std::chrono::steady_clock::now();
  auto fields = dkim::sign_message(*options_.signing, message.body, now);
  if (probe.sign_seconds != nullptr) {
    probe.sign_seconds->observe(std::chrono::steady_clock::now() - sign_started);
  }
  if (!fields) {
    ++probe.sign_failures;
    // A header block DKIM cannot parse would be refused by receivers as well; anything else
    // is our failure, and the client may try again.
    if (fields.error().code == dkim::Errc::malformed_message) {
      return Injected{.status = Injected::Status::refused,
                      .detail = "message header cannot be DKIM-signed: " + fields.error().detail};
    }
    return Injected{.status = Injected::Status::failed, .detail = "DKIM signing failed"};
  }
  if (!fields->empty()) {
    ++probe.messages_signed;
    std::size_t count = 0;
    for (std::size_t at = fields->find("DKIM-Signature:"); at != std::string::npos;
         at = fields->find("DKIM-Signature:", at + 1)) {
      ++count;
    }
    probe.signatures += count;
    message.body.insert(0, *fields);
  }
  return std::nullopt;
}

std::vector<queue::Envelope> Injector::split(Inbound& message, MessageId id, Clock::WallTime now) {
  const auto expires =
      now + std::chrono::duration_cast<Clock::WallTime::duration>(options_.max_age);
  const bool verp = !options_.verp_domain.empty() && !message.mail_from.empty();
  // One part per destination and return path, recipients in the order the client gave them.
  // With VERP every recipient has its own return path, so its own part.
  std::vector<queue::Envelope> parts;
  for (auto& address : message.recipients) {
    std::string destination = route_(address);
    std::string mail_from = message.mail_from;
    if (verp) {
      if (auto encoded = mime::verp_encode(options_.verp_prefix, id,
                                           options_.bounce_keys != nullptr
                                               ? options_.bounce_keys->verp_tag(id, address)
                                               : std::string(),
                                           address, options_.verp_domain)) {
        mail_from = std::move(*encoded);
      }
    }
    auto part = std::find_if(parts.begin(), parts.end(), [&](const queue::Envelope& e) {
      return e.destination == destination && e.mail_from == mail_from;
    });
    if (part == parts.end()) {
      queue::Envelope envelope;
      envelope.id = id;
      envelope.part = static_cast<std::uint32_t>(parts.size());
      envelope.destination = std::move(destination);
      envelope.mail_from = std::move(mail_from);
      envelope.received_at = now;
      envelope.next_attempt_at = now;
      envelope.expires_at = expires;
      envelope.body_bytes = message.body.size();
      envelope.tenant = message.tags.tenant.value_or("");
      envelope.campaign = message.tags.campaign.value_or("");
      envelope.traffic_class =
          message.tags.traffic_class.value_or(queue::TrafficClass::transactional);
      envelope.pool = message.tags.pool.value_or("");
      parts.push_back(std::move(envelope));
      part = parts.end() - 1;
    }
    part->recipients.push_back(queue::Recipient{.address = std::move(address)});
  }
  return parts;
}

void Injector::submit(Inbound&& message, TraceFacts* trace, Probe& probe, Done done) {
  std::vector<Inbound> one;
  one.push_back(std::move(message));
  submit_all(std::move(one), trace, probe, std::move(done));
}

// A request's messages between submit_all() and the group commit.
struct Injector::Batch {
  std::vector<Inbound> messages;
  std::size_t next = 0;  // the first message not prepared yet
  // The caller's facts while submit_all runs; own_trace() copies them before the batch waits
  // for a later loop turn, since the caller's strings need not live that long.
  TraceFacts* trace = nullptr;
  TraceFacts owned_trace;
  std::string owned_strings[4];
  Clock::WallTime now;
  std::vector<queue::GroupCommit::Message> writes;
  std::vector<queue::ScheduledItem> items;
  std::vector<MessageId> ids;
  std::size_t bytes = 0;
  Probe* probe = nullptr;
  Done done;

  void own_trace() {
    if (trace == nullptr || trace == &owned_trace) return;
    owned_trace = *trace;
    std::string_view* views[] = {&owned_trace.client_name, &owned_trace.client_ip,
                                 &owned_trace.tls_details, &owned_trace.protocol};
    for (std::size_t i = 0; i < std::size(views); ++i) {
      owned_strings[i] = *views[i];
      *views[i] = owned_strings[i];
    }
    trace = &owned_trace;
  }
};

void Injector::submit_all(std::vector<Inbound>&& messages, TraceFacts* trace, Probe& probe,
                          Done done) {
  // shared_ptr: the batch moves from one loop turn's task to the next, and on to the commit's
  // callback, and std::function needs a copyable callable; one task holds it at a time.
  auto batch = std::make_shared<Batch>();
  batch->messages = std::move(messages);
  batch->trace = trace;
  batch->now = shard_.clock().wall_now();
  batch->probe = &probe;
  batch->done = std::move(done);
  batch->writes.reserve(batch->messages.size());
  batch->ids.reserve(batch->messages.size());
  prepare_some(std::move(batch));
}

// Signing is the costly step (about 1 ms per message with RSA-2048), and a bulk request may
// hold 10,000 messages: prepared all at once they would stall every other connection of the
// shard for seconds. So each loop turn prepares messages for at most prepare_budget, then
// lets the shard serve its I/O before the next slice. A single message is prepared at once.
void Injector::prepare_some(std::shared_ptr<Batch> batch) {
  constexpr Clock::Duration prepare_budget = std::chrono::milliseconds(2);
  const Clock::TimePoint started = shard_.clock().now();
  while (batch->next < batch->messages.size()) {
    Inbound& message = batch->messages[batch->next++];
    const MessageId id = ids_.next();
    if (auto refused = prepare(message, id, batch->now, batch->trace, *batch->probe)) {
      return batch->done(*refused);
    }
    std::vector<queue::Envelope> parts = split(message, id, batch->now);
    for (const auto& part : parts) {
      batch->items.push_back(queue::ScheduledItem{.due = part.next_attempt_at,
                                                  .key = {.message = id, .part = part.part},
                                                  .destination = part.destination,
                                                  .tenant = part.tenant,
                                                  .traffic_class = part.traffic_class,
                                                  .pool = part.pool});
    }
    batch->bytes += message.body.size();
    batch->ids.push_back(id);
    batch->writes.push_back(queue::GroupCommit::Message{std::move(parts), std::move(message.body)});
    if (batch->next < batch->messages.size() && shard_.clock().now() - started >= prepare_budget) {
      batch->own_trace();
      shard_.schedule(Clock::Duration::zero(), [this, batch = std::move(batch)]() mutable {
        prepare_some(std::move(batch));
      });
      return;
    }
  }
  commit(std::move(batch));
}

void Injector::commit(std::shared_ptr<Batch> batch) {
  std::vector<queue::GroupCommit::Message> writes = std::move(batch->writes);
  batch->messages.clear();  // their bodies are in `writes` now; the rest is not needed again
  group_commit_.submit_group(std::move(writes), [this, batch](const Result<void>& result) {
    Probe& probe = *batch->probe;
    if (!result) {
      ++probe.store_failures;
      return batch->done(failure(result));
    }
    probe.messages_queued += batch->ids.size();
    probe.bytes_queued += batch->bytes;
    on_queued_(batch->items);
    batch->done(Injected{.status = Injected::Status::queued, .ids = std::move(batch->ids)});
  });
}

}  // namespace mta::injection
