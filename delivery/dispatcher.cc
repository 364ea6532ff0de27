// Dispatcher: a due schedule (one shard timer for the earliest part), the parts that are due
// (ReadyQueue: transactional before bulk, tenants in turn, capped tenants waiting), and up to
// connections_max SMTP client connections. A connection that finishes its
// handshake, or a transaction, asks for the next part; the session pipelines each
// transaction (RSET, MAIL, RCPT..., DATA in one write).
#include "delivery/dispatcher.h"

#include <algorithm>
#include <bitset>
#include <cctype>
#include <string>
#include <utility>

#include "base/log.h"
#include "base/rfc3339.h"
#include "queue/errc.h"
#include "tls/stream.h"

namespace mta::delivery {

// One SMTP client connection to the destination: a ConnectionDriver (every decision) over a
// tls::Stream (STARTTLS per the destination's policy), with the driver's Transport and
// ConnectionOwner made of the stream, a shard timer and the Dispatcher. Lives in
// Dispatcher::connections_ from creation until its stream closes; erased at the end of that
// loop turn.
class Dispatcher::Connection final : public tls::StreamHandler,
                                     private Transport,
                                     private ConnectionOwner {
 public:
  // `opened_for`: a part waiting for it, marked in flight until the connection takes its
  // first part (a crash in the greeting, EHLO or TLS counts against it).
  Connection(Dispatcher& owner, std::uint64_t id, std::size_t address_index,
             std::optional<std::size_t> source, std::optional<queue::PartKey> opened_for)
      : owner_(owner),
        id_(id),
        address_(owner.options_.addresses[address_index]),
        source_(source ? &owner.options_.sources[*source] : nullptr),
        pool_(source_ ? std::optional(owner.context_.tenants.pool_index(source_->pool))
                      : std::nullopt),
        driver_(settings(owner, address_index, source_), *this, *this, owner.context_.probe),
        stream_(*this) {
    owner_.context_.shard.hold();
    if (opened_for) mark(*opened_for);
    stream_.connect(owner_.context_.shard, address_, owner_.options_.connect_timeout,
                    source_ != nullptr ? &source_->address : nullptr);
  }

  bool idle() const { return driver_.idle(); }
  bool carries(queue::PartKey key) const { return driver_.carries(key); }
  bool ready() const { return driver_.ready(); }
  bool busy() const { return driver_.busy(); }
  // Whether a part of `pool` may go on this connection.
  bool carries_pool(PoolIndex pool) const { return pool == 0 || !pool_ || *pool_ == pool; }
  bool from(const Source& source) const { return source_ == &source; }
  // Takes one message of its source's warm-up cap for today; false when it is used up.
  bool take_from_budget(Clock::WallTime now) {
    return source_ == nullptr || source_->budget == nullptr || source_->budget->take(now);
  }
  void take_next() { driver_.take_next(); }
  bool start(queue::Envelope&& envelope, std::vector<std::size_t>&& tried,
             const std::string& body) {
    // The crash-loop breaker's mark, before the transaction's first byte: if the process dies
    // before the outcome is recorded, the next start-up counts a crash against this part.
    mark(queue::PartKey{envelope.id, envelope.part});
    // false: settled at once through on_failure(), which unmarks.
    return driver_.start(std::move(envelope), std::move(tried), body);
  }
  void quit() { driver_.quit(); }

  // tls::StreamHandler
  void on_connected(int error) override {
    if (error == 0) stream_.set_idle_timeout(owner_.options_.reply_timeout);
    driver_.on_connected(error);
  }
  void on_data(Buffer& input) override { driver_.on_data(input); }
  void on_tls_ready(const Result<void>& result) override { driver_.on_tls_ready(result); }
  void on_closed(int error) override {
    driver_.on_closed(error);  // settles a part in flight (on_failure unmarks it)
    if (slot_) {
      owner_.context_.in_flight->release(*slot_);
      slot_.reset();
    }
    owner_.context_.shard.release();
    owner_.on_connection_closed(id_);
  }

 private:
  static ConnectionSettings settings(const Dispatcher& owner, std::size_t address_index,
                                     const Source* source) {
    return ConnectionSettings{
        .address_index = address_index,
        .address = owner.options_.addresses[address_index].to_string(),
        .name = owner.name_of(address_index),
        .source = source != nullptr ? source->address.host() : std::string(),
        .tls = owner.options_.tls,
        .idle_timeout = owner.options_.idle_timeout,
        .session = smtp::ClientOptions{.helo_name = source != nullptr && !source->helo_name.empty()
                                                        ? source->helo_name
                                                        : owner.options_.helo_name,
                                       .starttls = wants_tls(owner, address_index)}};
  }

  static bool wants_tls(const Dispatcher& owner, std::size_t index) {
    if (owner.options_.tls == TlsPolicy::none || owner.context_.tls_client == nullptr) {
      return false;
    }
    return owner.options_.tls != TlsPolicy::opportunistic || !owner.plaintext_only(index);
  }

  // Transport
  void write(std::string_view bytes) override { stream_.write(bytes); }
  Result<void> start_tls() override {
    ShardDelivery& context = owner_.context_;
    tls::ClientContext* tls_context =
        owner_.options_.tls == TlsPolicy::verify ? context.tls_verify : context.tls_client;
    if (tls_context == nullptr) {
      return unexpected(std::make_error_code(std::errc::not_supported), "no TLS context");
    }
    // The session cache key: the host name when there is one (an MX host), else the address.
    const std::string& name = driver_.settings().name;
    const std::string key =
        name.empty() ? address_.to_string() : name + ":" + std::to_string(address_.port());
    return stream_.start_tls_client(*tls_context, name, key, owner_.options_.tls_handshake_timeout);
  }
  void close() override { stream_.close(); }
  const tls::Info* tls_info() const override { return stream_.tls_info(); }
  void arm_idle_timer(Clock::Duration after) override {
    cancel_idle_timer();
    idle_timer_ = owner_.context_.shard.schedule(after, [this] {
      idle_timer_ = 0;
      driver_.on_idle_timeout();
    });
  }
  void cancel_idle_timer() override {
    owner_.context_.shard.cancel_timer(idle_timer_);
    idle_timer_ = 0;
  }

  // ConnectionOwner
  bool should_quit(std::size_t sent) override {
    return owner_.stopping_ || sent >= owner_.options_.limits.messages_per_connection_max ||
           owner_.connections_.size() > owner_.options_.limits.connections_max;
  }
  bool assign(ConnectionDriver&) override {
    if (owner_.assign(*this)) return true;
    unmark();  // idle: a crash now is no part's
    return false;
  }
  void on_ready(std::size_t address_index) override { owner_.on_connection_ready(address_index); }
  void on_transaction(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                      const smtp::TransactionResult& result, const Hop& hop) override {
    owner_.finish(envelope, tried, result, hop);
    unmark();
  }
  void on_failure(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                  const std::string& reason, const Hop& hop, bool permanent) override {
    owner_.finish_with_failure(envelope, tried, reason, &hop, permanent);
    unmark();
  }
  void react(const smtp::Reply& reply) override { owner_.react(reply); }
  void on_connection_failed(std::size_t address_index, const std::string& reason,
                            bool tls_fallback) override {
    log::warning(owner_.destination_ + ": " + reason);
    if (tls_fallback) {
      owner_.on_tls_fallback(address_index);
    } else {
      owner_.on_connection_failed(address_index, reason);
    }
  }

  // This connection's slot (taken at the first mark) names `key`.
  void mark(queue::PartKey key) {
    queue::InFlightTable* table = owner_.context_.in_flight;
    if (table == nullptr) return;
    if (!slot_) slot_ = table->acquire();
    if (slot_) table->mark(*slot_, key);
  }

  // The attempt's outcome is recorded: no crash from here on is this part's.
  void unmark() {
    if (slot_) owner_.context_.in_flight->clear(*slot_);
  }

  Dispatcher& owner_;
  const std::uint64_t id_;
  const engine::SocketAddress address_;
  const Source* source_;                 // nullptr: the kernel's choice
  const std::optional<PoolIndex> pool_;  // its source's pool; nullopt: any (no source)
  ConnectionDriver driver_;
  tls::Stream stream_;
  engine::TimerId idle_timer_ = 0;
  std::optional<std::uint32_t> slot_;  // its InFlightTable slot, from its first mark on
};

std::optional<std::size_t> next_weighted_source(const std::vector<Source>& sources,
                                                std::vector<std::int64_t>& credit, int family,
                                                const std::function<bool(const Source&)>& allowed) {
  credit.resize(sources.size(), 0);
  std::optional<std::size_t> best;
  std::int64_t total = 0;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    if (sources[i].address.family() != family || sources[i].weight == 0) continue;
    if (allowed && !allowed(sources[i])) continue;
    credit[i] += sources[i].weight;
    total += sources[i].weight;
    if (!best || credit[i] > credit[*best]) best = i;
  }
  if (best) credit[*best] -= total;
  return best;
}

