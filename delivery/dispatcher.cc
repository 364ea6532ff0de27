// Dispatcher: a due schedule (one shard timer for the earliest part), the parts that are due
// (ReadyQueue: transactional before bulk, tenants in turn, capped tenants waiting), and up to
// connections_max SMTP client connections. A connection that finishes its
// handshake, or a transaction, asks for the next part; the session pipelines each
// transaction (RSET, MAIL, RCPT..., DATA in one write).
#include "delivery/dispatcher.h"

#include <algorithm>
#include <string>
#include <utility>

#include "base/log.h"
#include "delivery/dispatcher_connection.h"
#include "queue/errc.h"

namespace mta::delivery {

Dispatcher::Dispatcher(DispatchContext& context, std::string destination,
                       DestinationOptions options)
    : context_(context),
      destination_(std::move(destination)),
      options_(std::move(options)),
      rates_(options_.limits, context_.shard.clock().now()),
      limits_(options_.limits) {
  context_.shard.on_stop([this] { on_stop(); });
}

Dispatcher::~Dispatcher() {
  context_.shard.cancel_timer(due_timer_);
  context_.shard.cancel_timer(wake_timer_);
  context_.shard.cancel_timer(recover_timer_);
}

Clock::TimePoint Dispatcher::sendable_at(Clock::TimePoint now) const {
  Clock::TimePoint at = Clock::TimePoint::max();
  const bool sendable = ready_.any([&](TenantIndex tenant, PoolIndex) {
    at = std::min(at, context_.tenants.next_at(tenant, now));
    return at <= now;
  });
  return sendable || ready_.empty() ? now : at;
}

void Dispatcher::pump_at(Clock::TimePoint at) {
  if (stopping_) return;
  if (wake_timer_ != 0) {
    if (wake_at_ <= at) return;  // an earlier wake-up pumps anyway, and asks again
    context_.shard.cancel_timer(wake_timer_);
  }
  wake_at_ = at;
  const Clock::Duration wait =
      std::max<Clock::Duration>(at - context_.shard.clock().now(), std::chrono::milliseconds(1));
  wake_timer_ = context_.shard.schedule(wait, [this] {
    wake_timer_ = 0;
    pump();
  });
}

void Dispatcher::quit_idle(std::size_t keep) {
  std::size_t open = connections_.size();
  for (auto& [id, connection] : connections_) {
    if (open <= keep) return;
    if (connection->idle()) {
      connection->quit();
      --open;
    }
  }
}

std::size_t Dispatcher::busy_count() const {
  std::size_t busy = 0;
  for (const auto& [id, connection] : connections_) busy += connection->busy() ? 1 : 0;
  return busy;
}

void Dispatcher::add(queue::PartKey key, Clock::WallTime due, std::uint32_t tag) {
  schedule_.add(due, key, tag);
  if (due >= queue::quarantined_due) {
    quarantined_.insert(key);  // never due: no timer, no pump
    return;
  }
  if (due <= context_.shard.clock().wall_now()) {
    pump();
  } else {
    arm_due_timer();
  }
}

void Dispatcher::receive(PoolHandoff&& handoff) {
  const Clock::TimePoint now = context_.shard.clock().now();
  // The first hand-off, or a fresher answer once ours has expired, sets where to dial. Between
  // the two, every domain of the pool dials the same addresses, so failover state holds.
  if (options_.addresses.empty() || now >= route_expires_) {
    options_.addresses = std::move(handoff.addresses);
    options_.names = std::move(handoff.names);
    route_expires_ = now + handoff.route_ttl;
    cursor_ = 0;
    failed_in_round_.assign(options_.addresses.size(), false);
  }
  for (const HandoffPart& part : handoff.parts) {
    ready_.push(ReadyPart{.key = part.key,
                          .tenant = context_.tenants.intern(part.tenant),
                          .traffic_class = part.traffic_class,
                          .pool = context_.tenants.pool_index(part.pool)});
  }
  pump();
}

void Dispatcher::hand_ready_to_pool() {
  PoolHandoff handoff{.pool = pool_,
                      .addresses = options_.addresses,
                      .names = options_.names,
                      .tls = options_.tls,
                      .domain = destination_,
                      .route_ttl = route_expires_ - context_.shard.clock().now(),
                      .parts = {}};
  // In the order the pool's ready queue will want them anyway (it keeps the same policy).
  for (const ReadyPart& part : ready_.take_all()) {
    handoff.parts.push_back(HandoffPart{.key = part.key,
                                        .tenant = context_.tenants.name(part.tenant),
                                        .traffic_class = part.traffic_class,
                                        .pool = context_.tenants.pool_name(part.pool)});
  }
  context_.probe.handed_to_pools += handoff.parts.size();
  context_.links.hand_off(std::move(handoff));
}

double Dispatcher::unit_random() {
  return std::uniform_real_distribution<double>(0.0, 1.0)(context_.random);
}

void Dispatcher::take_due() {
  std::vector<queue::Schedule::Due> due;
  schedule_.pop_due(context_.shard.clock().wall_now(), schedule_.size(), due);
  for (const auto& [key, tag] : due) ready_.push(Tenants::from_tag(key, tag));
}

void Dispatcher::arm_due_timer() {
  if (stopping_) return;
  const auto next = schedule_.next_due();
  if (!next || *next >= queue::quarantined_due) return;
  if (due_timer_ != 0 && *next >= due_timer_at_) return;
  context_.shard.cancel_timer(due_timer_);
  due_timer_at_ = *next;
  const auto delay =
      std::max<Clock::Duration>(*next - context_.shard.clock().wall_now(), Clock::Duration::zero());
  due_timer_ = context_.shard.schedule(delay, [this] {
    due_timer_ = 0;
    pump();
  });
}

bool Dispatcher::uses_mx() const { return context_.links.resolver != nullptr && options_.mx; }

void Dispatcher::resolve() {
  resolving_ = true;
  context_.links.resolver->resolve_mx(destination_, [this](const dns::MxResult& result) {
    resolving_ = false;
    on_resolved(result);
  });
}

void Dispatcher::on_resolved(const dns::MxResult& result) {
  const Clock::TimePoint now = context_.shard.clock().now();
  // At least a second, so a zero TTL cannot turn into a query per part.
  route_expires_ = now + std::max<Clock::Duration>(result.ttl, std::chrono::seconds(1));
  if (result.kind == dns::MxResult::deliver) {
    std::vector<engine::SocketAddress> addresses;
    std::vector<std::string> names;
    for (const auto& host : result.hosts) {
      for (const auto& address : host.addresses) {
        const std::string port = std::to_string(context_.links.remote_port);
        const std::string text = address.family == dns::Family::ipv6
                                     ? "[" + address.ip + "]:" + port
                                     : address.ip + ":" + port;
        if (auto parsed = engine::SocketAddress::parse(text)) {
          addresses.push_back(*parsed);
          names.push_back(host.name);
        }
      }
    }
    if (!addresses.empty()) {
      // Domains share a pool only under the same TLS policy: it decides how the pool connects.
      pool_ = pool_name(result, options_.tls);
      options_.addresses = std::move(addresses);
      options_.names = std::move(names);
      cursor_ = 0;
      failed_in_round_.assign(options_.addresses.size(), false);
      pump();
      return;
    }
  }
  options_.addresses.clear();
  const std::string reason = (result.status.empty() ? std::string("4.4.3") : result.status) + " " +
                             destination_ + ": " + result.reason;
  take_due();
  if (result.kind != dns::MxResult::bounce) {
    fail_ready(reason, false);
    return;
  }
  // Null MX or a domain that does not exist: nothing due can ever be delivered.
  fail_ready(reason, true);
}

void Dispatcher::resolve_smarthosts() {
  resolving_ = true;
  delivery::resolve_smarthosts(options_.smarthosts, context_.links.resolver, context_.links.hosts,
                               [this](const SmarthostRoute& route) {
                                 resolving_ = false;
                                 on_smarthosts_resolved(route);
                               });
}

void Dispatcher::on_smarthosts_resolved(const SmarthostRoute& route) {
  const Clock::TimePoint now = context_.shard.clock().now();
  route_expires_ = now + std::max<Clock::Duration>(route.ttl, std::chrono::seconds(1));
  if (route.addresses.empty()) {
    options_.addresses.clear();
    take_due();
    fail_ready("4.4.3 " + destination_ + ": " + route.error, false);
    return;
  }
  options_.addresses = route.addresses;
  options_.names = route.names;
  cursor_ = 0;
  failed_in_round_.assign(options_.addresses.size(), false);
  pump();
}

void Dispatcher::pump() {
  if (stopping_) return;
  take_due();
  arm_due_timer();
  wanted_peak_ = std::max(wanted_peak_, connections_.size());
  if (const auto until = suspended_until()) {
    // Again when it ends (an earlier wake-up may have brought us here).
    pump_at(context_.shard.clock().now() + (*until - context_.shard.clock().wall_now()));
    return;
  }
  if (uses_mx() && !ready_.empty() &&
      (options_.addresses.empty() || context_.shard.clock().now() >= route_expires_)) {
    if (!resolving_) resolve();
    return;
  }
  if (!options_.smarthosts.hosts.empty() &&
      (options_.addresses.empty() || context_.shard.clock().now() >= route_expires_)) {
    if (!ready_.empty() && !resolving_) resolve_smarthosts();
    return;
  }
  if (options_.addresses.empty()) {
    // No route: every due part is deferred (and bounces once it expires).
    fail_ready("4.4.3 no route to " + destination_ + ": no relay and no DNS resolver", false);
    return;
  }
  if (uses_mx() && context_.links.hand_off) {
    if (!ready_.empty()) hand_ready_to_pool();
    return;
  }
  for (auto& [id, connection] : connections_) {
    if (ready_.empty()) return;
    if (connection->idle()) connection->take_next();
  }
  if (!ready_.empty()) open_connections();
}

void Dispatcher::open_connections() {
  const Clock::TimePoint now = context_.shard.clock().now();
  if (const Clock::TimePoint at = sendable_at(now); at > now) {
    // Everything waiting is capped tenants': no connection for it, which would only idle
    // out and open again, until the first of them may send.
    pump_at(at);
    return;
  }
  wanted_peak_ = std::max(wanted_peak_, connections_.size() + ready_.size());
  if (now < connect_blocked_until_) {
    pump_at(connect_blocked_until_);
    return;
  }
  std::size_t connecting = 0;
  for (auto& [id, connection] : connections_) {
    if (!connection->ready()) ++connecting;
  }
  while (connections_.size() < options_.limits.connections_max && connecting < ready_.size()) {
    if (!rates_.take_connection(now)) {
      pump_at(rates_.connection_at(now));
      break;
    }
    const SourceChoice source = next_source(options_.addresses[cursor_].family());
    if (source.blocked) {
      // Every source that may carry what waits is at its warm-up cap (until the next UTC day)
      // or its connections to this destination (until one closes, which pumps).
      const Clock::WallTime wall = context_.shard.clock().wall_now();
      const auto midnight = std::chrono::ceil<std::chrono::days>(wall + std::chrono::seconds(1));
      pump_at(now + (midnight - wall));
      break;
    }
    const std::uint64_t id = next_connection_id_++;
    connections_.emplace(
        id, std::make_unique<Connection>(*this, id, cursor_, source.index, ready_.front()));
    ++context_.probe.connections_opened;
    ++connecting;
  }
}

bool Dispatcher::assign(Connection& connection) {
  if (suspended_until()) return false;
  const Clock::TimePoint now = context_.shard.clock().now();
  if (const Clock::TimePoint at = rates_.message_at(now); at > now) {
    pump_at(at);
    return false;
  }
  if (ready_.empty()) take_due();
  // Tenants over their rate cap wait, with their parts kept here; the others go first. A
  // connection carries the parts of its source's pool, and those that name none.
  const auto may_send = [this, now, &connection](TenantIndex tenant, PoolIndex pool) {
    return connection.carries_pool(pool) && context_.tenants.may_send(tenant, now);
  };
  while (!ready_.empty()) {
    const std::optional<ReadyPart> next = ready_.pop(may_send);
    if (!next) {
      wait_for_sendable(connection, now);
      return false;
    }
    if (!connection.take_from_budget(context_.shard.clock().wall_now())) {
      // Its source reached today's warm-up cap: the part waits, first, for a connection from
      // another source of its pool (this one makes room for it). A part taken from the cap
      // and then not sent (gone, expired, suppressed) errs on the side of sending less.
      ready_.push_front(*next);
      connection.quit();
      return false;
    }
    switch (start_part(connection, *next, now)) {
      case PartStart::started:
        return true;
      case PartStart::settled:
        break;
      case PartStart::refused:
        if (!connection.idle()) return false;
        break;
    }
  }
  return false;
}

void Dispatcher::wait_for_sendable(Connection& connection, Clock::TimePoint now) {
  if (ready_.any([this, now](TenantIndex tenant, PoolIndex) {
        return context_.tenants.may_send(tenant, now);
      })) {
    // What may go now is for another pool. With room for another connection, the pump opens
    // one from there; without, this one makes room for it (the pump after it closes picks a
    // source of a waiting pool).
    if (connections_.size() >= options_.limits.connections_max) connection.quit();
    return;
  }
  // Every tenant waiting is capped: again when the first of them may send.
  Clock::TimePoint at = Clock::TimePoint::max();
  ready_.for_each_flow([&](TenantIndex tenant, PoolIndex) {
    at = std::min(at, context_.tenants.next_at(tenant, now));
  });
  pump_at(at);
}

Dispatcher::PartStart Dispatcher::start_part(Connection& connection, const ReadyPart& part,
                                             Clock::TimePoint now) {
  const queue::PartKey key = part.key;
  auto envelope = context_.store.read_envelope(key);
  if (!envelope) {
    // Gone (deleted by an operator) or unreadable.
    if (envelope.error().code != queue::Errc::not_found) {
      ++context_.probe.store_failures;
      log::error("queue: cannot read " + to_hex(key.message) + ": " + envelope.error().message());
    }
    return PartStart::settled;
  }
  std::vector<std::size_t> tried =
      recipients_to_try(*envelope, options_.limits.recipients_per_message_max);
  if (envelope->expires_at <= context_.shard.clock().wall_now()) {
    record(*envelope, tried, expire(*envelope));
    return PartStart::settled;
  }
  if (context_.links.suppressed) drop_suppressed(*envelope, tried);
  if (tried.empty()) {
    record(*envelope, {}, Outcome{});
    return PartStart::settled;
  }
  auto body = context_.store.read_body(key.message);
  if (!body) {
    ++context_.probe.store_failures;
    log::error("queue: cannot read body of " + to_hex(key.message) + ": " + body.error().message());
    finish_with_failure(*envelope, tried, "4.3.0 queue read failed");
    return PartStart::settled;
  }
  (void)rates_.take_message(now);
  context_.tenants.sent(part.tenant, now);
  return connection.start(std::move(envelope).value(), std::move(tried), *body)
             ? PartStart::started
             : PartStart::refused;
}

void Dispatcher::on_stop() {
  stopping_ = true;
  context_.shard.cancel_timer(due_timer_);
  due_timer_ = 0;
  quit_idle(0);
}

}  // namespace mta::delivery
