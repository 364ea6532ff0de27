#include "mailbox/probe_metrics.h"

#include <array>
#include <string>
#include <utility>

#include "mailbox/bounce.h"
#include "mailbox/bounce_rules.h"

namespace mta::mailbox {
namespace {

using metrics::declare_counter;
using Counts = const ProbeMetrics::Probes&;
using Read = std::uint64_t (*)(Counts);

// Readers of the intake's per-kind and per-category arrays, one function per index.
template <std::size_t I>
std::uint64_t by_kind(Counts n) {
  return n.intake.by_kind[I];
}
template <std::size_t I>
std::uint64_t by_category(Counts n) {
  return n.intake.by_category[I];
}
template <std::size_t... I>
constexpr auto kind_readers(std::index_sequence<I...>) {
  return std::array<Read, sizeof...(I)>{&by_kind<I>...};
}
template <std::size_t... I>
constexpr auto category_readers(std::index_sequence<I...>) {
  return std::array<Read, sizeof...(I)>{&by_category<I>...};
}

}  // namespace

ProbeMetrics::ProbeMetrics(metrics::Catalog& catalog) {
  declare_bounces(catalog);
  declare_store(catalog);
  declare_listeners(catalog);
  declare_sizes(catalog);
}

// Bounces stored by kind, their recipients by classification, suppressions and trust.
void ProbeMetrics::declare_bounces(metrics::Catalog& catalog) {
  const auto bounces =
      declare_counter(catalog, {"outpost_bounces_received_total",
                                "Messages stored in the bounce mailbox, by what they are.",
                                {"kind"}});
  const auto kinds = kind_readers(std::make_index_sequence<IntakeProbe{}.by_kind.size()>());
  for (std::size_t k = 0; k < kinds.size(); ++k) {
    counters_.follow(bounces, {std::string(to_string(static_cast<BounceKind>(k)))}, kinds[k]);
  }
  const auto recipients = declare_counter(
      catalog, {"outpost_bounces_total",
                "Recipients named by bounces stored in the bounce mailbox, by classification.",
                {"category"}});
  const auto categories = category_readers(std::make_index_sequence<kCategoryCount>());
  for (std::size_t k = 0; k < categories.size(); ++k) {
    counters_.follow(recipients, {std::string(to_string(static_cast<Category>(k)))}, categories[k]);
  }
  counters_.follow(
      declare_counter(catalog,
                      {"outpost_suppressions_added_total",
                       "Recipients put on the suppression list by a hard bounce or a complaint.",
                       {}}),
      {}, [](Counts n) { return n.intake.suppressions_added; });
  counters_.follow(
      declare_counter(catalog,
                      {"outpost_bounces_untrusted_total",
                       "Bounces and complaints tied to no message Outpost sent (no VERP tag or "
                       "X-Outpost-Ref verified): stored with X-Outpost-Bounce-Trusted: no, they "
                       "suppressed nobody.",
                       {}}),
      {}, [](Counts n) { return n.intake.untrusted; });
}

// Writes that failed, and messages the store expired on its own.
void ProbeMetrics::declare_store(metrics::Catalog& catalog) {
  counters_.follow(
      declare_counter(
          catalog,
          {"outpost_mailbox_store_failures_total",
           "Bounces or suppressions the mailbox could not write (the sender was told 4xx).",
           {}}),
      {}, [](Counts n) { return n.intake.store_failures; });
  const auto expired = declare_counter(
      catalog,
      {"outpost_mailbox_expired_total",
       "Messages the bounce mailbox removed on its own, by reason: quota (room for newer ones, "
       "oldest first) or retention (older than mailbox.retention).",
       {"reason"}});
  counters_.follow(expired, {"quota"}, [](Counts n) { return n.store.expired_quota; });
  counters_.follow(expired, {"retention"}, [](Counts n) { return n.store.expired_retention; });
}

// The intake's per-client refusals; connections and logins by protocol.
void ProbeMetrics::declare_listeners(metrics::Catalog& catalog) {
  auto& c = counters_;
  const auto refused = declare_counter(
      catalog, {"outpost_bounce_intake_refused_total",
                "MAIL commands the bounce listener refused with 450 4.7.1, by the per-client limit "
                "crossed (bounce.messages_per_ip_per_minute, bytes_per_ip_per_minute, or too many "
                "clients at once).",
                {"limit"}});
  c.follow(refused, {"messages"}, [](Counts n) { return n.limits.refused_messages; });
  c.follow(refused, {"bytes"}, [](Counts n) { return n.limits.refused_bytes; });
  c.follow(refused, {"clients"}, [](Counts n) { return n.limits.refused_clients; });
  const auto connections =
      declare_counter(catalog, {"outpost_mailbox_connections_total",
                                "Connections to the bounce mailbox, by protocol and result.",
                                {"protocol", "result"}});
  c.follow(connections, {"smtp", "accepted"}, [](Counts n) { return n.smtp.accepted; });
  c.follow(connections, {"smtp", "refused"}, [](Counts n) { return n.smtp.refused; });
  c.follow(connections, {"imap", "accepted"}, [](Counts n) { return n.imap.connections_accepted; });
  c.follow(connections, {"imap", "refused"}, [](Counts n) { return n.imap.connections_refused; });
  c.follow(connections, {"pop3", "accepted"}, [](Counts n) { return n.pop3.connections_accepted; });
  c.follow(connections, {"pop3", "refused"}, [](Counts n) { return n.pop3.connections_refused; });
  const auto logins = declare_counter(catalog, {"outpost_mailbox_logins_total",
                                                "IMAP and POP3 logins, by protocol and result.",
                                                {"protocol", "result"}});
  c.follow(logins, {"imap", "success"}, [](Counts n) { return n.imap.logins; });
  c.follow(logins, {"imap", "failure"}, [](Counts n) { return n.imap.login_failures; });
  c.follow(logins, {"pop3", "success"}, [](Counts n) { return n.pop3.logins; });
  c.follow(logins, {"pop3", "failure"}, [](Counts n) { return n.pop3.login_failures; });
  c.follow(logins, {"imap", "refused"}, [](Counts n) { return n.imap.login_refused; });
  c.follow(logins, {"pop3", "refused"}, [](Counts n) { return n.pop3.login_refused; });
}

void ProbeMetrics::declare_sizes(metrics::Catalog& catalog) {
  suppressed_ = metrics::declare_gauge(
      catalog, {"outpost_suppressed_addresses",
                "Addresses on the suppression list (reported by the mailbox shard).",
                {}});
  bytes_ = metrics::declare_gauge(
      catalog, {"outpost_mailbox_bytes",
                "Octets of all messages in the bounce mailbox, every folder (mailbox.quota_bytes "
                "caps it).",
                {}});
  messages_ = metrics::declare_gauge(
      catalog, {"outpost_mailbox_messages", "Messages in the bounce mailbox, every folder.", {}});
}

ProbeMetrics::Shard ProbeMetrics::bind(metrics::Registry& registry) const {
  return {.counters = counters_.bind(registry),
          .suppressed = &registry.gauge(suppressed_),
          .bytes = &registry.gauge(bytes_),
          .messages = &registry.gauge(messages_)};
}

void ProbeMetrics::publish(Shard& shard, const Probes& now, const Sizes& sizes) const {
  counters_.publish(shard.counters, now);
  shard.suppressed->set(static_cast<double>(sizes.suppressed_addresses));
  shard.bytes->set(static_cast<double>(sizes.bytes));
  shard.messages->set(static_cast<double>(sizes.messages));
}

}  // namespace mta::mailbox
