// A dispatcher's connections: the driver's transport over a tls::Stream and a shard timer, its
// owner the Dispatcher, the crash-loop breaker's marks; and the dispatcher's side of them (the
// source each new one goes out from, failover between the destination's addresses, the
// opportunistic TLS fallback).
#include "delivery/dispatcher_connection.h"

#include <sys/socket.h>

#include <algorithm>
#include <bitset>
#include <utility>

#include "base/log.h"

namespace mta::delivery {

Dispatcher::Connection::Connection(Dispatcher& owner, std::uint64_t id, std::size_t address_index,
                                   std::optional<std::size_t> source,
                                   std::optional<queue::PartKey> opened_for)
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

bool Dispatcher::Connection::start(queue::Envelope&& envelope, std::vector<std::size_t>&& tried,
                                   const std::string& body) {
  // The crash-loop breaker's mark, before the transaction's first byte: if the process dies
  // before the outcome is recorded, the next start-up counts a crash against this part.
  mark(queue::PartKey{envelope.id, envelope.part});
  // false: settled at once through on_failure(), which unmarks.
  return driver_.start(std::move(envelope), std::move(tried), body);
}

void Dispatcher::Connection::on_connected(int error) {
  if (error == 0) stream_.set_idle_timeout(owner_.options_.reply_timeout);
  driver_.on_connected(error);
}

void Dispatcher::Connection::on_closed(int error) {
  driver_.on_closed(error);  // settles a part in flight (on_failure unmarks it)
  if (slot_) {
    owner_.context_.links.in_flight->release(*slot_);
    slot_.reset();
  }
  owner_.context_.shard.release();
  owner_.on_connection_closed(id_);
}

ConnectionSettings Dispatcher::Connection::settings(const Dispatcher& owner,
                                                    std::size_t address_index,
                                                    const Source* source) {
  const bool starttls =
      wants_starttls(owner.options_.tls, owner.context_.links.tls_client != nullptr,
                     owner.plaintext_only(address_index));
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
                                     .starttls = starttls,
                                     .auth_user = owner.options_.auth_user,
                                     .auth_password = owner.options_.auth_password,
                                     .auth_without_tls = owner.options_.auth_without_tls,
                                     .implicit_tls = owner.options_.implicit_tls}};
}

Result<void> Dispatcher::Connection::start_tls() {
  const DispatchContext& context = owner_.context_;
  tls::ClientContext* tls_context =
      client_context_for(owner_.options_.tls, context.links.tls_client, context.links.tls_verify);
  if (tls_context == nullptr) {
    return unexpected(std::make_error_code(std::errc::not_supported), "no TLS context");
  }
  const std::string& name = driver_.settings().name;
  return stream_.start_tls_client(*tls_context, name, session_cache_key(name, address_),
                                  owner_.options_.tls_handshake_timeout);
}

void Dispatcher::Connection::arm_idle_timer(Clock::Duration after) {
  cancel_idle_timer();
  idle_timer_ = owner_.context_.shard.schedule(after, [this] {
    idle_timer_ = 0;
    driver_.on_idle_timeout();
  });
}

void Dispatcher::Connection::cancel_idle_timer() {
  owner_.context_.shard.cancel_timer(idle_timer_);
  idle_timer_ = 0;
}

bool Dispatcher::Connection::should_quit(std::size_t sent) {
  return owner_.stopping_ || sent >= owner_.options_.limits.messages_per_connection_max ||
         owner_.connections_.size() > owner_.options_.limits.connections_max;
}

bool Dispatcher::Connection::assign(ConnectionDriver&) {
  if (owner_.assign(*this)) return true;
  unmark();  // idle: a crash now is no part's
  return false;
}

void Dispatcher::Connection::on_transaction(queue::Envelope& envelope,
                                            const std::vector<std::size_t>& tried,
                                            const smtp::TransactionResult& result, const Hop& hop) {
  owner_.finish(envelope, tried, result, hop);
  unmark();
}