std::string pool_name(const dns::MxResult& result) {
  std::vector<std::string> hosts;
  for (const auto& host : result.hosts) {
    std::string name = host.name;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!name.empty() && name.back() == '.') name.pop_back();
    hosts.push_back(std::move(name));
  }
  std::sort(hosts.begin(), hosts.end());
  hosts.erase(std::unique(hosts.begin(), hosts.end()), hosts.end());
  std::string name = "mx:";
  for (const auto& host : hosts) name += (name.size() > 3 ? "," : "") + host;
  return name;
}

Dispatcher::Dispatcher(ShardDelivery& context, std::string destination, DestinationOptions options)
    : context_(context),
      destination_(std::move(destination)),
      options_(std::move(options)),
      rates_(options_.limits, context_.shard.clock().now()),
      own_limits_(options_.limits) {
  context_.shard.on_stop([this] { on_stop(); });
}

Dispatcher::~Dispatcher() {
  context_.shard.cancel_timer(due_timer_);
  context_.shard.cancel_timer(wake_timer_);
  context_.shard.cancel_timer(recover_timer_);
}

void Dispatcher::refresh_limits() {
  Limits limits = base_limits();
  if (throttle_) limits.tighten(*throttle_);
  if (limits == options_.limits) return;
  options_.limits = limits;
  rates_ = RateGate(limits, context_.shard.clock().now());
}

