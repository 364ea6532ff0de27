// Phase: start one shard, on its thread, service by service (TLS, DNS, delivery, injection,
// mailbox, admin and HTTP, duties); the last shard to recover opens every shard's listeners.
#include <random>

#include "app/daemon/daemon.h"
#include "base/log.h"
#include "delivery/dsn_routes.h"

namespace mta::app {

void Daemon::start_shard(engine::Shard& shard) {
  ShardServices& mine = services_[shard.id().value()];
  start_tls(mine);
  if (settings_->delivery.needs_dns()) start_dns(shard, mine);
  start_delivery(shard, mine);
  recover(shard, mine);
  start_injection(shard, mine);
  if (shard.id() == mailbox_shard) {
    start_mailbox(shard, mine);
    start_mail_access(shard, mine);
  }
  start_admin(shard, mine);
  start_http(shard, mine);
  start_duties(shard, mine);
  listen_when_recovered(shard);
}

// This shard's server certificate (same ticket keys on every shard) and its outbound
// contexts. Checked on the main thread already; a failure here is a file changed in between.
void Daemon::start_tls(ShardServices& mine) {
  const Stores& stores = *stores_;
  if (auto server = tls::ServerContext::load(stores.certificate.first, stores.certificate.second)) {
    mine.tls_server = std::move(server).value();
    if (auto keys = mine.tls_server->set_ticket_keys(stores.ticket_keys); !keys) {
      log::warning("tls: ticket keys: " + keys.error().message());
    }
  } else {
    log::error("tls: " + server.error().message());
  }
  if (auto client = tls::ClientContext::create(tls::ClientOptions{})) {
    mine.tls_client = std::move(client).value();
  }
  if (auto client = tls::ClientContext::create(settings_->verify_options)) {
    mine.tls_verify = std::move(client).value();
  }
}

// MX resolution (no relay) and smarthosts by name: c-ares polled on the shard's ring, and the
// shard's cache.
void Daemon::start_dns(engine::Shard& shard, ShardServices& mine) {
  auto ares = dns::AresResolver::create(config_.dns.resolver);
  if (!ares) {
    // Without a resolver every domain defers (4.4.3) until the next start.
    log::error("dns: " + ares.error().message());
    return;
  }
  mine.ares = std::move(ares).value();
  mine.dns_poller = std::make_unique<delivery::DnsPoller>(shard, *mine.ares);
  mine.mx = std::make_unique<dns::CachingResolver>(*mine.ares, shard.clock(), config_.dns.cache,
                                                   config_.dns.mx,
                                                   dns::seeded_random(std::random_device{}()));
  shard.on_stop([poller = mine.dns_poller.get()] { poller->close(); });
}

// What the sections say (converted once, in read_settings), with this shard's resolver, TLS
// contexts, router functions, suppression list and crash-loop marks.
delivery::ShardDeliveryOptions Daemon::delivery_options(engine::Shard& shard, ShardServices& mine) {
  delivery::ShardDeliveryOptions options = settings_->delivery.shard_options(shard_count_);
  options.links.resolver = mine.mx.get();
  options.links.hosts = mine.ares.get();
  options.links.hand_off = router_->hand_off_from(shard);
  options.links.requeue = router_->hand_over_from(shard);
  options.links.tls_client = mine.tls_client.get();
  options.links.tls_verify = mine.tls_verify.get();
  options.links.suppressed = suppressed_;
  options.links.in_flight = stores_->breaker.table.get();
  options.fleet = reporting_->fleet != nullptr;
  return options;
}

// The shard's ids, group commit and delivery; delivery attaches to the router, reports its
// outcomes, and starts with what the crash-loop breaker holds suspended.
void Daemon::start_delivery(engine::Shard& shard, ShardServices& mine) {
  queue::Store& spool = *stores_->spool;
  mine.ids = std::make_unique<queue::MessageIdGenerator>(shard.id(), shard.clock());
  mine.committer = std::make_unique<queue::GroupCommit>(shard, spool,
                                                        queue::group_commit_options(config_.spool));
  mine.delivery = std::make_unique<delivery::ShardDelivery>(
      shard, spool, *mine.ids, delivery_options(shard, mine), router_->hand_over_from(shard),
      delivery::route_dsns(delivery::DsnRoutes{.bounce_domain = config_.bounce.domain,
                                               .own = own_dsns_->store_from(shard),
                                               .commit = mine.committer->submitter()}));
  router_->attach(shard.id(), *mine.delivery);
  mine.delivery->set_on_outcome(
      delivery::tell_observers(shard.id().value(), reporting_->outcome_observers()));
  // Held by the crash-loop breaker until an operator resumes it.
  for (const std::string& destination : stores_->breaker.held_destinations) {
    mine.delivery->suspend(destination, queue::quarantined_due);
    reporting_->board.note_suspension(destination, queue::quarantined_due, "crash-loop breaker");
  }
  if (reporting_->fleet != nullptr) sync_fleet(shard, *mine.delivery, *reporting_->fleet);
}

// The parts of the schedule index this shard owns.
void Daemon::recover(engine::Shard& shard, ShardServices& mine) {
  auto recovered =
      mine.delivery->recover([&shard, router = router_.get()](const queue::ScheduledItem& i) {
        return router->owner(i) == shard.id();
      });
  if (!recovered) {
    log::error("queue recovery failed: " + recovered.error().message());
  } else if (*recovered > 0) {
    log::info("recovered " + std::to_string(*recovered) + " queued parts on shard " +
              std::to_string(shard.id().value()));
  }
}

}  // namespace mta::app