void Dispatcher::Connection::on_failure(queue::Envelope& envelope,
                                        const std::vector<std::size_t>& tried,
                                        const std::string& reason, const Hop& hop, bool permanent) {
  owner_.finish_with_failure(envelope, tried, reason, &hop, permanent);
  unmark();
}

void Dispatcher::Connection::on_connection_failed(std::size_t address_index,
                                                  const std::string& reason, const Hop& hop,
                                                  bool tls_fallback) {
  // One line per destination and kind of failure (its enhanced code: connect, TLS, policy),
  // then one a minute with the count: an unreachable MX fails every attempt.
  log::warning_limited(
      "connection " + owner_.destination_ + " " + reason.substr(0, reason.find(' ')),
      owner_.destination_ + ": " + reason);
  if (tls_fallback) {
    owner_.on_tls_fallback(address_index);
  } else {
    owner_.on_connection_failed(address_index, reason, hop);
  }
}

void Dispatcher::Connection::mark(queue::PartKey key) {
  queue::InFlightTable* table = owner_.context_.links.in_flight;
  if (table == nullptr) return;
  if (!slot_) slot_ = table->acquire();
  if (slot_) table->mark(*slot_, key);
}

void Dispatcher::Connection::unmark() {
  if (slot_) owner_.context_.links.in_flight->clear(*slot_);
}

// The dispatcher's side: which source a new connection goes out from, and what a connection
// that became ready, failed or closed means for the addresses dialled next.

bool Dispatcher::source_has_room(const Source& source) const {
  return (source.budget == nullptr || source.budget->has_room(context_.shard.clock().wall_now())) &&
         connections_from(source) < options_.limits.connections_per_source_max;
}

std::size_t Dispatcher::connections_from(const Source& source) const {
  std::size_t open = 0;
  for (const auto& [id, connection] : connections_) open += connection->from(source) ? 1 : 0;
  return open;
}

SourceChoice Dispatcher::next_source(int family) {
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
  SourceFilter wanted;  // unset: any source may carry what waits
  if (!any_pool && !ready_.empty()) {
    wanted = [this, &waiting](const Source& source) {
      const PoolIndex pool = context_.tenants.pool_index(source.pool);
      return pool < waiting.size() && waiting.test(pool);
    };
  }
  const SourceChoice choice =
      choose_source(options_.sources, source_credit_, family, wanted,
                    [this](const Source& source) { return source_has_room(source); });
  if (choice.no_source_of_family && !warned_family_) {
    warned_family_ = true;
    log::warning(destination_ + ": no source of the pools waiting has an " +
                 (family == AF_INET6 ? "IPv6" : "IPv4") +
                 " address, which this destination's address needs; their parts wait");
  }
  return choice;
}

void Dispatcher::on_connection_ready(std::size_t index) {
  if (index < options_.addresses.size()) cursor_ = index;
  failed_in_round_.assign(options_.addresses.size(), false);
}

void Dispatcher::on_connection_failed(std::size_t index, const std::string& reason,
                                      const Hop& hop) {
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
  if (!any_up) fail_ready(reason, false, &hop);
}

void Dispatcher::on_tls_fallback(std::size_t index) {
  ++context_.probe.tls_fallbacks;
  if (index >= options_.addresses.size()) return;  // re-resolved meanwhile
  tls_fallbacks_.fall_back(options_.addresses[index].to_string(),
                           context_.shard.clock().now() + options_.tls_fallback_period);
  // Not a failed address: the pump that follows this close dials it again, in plaintext.
  cursor_ = index;
}

bool Dispatcher::plaintext_only(std::size_t index) const {
  if (index >= options_.addresses.size()) return false;
  return tls_fallbacks_.plaintext_only(options_.addresses[index].to_string(),
                                       context_.shard.clock().now());
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

}  // namespace mta::delivery