void Dispatcher::set_limits(const Limits& limits) {
  own_limits_ = limits;
  refresh_limits();
}

void Dispatcher::set_fleet_limits(std::optional<Limits> limits) {
  if (limits == fleet_limits_) return;
  const std::size_t before = options_.limits.connections_max;
  fleet_limits_ = limits;
  refresh_limits();
  if (options_.limits.connections_max < before) {
    quit_idle(options_.limits.connections_max);
  } else {
    pump();
  }
}

Clock::TimePoint Dispatcher::sendable_at(Clock::TimePoint now) const {
  Clock::TimePoint at = Clock::TimePoint::max();
  const bool sendable = ready_.any([&](TenantIndex tenant, PoolIndex) {
    at = std::min(at, context_.tenants.next_at(tenant, now));
    return at <= now;
  });
  return sendable || ready_.empty() ? now : at;
}

std::size_t Dispatcher::take_connections_wanted(std::size_t most) {
  if (throttle_) most = std::min(most, throttle_->connections_max);
  const Clock::TimePoint at = context_.shard.clock().now();
  const std::size_t now =
      connections_.size() + (sendable_at(at) > at ? std::size_t{0} : ready_.size());
  const std::size_t wanted = std::min(most, std::max(wanted_peak_, now));
  wanted_peak_ = now;
  return wanted;
}

