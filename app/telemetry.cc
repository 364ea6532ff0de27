// Telemetry: the metric families and the probe field each series follows, declared once in one
// table; one registry per shard whose counters follow the shard's probes (adding what grew
// since the last sync, so counters only grow).
#include "app/telemetry.h"

#include <array>
#include <span>
#include <string>
#include <utility>

#include "base/assert.h"
#include "metrics/exposition.h"
#include "metrics/process.h"

namespace mta::app {
namespace {

metrics::CounterFamily counter(metrics::Catalog& catalog, std::string name, std::string help,
                               std::vector<std::string> labels = {}) {
  auto family = catalog.add_counter({std::move(name), std::move(help), std::move(labels)});
  MTA_ASSERT(family.has_value());  // the names below are fixed and checked by the tests
  return *family;
}

}  // namespace

struct Telemetry::Shard {
  explicit Shard(const metrics::Catalog& catalog) : registry(catalog) {}

  // A counter that follows a probe field: adds what the field grew since the last sync.
  struct Follow {
    metrics::Counter* counter;
    std::uint64_t last = 0;
  };

  metrics::Registry registry;
  std::vector<Follow> follows;  // one per Telemetry::series_, in its order
  metrics::Gauge* scheduled = nullptr;
  metrics::Gauge* suppressed = nullptr;
  metrics::Gauge* mailbox_bytes = nullptr;
  metrics::Gauge* mailbox_messages = nullptr;
  metrics::Gauge* quarantined = nullptr;
  metrics::Gauge* fleet_up = nullptr;
  metrics::Gauge* fleet_nodes = nullptr;
  std::array<metrics::Gauge*, 3> queue{};  // waiting, ready, in_flight
  // By RecipientState: delivered, deferred, bounced, suppressed.
  std::array<metrics::BoundedCounter*, 4> deliveries{};
  std::array<metrics::BoundedCounter*, 4> tenant_deliveries{};  // same order
  metrics::Histogram* delivery_duration = nullptr;
  Durations durations;
  // Open connections by the admission index of their destination, created when first used.
  std::vector<metrics::Gauge*> connections;
  std::vector<double> connections_now;  // scratch for sync()
};

namespace {

// Readers for the intake's per-kind and per-category arrays, one function per index.
template <std::size_t I>
std::uint64_t by_kind(const ShardCounts& n) {
  return n.intake.by_kind[I];
}
template <std::size_t I>
std::uint64_t by_category(const ShardCounts& n) {
  return n.intake.by_category[I];
}
template <std::size_t... I>
constexpr auto kind_readers(std::index_sequence<I...>) {
  return std::array<std::uint64_t (*)(const ShardCounts&), sizeof...(I)>{&by_kind<I>...};
}
template <std::size_t... I>
constexpr auto category_readers(std::index_sequence<I...>) {
  return std::array<std::uint64_t (*)(const ShardCounts&), sizeof...(I)>{&by_category<I>...};
}

}  // namespace

Telemetry::Telemetry(std::uint32_t shard_count, std::size_t destinations_max,
                     std::size_t tenants_max)
    : connection_destinations_(
          std::make_unique<metrics::LabelAdmission>(destinations_max, "other")) {
  auto& c = catalog_;
  using Counts = const ShardCounts&;
  const auto follow = [this](metrics::CounterFamily family, std::vector<std::string> labels,
                             std::uint64_t (*read)(Counts)) {
    series_.push_back({family, std::move(labels), read});
  };

  const auto received = counter(c, "outpost_messages_received_total",
                                "Messages accepted and made durable, by listener.", {"listener"});
  follow(received, {"smtp"}, [](Counts n) { return n.injection.messages_queued; });
  follow(received, {"http"}, [](Counts n) { return n.http.messages_queued; });
  const auto received_bytes = counter(c, "outpost_received_bytes_total",
                                      "Bytes of the messages accepted, by listener.", {"listener"});
  follow(received_bytes, {"smtp"}, [](Counts n) { return n.injection.bytes_queued; });
  follow(received_bytes, {"http"}, [](Counts n) { return n.http.bytes_queued; });
  const auto rate_limited =
      counter(c, "outpost_injection_rate_limited_total",
              "Injections refused for a client's rate or queue back-pressure (SMTP 451 4.7.1, "
              "HTTP 429), by listener.",
              {"listener"});
  follow(rate_limited, {"smtp"}, [](Counts n) { return n.injection.rate_limited; });
  follow(rate_limited, {"http"}, [](Counts n) { return n.http.rate_limited; });
  const auto auth = counter(c, "outpost_auth_attempts_total",
                            "Client authentications (SMTP AUTH, API keys), by listener and result.",
                            {"listener", "result"});
  follow(auth, {"smtp", "success"}, [](Counts n) { return n.injection.auth_successes; });
  follow(auth, {"smtp", "failure"}, [](Counts n) { return n.injection.auth_failures; });
  follow(auth, {"smtp", "refused"}, [](Counts n) { return n.injection.auth_refused; });
  follow(auth, {"http", "failure"}, [](Counts n) { return n.http.auth_failures; });
  follow(counter(c, "outpost_bare_line_endings_repaired_total",
                 "Lone LF or CR line endings in received messages rewritten as CRLF."),
         {}, [](Counts n) { return n.injection.bare_line_endings_repaired; });
  const auto connections = counter(
      c, "outpost_smtp_connections_total",
      "Inbound SMTP connections, accepted or refused (over the limit, or stopping).", {"result"});
  follow(connections, {"accepted"}, [](Counts n) { return n.injection.connections_accepted; });
  follow(connections, {"refused"}, [](Counts n) { return n.injection.connections_refused; });
  follow(counter(c, "outpost_dkim_signed_messages_total", "Messages DKIM-signed at acceptance."),
         {}, [](Counts n) { return n.injection.messages_signed + n.http.messages_signed; });
  follow(counter(c, "outpost_dkim_signatures_total", "DKIM-Signature fields added."), {},
         [](Counts n) { return n.injection.signatures + n.http.signatures; });
  follow(counter(c, "outpost_dkim_sign_failures_total",
                 "Messages refused because their header could not be signed."),
         {}, [](Counts n) { return n.injection.sign_failures + n.http.sign_failures; });
  const auto store_failures =
      counter(c, "outpost_queue_store_failures_total",
              "Failed queue writes or reads, by path (injection answered 451/452).", {"path"});
  follow(store_failures, {"injection"},
         [](Counts n) { return n.injection.store_failures + n.http.store_failures; });
  follow(store_failures, {"delivery"}, [](Counts n) { return n.delivery.store_failures; });
  auto deliveries = c.add_bounded_counter(
      {"outpost_deliveries_total",
       "Recipient outcomes of delivery attempts (delivered, deferred, bounced or suppressed), by "
       "destination: the first destinations seen keep their own series, the rest count as "
       "\"other\".",
       {"result"}},
      {.name = "destination", .values_max = destinations_max, .overflow_value = "other"});
  MTA_ASSERT(deliveries.has_value());
  deliveries_ = *deliveries;
  auto tenant_deliveries = c.add_bounded_counter(
      {"outpost_tenant_deliveries_total",
       "Recipient outcomes of delivery attempts, as outpost_deliveries_total, by tenant "
       "(X-Outpost-Tenant; \"(none)\" for untagged mail): the first tenants seen keep their own "
       "series, the rest count as \"(other)\".",
       {"result"}},
      {.name = "tenant", .values_max = tenants_max, .overflow_value = "(other)"});
  MTA_ASSERT(tenant_deliveries.has_value());
  tenant_deliveries_ = *tenant_deliveries;
  const auto add_histogram = [&c](std::string name, std::string help, std::vector<double> buckets) {
    auto family = c.add_histogram({std::move(name), std::move(help), {}}, std::move(buckets));
    MTA_ASSERT(family.has_value());
    return *family;
  };
  delivery_duration_ = add_histogram(
      "outpost_delivery_duration_seconds",
      "From acceptance to a recipient's final disposition (delivered, bounced, suppressed).",
      {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400, 432000});
  session_duration_ = add_histogram("outpost_smtp_session_duration_seconds",
                                    "Inbound SMTP sessions, from accept to close.",
                                    metrics::exponential_buckets(0.001, 4, 12));
  sign_duration_ = add_histogram("outpost_dkim_sign_seconds",
                                 "DKIM signing of one message at acceptance (every signature).",
                                 metrics::exponential_buckets(0.00005, 2, 14));
  commit_duration_ =
      add_histogram("outpost_queue_commit_seconds",
                    "One group commit: the synced queue write of a batch of accepted messages.",
                    metrics::exponential_buckets(0.0001, 2, 16));
  auto queue = c.add_gauge({"outpost_queue_messages",
                            "Queued parts on the delivery schedules, by state: waiting (not due), "
                            "ready (due, waiting for a connection), in_flight (in a transaction).",
                            {"state"}});
  MTA_ASSERT(queue.has_value());
  queue_ = *queue;
  auto connections_open =
      c.add_gauge({"outpost_connections_open",
                   "Open outbound SMTP connections, by destination (a domain, the relay, or an MX "
                   "host set's pool); the first destinations keep their own series.",
                   {"destination"}});
  MTA_ASSERT(connections_open.has_value());
  connections_ = *connections_open;
  follow(counter(c, "outpost_delivery_transactions_total", "SMTP transactions that got a reply."),
         {}, [](Counts n) { return n.delivery.transactions; });
  const auto delivery_connections =
      counter(c, "outpost_delivery_connections_total",
              "Outbound connections opened, and those that failed before their session was up.",
              {"result"});
  follow(delivery_connections, {"opened"}, [](Counts n) { return n.delivery.connections_opened; });
  follow(delivery_connections, {"failed"}, [](Counts n) { return n.delivery.connection_failures; });
  const auto handshakes = counter(c, "outpost_tls_handshakes_total", "TLS handshakes completed.",
                                  {"direction", "resumed"});
  follow(handshakes, {"inbound", "false"},
         [](Counts n) { return n.injection.tls_sessions - n.injection.tls_resumed; });
  follow(handshakes, {"inbound", "true"}, [](Counts n) { return n.injection.tls_resumed; });
  follow(handshakes, {"outbound", "false"},
         [](Counts n) { return n.delivery.tls_sessions - n.delivery.tls_resumed; });
  follow(handshakes, {"outbound", "true"}, [](Counts n) { return n.delivery.tls_resumed; });
  const auto tls_failures = counter(c, "outpost_tls_failures_total",
                                    "TLS handshakes that failed or timed out.", {"direction"});
  follow(tls_failures, {"inbound"}, [](Counts n) { return n.injection.tls_failures; });
  follow(tls_failures, {"outbound"}, [](Counts n) { return n.delivery.tls_failures; });
  follow(counter(c, "outpost_tls_verified_total",
                 "Outbound TLS sessions with a verified chain and host name."),
         {}, [](Counts n) { return n.delivery.tls_verified; });
  follow(counter(c, "outpost_tls_plaintext_fallbacks_total",
                 "Opportunistic TLS that failed: the address is used in plaintext for a while."),
         {}, [](Counts n) { return n.delivery.tls_fallbacks; });
  follow(counter(c, "outpost_tls_policy_unmet_total",
                 "Connections closed because TLS was required and not offered."),
         {}, [](Counts n) { return n.delivery.tls_required_unmet; });
  const auto shaping =
      counter(c, "outpost_shaping_actions_total",
              "Response-driven shaping: a reply matched a rule and suspended or throttled its "
              "destination; a throttle relaxed a step, or ended.",
              {"action"});
  follow(shaping, {"suspend"}, [](Counts n) { return n.delivery.shaping_suspensions; });
  follow(shaping, {"throttle"}, [](Counts n) { return n.delivery.shaping_throttles; });
  follow(shaping, {"relax"}, [](Counts n) { return n.delivery.shaping_relaxations; });
  follow(shaping, {"recover"}, [](Counts n) { return n.delivery.shaping_recoveries; });
  follow(counter(c, "outpost_parts_handed_to_pools_total",
                 "Due parts a domain handed to the pool of its MX host set."),
         {}, [](Counts n) { return n.delivery.handed_to_pools; });
  follow(counter(c, "outpost_dsns_total",
                 "Delivery status notifications (bounces) queued to senders."),
         {}, [](Counts n) { return n.bounce.dsns_queued; });
  const auto dsn_failures =
      counter(c, "outpost_dsn_failures_total",
              "DSNs that could not be written, or not sent (null sender).", {"reason"});
  follow(dsn_failures, {"write"}, [](Counts n) { return n.bounce.dsn_failures; });
  follow(dsn_failures, {"null_sender"}, [](Counts n) { return n.bounce.null_sender_failures; });
  // The bounce mailbox.
  const auto bounces =
      counter(c, "outpost_bounces_received_total",
              "Messages stored in the bounce mailbox, by what they are.", {"kind"});
  const auto kinds = kind_readers(std::make_index_sequence<5>());
  for (std::size_t k = 0; k < kinds.size(); ++k) {
    follow(bounces, {std::string(mailbox::to_string(static_cast<mailbox::BounceKind>(k)))},
           kinds[k]);
  }
  const auto recipients = counter(
      c, "outpost_bounces_total",
      "Recipients named by bounces stored in the bounce mailbox, by classification.", {"category"});
  const auto categories = category_readers(std::make_index_sequence<mailbox::kCategoryCount>());
  for (std::size_t k = 0; k < categories.size(); ++k) {
    follow(recipients, {std::string(mailbox::to_string(static_cast<mailbox::Category>(k)))},
           categories[k]);
  }
  const auto log_lines =
      counter(c, "outpost_delivery_log_lines_total", "Lines written to the JSON delivery log.");
  follow(log_lines, {}, [](Counts n) { return n.log_lines; });
  const auto log_lost = counter(
      c, "outpost_delivery_log_dropped_total",
      "Delivery log lines lost: the writer fell behind (dropped) or a write failed.", {"reason"});
  follow(log_lost, {"behind"}, [](Counts n) { return n.log_dropped; });
  follow(log_lost, {"write_failed"}, [](Counts n) { return n.log_failures; });
  follow(counter(c, "outpost_suppressions_added_total",
                 "Recipients put on the suppression list by a hard bounce or a complaint."),
         {}, [](Counts n) { return n.intake.suppressions_added; });
  follow(counter(c, "outpost_bounces_untrusted_total",
                 "Bounces and complaints tied to no message Outpost sent (no VERP tag or "
                 "X-Outpost-Ref verified): stored with X-Outpost-Bounce-Trusted: no, they "
                 "suppressed nobody."),
         {}, [](Counts n) { return n.intake.untrusted; });
  follow(counter(c, "outpost_mailbox_store_failures_total",
                 "Bounces or suppressions the mailbox could not write (the sender was told 4xx)."),
         {}, [](Counts n) { return n.intake.store_failures; });
  const auto expired = counter(
      c, "outpost_mailbox_expired_total",
      "Messages the bounce mailbox removed on its own, by reason: quota (room for newer ones, "
      "oldest first) or retention (older than mailbox.retention).",
      {"reason"});
  follow(expired, {"quota"}, [](Counts n) { return n.mailbox_store.expired_quota; });
  follow(expired, {"retention"}, [](Counts n) { return n.mailbox_store.expired_retention; });
  const auto intake_refused =
      counter(c, "outpost_bounce_intake_refused_total",
              "MAIL commands the bounce listener refused with 450 4.7.1, by the per-client limit "
              "crossed (bounce.messages_per_ip_per_minute, bytes_per_ip_per_minute, or too many "
              "clients at once).",
              {"limit"});
  follow(intake_refused, {"messages"}, [](Counts n) { return n.bounce_limits.refused_messages; });
  follow(intake_refused, {"bytes"}, [](Counts n) { return n.bounce_limits.refused_bytes; });
  follow(intake_refused, {"clients"}, [](Counts n) { return n.bounce_limits.refused_clients; });
  const auto mailbox_connections =
      counter(c, "outpost_mailbox_connections_total",
              "Connections to the bounce mailbox, by protocol and result.", {"protocol", "result"});
  follow(mailbox_connections, {"smtp", "accepted"},
         [](Counts n) { return n.bounce_smtp.connections_accepted; });
  follow(mailbox_connections, {"smtp", "refused"},
         [](Counts n) { return n.bounce_smtp.connections_refused; });
  follow(mailbox_connections, {"imap", "accepted"},
         [](Counts n) { return n.imap.connections_accepted; });
  follow(mailbox_connections, {"imap", "refused"},
         [](Counts n) { return n.imap.connections_refused; });
  follow(mailbox_connections, {"pop3", "accepted"},
         [](Counts n) { return n.pop3.connections_accepted; });
  follow(mailbox_connections, {"pop3", "refused"},
         [](Counts n) { return n.pop3.connections_refused; });
  const auto logins =
      counter(c, "outpost_mailbox_logins_total", "IMAP and POP3 logins, by protocol and result.",
              {"protocol", "result"});
  follow(logins, {"imap", "success"}, [](Counts n) { return n.imap.logins; });
  follow(logins, {"imap", "failure"}, [](Counts n) { return n.imap.login_failures; });
  follow(logins, {"pop3", "success"}, [](Counts n) { return n.pop3.logins; });
  follow(logins, {"pop3", "failure"}, [](Counts n) { return n.pop3.login_failures; });
  follow(logins, {"imap", "refused"}, [](Counts n) { return n.imap.login_refused; });
  follow(logins, {"pop3", "refused"}, [](Counts n) { return n.pop3.login_refused; });
  const auto fleet_syncs = counter(
      c, "outpost_fleet_syncs_total",
      "Fleet mode: exchanges of this node's claims and shares with Redis, by result.", {"result"});
  follow(fleet_syncs, {"ok"}, [](Counts n) { return n.fleet.syncs - n.fleet.failures; });
  follow(fleet_syncs, {"failed"}, [](Counts n) { return n.fleet.failures; });
  follow(counter(c, "outpost_fleet_outages_total",
                 "Fleet mode: times Redis stopped answering (local limits until it did again)."),
         {}, [](Counts n) { return n.fleet.outages; });
  auto fleet_up = c.add_gauge(
      {"outpost_fleet_redis_up", "Fleet mode: 1 while Redis answers, 0 when it does not.", {}});
  auto fleet_nodes = c.add_gauge(
      {"outpost_fleet_nodes", "Fleet mode: live nodes at the last exchange with Redis.", {}});
  MTA_ASSERT(fleet_up.has_value() && fleet_nodes.has_value());
  fleet_up_ = *fleet_up;
  fleet_nodes_ = *fleet_nodes;
  auto suppressed =
      c.add_gauge({"outpost_suppressed_addresses",
                   "Addresses on the suppression list (reported by the mailbox shard).",
                   {}});
  MTA_ASSERT(suppressed.has_value());
  suppressed_ = *suppressed;
  auto mailbox_bytes = c.add_gauge(
      {"outpost_mailbox_bytes",
       "Octets of all messages in the bounce mailbox, every folder (mailbox.quota_bytes caps it).",
       {}});
  auto mailbox_messages = c.add_gauge(
      {"outpost_mailbox_messages", "Messages in the bounce mailbox, every folder.", {}});
  MTA_ASSERT(mailbox_bytes.has_value() && mailbox_messages.has_value());
  mailbox_bytes_ = *mailbox_bytes;
  mailbox_messages_ = *mailbox_messages;

  auto scheduled = c.add_gauge({"outpost_queue_parts_scheduled",
                                "Queued parts waiting in the shards' delivery schedules.",
                                {}});
  MTA_ASSERT(scheduled.has_value());
  scheduled_ = *scheduled;
  auto quarantined = c.add_gauge(
      {"outpost_queue_parts_quarantined",
       "Queued parts held by the crash-loop breaker: in flight at 3 crashes of the daemon, not "
       "tried again until an operator retries, deletes or bounces them.",
       {}});
  MTA_ASSERT(quarantined.has_value());
  quarantined_ = *quarantined;

  for (std::uint32_t i = 0; i < shard_count; ++i) {
    auto shard = std::make_unique<Shard>(catalog_);
    for (const Series& series : series_) {
      metrics::Registry& r = shard->registry;
      const auto& l = series.labels;  // the families above have at most two labels
      MTA_ASSERT(l.size() <= 2);
      metrics::Counter& counter = l.empty()       ? r.counter(series.family)
                                  : l.size() == 1 ? r.counter(series.family, {l[0]})
                                                  : r.counter(series.family, {l[0], l[1]});
      shard->follows.push_back({&counter});
    }
    shard->scheduled = &shard->registry.gauge(scheduled_);
    shard->quarantined = &shard->registry.gauge(quarantined_);
    shard->suppressed = &shard->registry.gauge(suppressed_);
    shard->mailbox_bytes = &shard->registry.gauge(mailbox_bytes_);
    shard->mailbox_messages = &shard->registry.gauge(mailbox_messages_);
    shard->fleet_up = &shard->registry.gauge(fleet_up_);
    shard->fleet_nodes = &shard->registry.gauge(fleet_nodes_);
    shard->queue = {&shard->registry.gauge(queue_, {"waiting"}),
                    &shard->registry.gauge(queue_, {"ready"}),
                    &shard->registry.gauge(queue_, {"in_flight"})};
    shard->deliveries = {&shard->registry.bounded_counter(deliveries_, {"delivered"}),
                         &shard->registry.bounded_counter(deliveries_, {"deferred"}),
                         &shard->registry.bounded_counter(deliveries_, {"bounced"}),
                         &shard->registry.bounded_counter(deliveries_, {"suppressed"})};
    shard->tenant_deliveries = {
        &shard->registry.bounded_counter(tenant_deliveries_, {"delivered"}),
        &shard->registry.bounded_counter(tenant_deliveries_, {"deferred"}),
        &shard->registry.bounded_counter(tenant_deliveries_, {"bounced"}),
        &shard->registry.bounded_counter(tenant_deliveries_, {"suppressed"})};
    shard->delivery_duration = &shard->registry.histogram(delivery_duration_);
    shard->durations = {.smtp_session = &shard->registry.histogram(session_duration_),
                        .dkim_sign = &shard->registry.histogram(sign_duration_),
                        .queue_commit = &shard->registry.histogram(commit_duration_)};
    shard->connections.assign(destinations_max + 1, nullptr);
    shards_.push_back(std::move(shard));
  }
}

Telemetry::~Telemetry() = default;

void Telemetry::sync(std::uint32_t shard, const ShardCounts& now) {
  MTA_ASSERT(shard < shards_.size());
  Shard& s = *shards_[shard];
  for (std::size_t i = 0; i < series_.size(); ++i) {
    Shard::Follow& follow = s.follows[i];
    const std::uint64_t value = series_[i].read(now);
    if (value > follow.last) follow.counter->add(value - follow.last);
    follow.last = value;
  }
  s.scheduled->set(static_cast<double>(now.parts_scheduled));
  s.quarantined->set(static_cast<double>(now.parts_quarantined));
  s.suppressed->set(static_cast<double>(now.suppressed_addresses));
  s.mailbox_bytes->set(static_cast<double>(now.mailbox_bytes));
  s.mailbox_messages->set(static_cast<double>(now.mailbox_messages));
  s.fleet_up->set(now.fleet_on && now.fleet.connected ? 1 : 0);
  s.fleet_nodes->set(now.fleet_on && now.fleet.connected ? now.fleet.nodes : 0);
  s.queue[0]->set(static_cast<double>(now.parts_waiting));
  s.queue[1]->set(static_cast<double>(now.parts_ready));
  s.queue[2]->set(static_cast<double>(now.parts_in_flight));
  // Every gauge this shard has goes to its count now, zero for destinations with none left.
  s.connections_now.assign(s.connections.size(), 0);
  for (const auto& [destination, open] : now.connections) {
    const std::uint32_t index = connection_destinations_->index_of(destination);
    if (s.connections[index] == nullptr) {
      const std::string_view value = index < connection_destinations_->values_max()
                                         ? connection_destinations_->value(index)
                                         : connection_destinations_->overflow_value();
      s.connections[index] = &s.registry.gauge(connections_, {value});
    }
    s.connections_now[index] += static_cast<double>(open);
  }
  for (std::size_t i = 0; i < s.connections.size(); ++i) {
    if (s.connections[i] != nullptr) s.connections[i]->set(s.connections_now[i]);
  }
}

void Telemetry::count(std::uint32_t shard, const delivery::RecipientOutcome& outcome) {
  MTA_ASSERT(shard < shards_.size());
  Shard& s = *shards_[shard];
  const std::string& destination = outcome.envelope.destination;
  const std::string_view tenant =
      outcome.envelope.tenant.empty() ? std::string_view("(none)") : outcome.envelope.tenant;
  std::size_t result = 0;
  switch (outcome.recipient.state) {
    case queue::RecipientState::delivered:
      result = 0;
      break;
    case queue::RecipientState::deferred:
      result = 1;
      break;
    case queue::RecipientState::bounced:
      result = 2;
      break;
    case queue::RecipientState::suppressed:
      result = 3;
      break;
    case queue::RecipientState::pending:
      return;
  }
  s.deliveries[result]->inc(destination);
  s.tenant_deliveries[result]->inc(tenant);
  if (result == 1) return;  // deferred is not final: no duration
  s.delivery_duration->observe(std::chrono::duration_cast<std::chrono::nanoseconds>(
      outcome.at - outcome.envelope.received_at));
}

Telemetry::Durations Telemetry::durations(std::uint32_t shard) {
  MTA_ASSERT(shard < shards_.size());
  return shards_[shard]->durations;
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
