// Telemetry: one registry per shard, every module's families bound on it; sync() hands each
// module the part of the shard's counts that is its probe.
#include "app/telemetry.h"

#include <string>

#include "base/assert.h"
#include "metrics/exposition.h"
#include "metrics/process.h"

namespace mta::app {

struct Telemetry::Shard {
  explicit Shard(const Telemetry& t)
      : registry(t.catalog_),
        injection(t.injection_.bind(registry)),
        queue(t.queue_.bind(registry)),
        outcomes(t.outcomes_.bind(registry)),
        delivery(t.delivery_.bind(registry)),
        tls(t.tls_.bind(registry)),
        log(t.log_.bind(registry)),
        mailbox(t.mailbox_.bind(registry)),
        fleet(t.fleet_.bind(registry)) {}

  metrics::Registry registry;  // first: the handles below live in it
  injection::ProbeMetrics::Shard injection;
  queue::StoreMetrics::Shard queue;
  delivery::OutcomeMetrics::Shard outcomes;
  delivery::ProbeMetrics::Shard delivery;
  tls::HandshakeMetrics::Shard tls;
  metrics::LineLogMetrics::Shard log;
  mailbox::ProbeMetrics::Shard mailbox;
  cluster::FleetMetrics::Shard fleet;
};

namespace {

tls::HandshakeMetrics::Handshakes handshakes_of(const auto& probe) {
  return {
      .sessions = probe.tls_sessions, .resumed = probe.tls_resumed, .failures = probe.tls_failures};
}

delivery::ProbeMetrics::Parts parts_of(const ShardCounts& n) {
  return {.scheduled = n.parts_scheduled,
          .waiting = n.parts_waiting,
          .ready = n.parts_ready,
          .in_flight = n.parts_in_flight,
          .quarantined = n.parts_quarantined};
}

mailbox::ProbeMetrics::Probes mailbox_probes_of(const ShardCounts& n) {
  return {.smtp = {.accepted = n.bounce_smtp.connections_accepted,
                   .refused = n.bounce_smtp.connections_refused},
          .intake = n.intake,
          .imap = n.imap,
          .pop3 = n.pop3,
          .store = n.mailbox_store,
          .limits = n.bounce_limits};
}

}  // namespace

Telemetry::Telemetry(std::uint32_t shard_count, std::size_t destinations_max,
                     std::size_t tenants_max)
    : injection_(catalog_),
      queue_(catalog_),
      outcomes_(catalog_, destinations_max, tenants_max),
      delivery_(catalog_, destinations_max),
      tls_(catalog_),
      log_(catalog_),
      mailbox_(catalog_),
      fleet_(catalog_) {
  for (std::uint32_t i = 0; i < shard_count; ++i) shards_.push_back(std::make_unique<Shard>(*this));
}

Telemetry::~Telemetry() = default;

void Telemetry::sync(std::uint32_t shard, const ShardCounts& now) {
  MTA_ASSERT(shard < shards_.size());
  Shard& s = *shards_[shard];
  injection_.publish(s.injection, {.smtp = now.injection, .http = now.http});
  queue_.publish(s.queue, {.injection = now.injection.store_failures + now.http.store_failures,
                           .delivery = now.delivery.store_failures});
  delivery_.publish(s.delivery, {.delivery = now.delivery, .bounce = now.bounce}, parts_of(now),
                    now.connections);
  tls_.publish(s.tls,
               {.inbound = handshakes_of(now.injection), .outbound = handshakes_of(now.delivery)});
  log_.publish(s.log,
               {.lines = now.log_lines, .dropped = now.log_dropped, .failures = now.log_failures});
  mailbox_.publish(s.mailbox, mailbox_probes_of(now),
                   {.suppressed_addresses = now.suppressed_addresses,
                    .bytes = now.mailbox_bytes,
                    .messages = now.mailbox_messages});
  fleet_.publish(s.fleet, now.fleet, now.fleet_on);
}

std::vector<delivery::OutcomeMetrics::Shard*> Telemetry::outcome_shards() {
  std::vector<delivery::OutcomeMetrics::Shard*> out;
  out.reserve(shards_.size());
  for (auto& shard : shards_) out.push_back(&shard->outcomes);
  return out;
}

Telemetry::Durations Telemetry::durations(std::uint32_t shard) {
  MTA_ASSERT(shard < shards_.size());
  const Shard& s = *shards_[shard];
  return {.smtp_session = s.injection.session_seconds,
          .dkim_sign = s.injection.sign_seconds,
          .queue_commit = s.queue.commit_seconds};
}

std::string Telemetry::render() const {
  std::vector<const metrics::Registry*> registries;
  registries.reserve(shards_.size());
  for (const auto& shard : shards_) registries.push_back(&shard->registry);
  std::string body = metrics::render(catalog_, registries);
  (void)metrics::append_process_metrics(body);  // /proc unreadable: the rest still counts
  return body;
}

}  // namespace mta::app