void Dispatcher::react(const smtp::Reply& reply) {
  if (context_.response_rules == nullptr || reply.code < 400) return;
  const std::string text = reply.to_string();
  const ResponseRule* rule = context_.response_rules->match(reply.code, text);
  if (rule == nullptr) return;
  const ResponseAction& action = rule->action;
  if (action.suspend > Clock::Duration::zero()) {
    const auto until = context_.shard.clock().wall_now() +
                       std::chrono::duration_cast<Clock::WallTime::duration>(action.suspend);
    if (until > suspended_until_) {
      ++context_.probe.shaping_suspensions;
      log::warning(destination_ + ": \"" + text + "\" matched shaping rule " + rule->name +
                   ": suspended until " + rfc3339(until));
      suspend(until);
    }
  }
  if (action.throttles()) {
    ++context_.probe.shaping_throttles;
    log::warning(
        destination_ + ": \"" + text + "\" matched shaping rule " + rule->name + ": throttled" +
        (action.connections > 0 ? " to " + std::to_string(action.connections) + " connections"
                                : std::string()) +
        (action.messages_per_second > 0
             ? ", " + std::to_string(action.messages_per_second) + " messages/s"
             : std::string()));
    throttle(action);
  }
}

void Dispatcher::throttle(const ResponseAction& action) {
  throttle_ =
      Limits{.connections_max = action.connections > 0 ? action.connections : Limits::unlimited,
             .messages_per_connection_max = Limits::unlimited,
             .recipients_per_message_max = Limits::unlimited,
             .messages_per_second = action.messages_per_second};
  relax_steps_ = 0;
  recover_every_ = action.recover;
  refresh_limits();
  // Connections over the new count go: idle ones now, busy ones after their transaction
  // (take_next checks the count).
  quit_idle(options_.limits.connections_max);
  context_.shard.cancel_timer(recover_timer_);
  recover_timer_ = context_.shard.schedule(recover_every_, [this] {
    recover_timer_ = 0;
    relax();
  });
}

