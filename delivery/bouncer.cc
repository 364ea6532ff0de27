// DSN generation through proto/mime; the DSN joins the shard's group commit like a submitted
// message, so a burst of 5xx replies costs batched syncs on the worker, not one fsync each on
// the reactor.
#include "delivery/bouncer.h"

#include <utility>

#include "base/log.h"
#include "proto/mime/dsn.h"

namespace mta::delivery {

Bouncer::Bouncer(engine::Shard& shard, queue::Store& store, queue::MessageIdGenerator& ids,
                 BounceOptions options, RouteFn route, QueuedFn on_queued, CommitFn commit)
    : shard_(shard),
      store_(store),
      ids_(ids),
      options_(std::move(options)),
      route_(std::move(route)),
      on_queued_(std::move(on_queued)),
      commit_(std::move(commit)) {}

void Bouncer::bounce(const queue::Envelope& part, const std::vector<std::size_t>& recipients,
                     std::string_view remote_mta, DoneFn done) {
  if (recipients.empty()) return done(true);
  if (part.mail_from.empty()) {
    probe_.null_sender_failures += recipients.size();
    log::info("bounce of " + to_hex(part.id) + " not sent: null sender");
    return done(true);
  }
  auto original = store_.read_body(part.id);
  const Clock::WallTime now = shard_.clock().wall_now();
  const MessageId id = ids_.next();

  mime::DsnInput input;
  input.reporting_mta = options_.hostname;
  input.original_sender = part.mail_from;
  input.envelope_id = to_hex(part.id);
  input.arrival = part.received_at;
  input.now = now;
  input.message_id = "<" + to_hex(id) + ".dsn@" + options_.hostname + ">";
  for (std::size_t index : recipients) {
    const auto& recipient = part.recipients[index];
    input.recipients.push_back(mime::DsnRecipient{.final_recipient = recipient.address,
                                                  .action = "failed",
                                                  .status = {},
                                                  .remote_mta = std::string(remote_mta),
                                                  .diagnostic = recipient.last_reply,
                                                  .last_attempt = now});
  }
  if (original) input.original_message = *original;
  std::string dsn = mime::build_dsn(input);

  queue::Envelope envelope;
  envelope.id = id;
  envelope.part = 0;
  envelope.destination = route_(part.mail_from);
  envelope.mail_from = "";  // a DSN has the null sender, so it never bounces in turn
  envelope.recipients.push_back(queue::Recipient{.address = part.mail_from});
  envelope.received_at = now;
  envelope.next_attempt_at = now;
  envelope.expires_at =
      now + std::chrono::duration_cast<Clock::WallTime::duration>(options_.max_age);
  envelope.body_bytes = dsn.size();
  const queue::ScheduledItem item{
      .due = now, .key = {.message = id, .part = 0}, .destination = envelope.destination};
  std::vector<queue::Envelope> parts;
  parts.push_back(std::move(envelope));
  commit_(std::move(parts), std::move(dsn),
          [this, item, original_id = part.id, done = std::move(done)](const Result<void>& stored) {
            if (!stored) {
              ++probe_.dsn_failures;
              log::error("cannot queue the DSN for " + to_hex(original_id) + ": " +
                         stored.error().message());
              return done(false);
            }
            ++probe_.dsns_queued;
            on_queued_(item);
            done(true);
          });
}

}  // namespace mta::delivery