void Dispatcher::relax() {
  // A step: one more connection and twice the rate, until the limits under the throttle (the
  // own ones, or the fleet's share) are back; with no rate of their own, six doublings (64
  // times the throttled rate) end it.
  Limits& next = *throttle_;
  const Limits& base = base_limits();
  next.connections_max = std::min(next.connections_max, options_.limits.connections_max);
  if (next.connections_max < base.connections_max) ++next.connections_max;
  if (next.messages_per_second > 0) next.messages_per_second *= 2;
  ++relax_steps_;
  const bool connections_back = next.connections_max >= base.connections_max;
  const bool rate_back = base.messages_per_second > 0
                             ? next.messages_per_second >= base.messages_per_second
                             : next.messages_per_second == 0 || relax_steps_ >= 6;
  if (connections_back && rate_back) {
    throttle_.reset();
    ++context_.probe.shaping_recoveries;
    log::info(destination_ + ": shaping throttle over, back to its own limits");
    refresh_limits();
    pump();
    return;
  }
  ++context_.probe.shaping_relaxations;
  refresh_limits();
  recover_timer_ = context_.shard.schedule(recover_every_, [this] {
    recover_timer_ = 0;
    relax();
  });
  pump();
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

void Dispatcher::suspend(Clock::WallTime until) {
  suspended_until_ = until;
  // pump() waits out a suspension in force; after one, it delivers what is due.
  pump();
  // Connections with nothing to do go now instead of idling through the suspension.
  if (suspended_until()) quit_idle(0);
}

void Dispatcher::resume() { suspend(Clock::WallTime{}); }

std::optional<Clock::WallTime> Dispatcher::suspended_until() const {
  if (suspended_until_ <= context_.shard.clock().wall_now()) return std::nullopt;
  return suspended_until_;
}

bool Dispatcher::source_has_room(const Source& source) const {
  return (source.budget == nullptr || source.budget->has_room(context_.shard.clock().wall_now())) &&
         connections_from(source) < options_.limits.connections_per_source_max;
}

std::size_t Dispatcher::connections_from(const Source& source) const {
  std::size_t open = 0;
  for (const auto& [id, connection] : connections_) open += connection->from(source) ? 1 : 0;
  return open;
}

Dispatcher::SourceChoice Dispatcher::next_source(int family) {
  if (options_.sources.empty()) return {};
  // The pools with parts waiting that may go now (not a capped tenant's); a part that names
  // none may go from any source.
  bool any_pool = false;
  std::bitset<Tenants::pools_max + 1> waiting;  // no allocation per new connection
  const Clock::TimePoint now = context_.shard.clock().now();
  ready_.for_each_flow([&](TenantIndex tenant, PoolIndex pool) {
    if (!context_.tenants.may_send(tenant, now)) return;
    if (pool == 0) any_pool = true;
    if (pool < waiting.size()) waiting.set(pool);
  });
  const auto wanted = [&](const Source& source) {
    if (any_pool || ready_.empty()) return true;
    const PoolIndex pool = context_.tenants.pool_index(source.pool);
    return pool < waiting.size() && waiting.test(pool);
  };
  const auto choice = next_weighted_source(
      options_.sources, source_credit_, family,
      [&](const Source& source) { return wanted(source) && source_has_room(source); });
  if (choice) return {.index = choice};
  const auto of_family = [&](bool only_wanted) {
    return std::any_of(options_.sources.begin(), options_.sources.end(), [&](const Source& s) {
      return s.address.family() == family && s.weight > 0 && (!only_wanted || wanted(s));
    });
  };
  // Parts that name no pool may go from the kernel's choice when no source has this family;
  // otherwise the sources are held back by their caps.
  if (any_pool || ready_.empty()) return {.blocked = of_family(false)};
  // Only parts of named pools wait: they go from their pool's sources or not at all (never
  // from an address of no pool). Blocked by caps, or by a pool without a source of this
  // family, which only a configuration change can mend.
  if (!of_family(true) && !warned_family_) {
    warned_family_ = true;
    log::warning(destination_ + ": no source of the pools waiting has an " +
                 (family == AF_INET6 ? "IPv6" : "IPv4") +
                 " address, which this destination's address needs; their parts wait");
  }
  return {.blocked = true};
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
  context_.hand_off(std::move(handoff));
}

ActionResult Dispatcher::apply(OperatorAction action, queue::PartKey key) {
  for (const auto& [id, connection] : connections_) {
    if (!connection->carries(key)) continue;
    if (action != OperatorAction::retry) after_attempt_[key] = action;
    return ActionResult::in_flight;
  }
  std::optional<ReadyPart> part;
  if (const auto tag = schedule_.take(key)) {
    part = Tenants::from_tag(key, *tag);
    if (quarantined_.erase(key) != 0 && action == OperatorAction::retry) release(key);
  } else {
    part = ready_.remove(key);
    if (!part) return ActionResult::not_found;
  }
  switch (action) {
    case OperatorAction::retry:
      ready_.push_front(*part);
      pump();
      break;
    case OperatorAction::remove:
      remove_now(key);
      break;
    case OperatorAction::bounce:
      if (auto envelope = context_.store.read_envelope(key)) {
        const auto settled = recipients_to_try(*envelope);
        record(*envelope, settled, bounce_by_operator(*envelope));
      } else {
        remove_now(key);
      }
      break;
  }
  return ActionResult::applied;
}

void Dispatcher::release(queue::PartKey key) {
  auto envelope = context_.store.read_envelope(key);
  if (!envelope) return;  // gone meanwhile: the attempt finds nothing
  // Due now: the update forgets its crashes (it takes three more to hold it again).
  envelope->next_attempt_at = context_.shard.clock().wall_now();
  if (auto updated = context_.store.update_envelope(*envelope); !updated) {
    ++context_.probe.store_failures;
    log::error("queue: cannot release " + to_hex(key.message) +
               " from quarantine: " + updated.error().message());
    return;
  }
  log::info("queue: " + to_hex(key.message) + "." + std::to_string(key.part) + " to " +
            destination_ + " released from quarantine by an operator");
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

bool Dispatcher::uses_mx() const { return context_.resolver != nullptr && options_.mx; }

void Dispatcher::resolve() {
  resolving_ = true;
  context_.resolver->resolve_mx(destination_, [this](const dns::MxResult& result) {
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
        const std::string port = std::to_string(context_.remote_port);
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
      pool_ = pool_name(result);
      if (options_.tls != TlsPolicy::opportunistic)
        pool_ += ";tls=" + std::string(to_string(options_.tls));
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
  if (options_.addresses.empty()) {
    // No route: every due part is deferred (and bounces once it expires).
    fail_ready("4.4.3 no route to " + destination_ + ": no relay and no DNS resolver", false);
    return;
  }
  if (uses_mx() && context_.hand_off) {
    if (!ready_.empty()) hand_ready_to_pool();
    return;
  }
  for (auto& [id, connection] : connections_) {
    if (ready_.empty()) return;
    if (connection->idle()) connection->take_next();
  }
  if (ready_.empty()) return;
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
    if (!next && ready_.any([this, now](TenantIndex tenant, PoolIndex) {
          return context_.tenants.may_send(tenant, now);
        })) {
      // What may go now is for another pool. With room for another connection, the pump opens
      // one from there; without, this one makes room for it (the pump after it closes picks a
      // source of a waiting pool).
      if (connections_.size() >= options_.limits.connections_max) connection.quit();
      return false;
    }
    if (!next) {
      // Every tenant waiting is capped: again when the first of them may send.
      Clock::TimePoint at = Clock::TimePoint::max();
      ready_.for_each_flow([&](TenantIndex tenant, PoolIndex) {
        at = std::min(at, context_.tenants.next_at(tenant, now));
      });
      pump_at(at);
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
    const queue::PartKey key = next->key;
    auto envelope = context_.store.read_envelope(key);
    if (!envelope) {
      // Gone (deleted by an operator) or unreadable.
      if (envelope.error().code != queue::Errc::not_found) {
        ++context_.probe.store_failures;
        log::error("queue: cannot read " + to_hex(key.message) + ": " + envelope.error().message());
      }
      continue;
    }
    std::vector<std::size_t> tried =
        recipients_to_try(*envelope, options_.limits.recipients_per_message_max);
    if (envelope->expires_at <= context_.shard.clock().wall_now()) {
      record(*envelope, tried, expire(*envelope));
      continue;
    }
    if (context_.suppressed) drop_suppressed(*envelope, tried);
    if (tried.empty()) {
      record(*envelope, {}, Outcome{});
      continue;
    }
    auto body = context_.store.read_body(key.message);
    if (!body) {
      ++context_.probe.store_failures;
      log::error("queue: cannot read body of " + to_hex(key.message) + ": " +
                 body.error().message());
      finish_with_failure(*envelope, tried, "4.3.0 queue read failed");
      continue;
    }
    (void)rates_.take_message(now);
    context_.tenants.sent(next->tenant, now);
    if (connection.start(std::move(envelope).value(), std::move(tried), *body)) return true;
    if (!connection.idle()) return false;
  }
  return false;
}

void Dispatcher::drop_suppressed(queue::Envelope& envelope, std::vector<std::size_t>& tried) {
  std::erase_if(tried, [this, &envelope](std::size_t index) {
    queue::Recipient& recipient = envelope.recipients[index];
    auto why = context_.suppressed(recipient.address);
    if (!why) return false;
    recipient.state = queue::RecipientState::suppressed;
    recipient.last_reply = "550 5.7.1 Not attempted: recipient suppressed (" + *why + ")";
    report(envelope, recipient, nullptr);
    return true;
  });
}

void Dispatcher::finish(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                        const smtp::TransactionResult& result, const Hop& hop) {
  ++context_.probe.transactions;
  record(envelope, tried,
         apply_transaction(envelope, tried, result, context_.shard.clock().wall_now(),
                           options_.retry, unit_random()),
         &hop);
}

void Dispatcher::finish_with_failure(queue::Envelope& envelope,
                                     const std::vector<std::size_t>& tried,
                                     const std::string& reason, const Hop* hop, bool permanent) {
  const Clock::WallTime now = context_.shard.clock().wall_now();
  record(envelope, tried,
         permanent
             ? apply_permanent_failure(envelope, tried, reason, now, options_.retry, unit_random())
             : apply_failure(envelope, tried, reason, now, options_.retry, unit_random()),
         hop);
}

void Dispatcher::report(const queue::Envelope& envelope, const queue::Recipient& recipient,
                        const Hop* hop) {
  switch (recipient.state) {
    case queue::RecipientState::delivered:
      ++context_.probe.recipients_delivered;
      break;
    case queue::RecipientState::deferred:
      ++context_.probe.recipients_deferred;
      break;
    case queue::RecipientState::bounced:
      ++context_.probe.recipients_bounced;
      break;
    case queue::RecipientState::suppressed:
      ++context_.probe.recipients_suppressed;
      break;
    case queue::RecipientState::pending:
      return;
  }
  if (log::enabled(log::Level::debug)) {
    const tls::Info* tls = hop != nullptr ? hop->tls : nullptr;
    log::debug("delivery " + to_hex(envelope.id) + "." + std::to_string(envelope.part) + " <" +
               recipient.address + ">: " + recipient.last_reply + " [tls " +
               (tls == nullptr ? std::string("none")
                               : tls->protocol + " " + tls->cipher +
                                     (tls->verified ? " verified"
                                                    : " unverified (" + tls->verify_result + ")") +
                                     (tls->resumed ? " resumed" : "")) +
               "]");
  }
  if (context_.on_outcome) {
    context_.on_outcome(RecipientOutcome{.envelope = envelope,
                                         .recipient = recipient,
                                         .hop = hop,
                                         .at = context_.shard.clock().wall_now()});
  }
}

void Dispatcher::record(queue::Envelope& envelope, const std::vector<std::size_t>& settled,
                        Outcome outcome, const Hop* hop) {
  const queue::PartKey key{.message = envelope.id, .part = envelope.part};
  if (auto asked = after_attempt_.extract(key)) {
    outcome.step = NextStep::remove;
    if (asked.mapped() == OperatorAction::bounce) {
      const Outcome more = bounce_by_operator(envelope);
      outcome.newly_bounced.insert(outcome.newly_bounced.end(), more.newly_bounced.begin(),
                                   more.newly_bounced.end());
    }
  }
  // Each recipient once: the settled ones, and any an operator's bounce added.
  for (std::size_t index : settled) report(envelope, envelope.recipients[index], hop);
  for (std::size_t index : outcome.newly_bounced) {
    if (std::find(settled.begin(), settled.end(), index) == settled.end()) {
      report(envelope, envelope.recipients[index], nullptr);
    }
  }
  if (outcome.newly_bounced.empty()) {
    settle(envelope, outcome.step);
    return;
  }
  // One DSN for everything this attempt bounced, durable before the part (and maybe the body
  // it quotes) goes away. Meanwhile the part waits nowhere: no attempt can start on it.
  context_.bouncer.bounce(
      envelope, outcome.newly_bounced,
      options_.addresses.empty() ? std::string() : options_.addresses[cursor_].to_string(),
      [this, envelope, step = outcome.step](bool settled) mutable {
        if (settled) return settle(envelope, step);
        // The DSN was not stored: keep the part as stored, so a later attempt bounces again.
        reschedule(envelope, context_.shard.clock().wall_now() + options_.retry.initial);
      });
}

void Dispatcher::settle(queue::Envelope& envelope, NextStep step) {
  const queue::PartKey key{.message = envelope.id, .part = envelope.part};
  if (step == NextStep::remove) {
    // Delivered or bounced for good: the final state stays readable as history.
    remove_now(key, &envelope);
    return;
  }
  if (auto updated = context_.store.update_envelope(envelope); !updated) {
    ++context_.probe.store_failures;
    log::error("queue: cannot update " + to_hex(envelope.id) + ": " + updated.error().message());
  }
  reschedule(envelope, envelope.next_attempt_at);
}

void Dispatcher::reschedule(const queue::Envelope& envelope, Clock::WallTime due) {
  const queue::PartKey key{.message = envelope.id, .part = envelope.part};
  if (options_.pool && context_.requeue) {
    context_.requeue(queue::ScheduledItem{.due = due,
                                          .key = key,
                                          .destination = envelope.destination,
                                          .tenant = envelope.tenant,
                                          .traffic_class = envelope.traffic_class,
                                          .pool = envelope.pool});
    return;
  }
  schedule_.add(due, key,
                context_.tenants.tag_of(envelope.tenant, envelope.traffic_class, envelope.pool));
  arm_due_timer();
}

void Dispatcher::remove_now(queue::PartKey key, const queue::Envelope* final_state) {
  if (auto removed = context_.store.remove_part(key, final_state);
      !removed && removed.error().code != queue::Errc::not_found) {
    ++context_.probe.store_failures;
    log::error("queue: cannot remove " + to_hex(key.message) + ": " + removed.error().message());
  }
}

void Dispatcher::fail_ready(const std::string& reason, bool permanent) {
  while (const std::optional<ReadyPart> next = ready_.pop()) {
    auto envelope = context_.store.read_envelope(next->key);
    if (!envelope) continue;  // deleted meanwhile
    const auto tried = recipients_to_try(*envelope);
    const Clock::WallTime now = context_.shard.clock().wall_now();
    record(*envelope, tried,
           permanent ? apply_permanent_failure(*envelope, tried, reason, now, options_.retry,
                                               unit_random())
                     : apply_failure(*envelope, tried, reason, now, options_.retry, unit_random()));
  }
}

void Dispatcher::on_connection_ready(std::size_t index) {
  if (index < options_.addresses.size()) cursor_ = index;
  failed_in_round_.assign(options_.addresses.size(), false);
}

void Dispatcher::on_connection_failed(std::size_t index, const std::string& reason) {
  ++context_.probe.connection_failures;
  failed_in_round_.resize(options_.addresses.size(), false);
  if (index < failed_in_round_.size()) failed_in_round_[index] = true;  // else: re-resolved
  const auto next = std::find(failed_in_round_.begin(), failed_in_round_.end(), false);
  if (next != failed_in_round_.end()) {
    // Another address is left to try in this attempt: the pump that follows this connection's
    // close dials it.
    cursor_ = static_cast<std::size_t>(next - failed_in_round_.begin());
    return;
  }
  // Every address failed: wait, and start the next round from the first address.
  failed_in_round_.assign(options_.addresses.size(), false);
  cursor_ = 0;
  connect_blocked_until_ = context_.shard.clock().now() + options_.reconnect_delay;
  // The destination cannot be reached: with no connection up, what is due waits for its next
  // retry like any deferral (counting an attempt, bouncing once expired), rather than sitting
  // in memory until a connection works.
  const bool any_up = std::any_of(connections_.begin(), connections_.end(),
                                  [](const auto& entry) { return entry.second->ready(); });
  if (!any_up) fail_ready(reason, false);
}

void Dispatcher::on_tls_fallback(std::size_t index) {
  ++context_.probe.tls_fallbacks;
  if (index >= options_.addresses.size()) return;  // re-resolved meanwhile
  plaintext_until_[options_.addresses[index].to_string()] =
      context_.shard.clock().now() + options_.tls_fallback_period;
  // Not a failed address: the pump that follows this close dials it again, in plaintext.
  cursor_ = index;
}

bool Dispatcher::plaintext_only(std::size_t index) const {
  if (index >= options_.addresses.size()) return false;
  const auto found = plaintext_until_.find(options_.addresses[index].to_string());
  return found != plaintext_until_.end() && context_.shard.clock().now() < found->second;
}

const std::string& Dispatcher::name_of(std::size_t index) const {
  static const std::string none;
  return index < options_.names.size() && !options_.names[index].empty() ? options_.names[index]
                                                                         : none;
}

void Dispatcher::on_connection_closed(std::uint64_t connection_id) {
  context_.shard.defer([this, connection_id] {
    connections_.erase(connection_id);
    pump();
  });
}

void Dispatcher::on_stop() {
  stopping_ = true;
  context_.shard.cancel_timer(due_timer_);
  due_timer_ = 0;
  quit_idle(0);
}

}  // namespace mta::delivery
