// Delivery to one destination: the `delivery.relay` smarthost, a recipient domain (MX
// delivery; with pools it only routes), or the pool of one MX host set. Owns the destination's due
// schedule (keys and times only, never bodies) and a small pool of SMTP client connections on one
// shard; feeds them due parts one after another (RSET between, the session pipelines) and records
// each recipient's outcome.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "delivery/connection_driver.h"
#include "delivery/destination_limits.h"
#include "delivery/dispatch_context.h"
#include "delivery/disposition.h"
#include "delivery/operator_action.h"
#include "delivery/pool_handoff.h"
#include "delivery/ready_queue.h"
#include "delivery/shaping.h"
#include "delivery/smarthost.h"
#include "delivery/source.h"
#include "delivery/tls_policy.h"
#include "engine/address.h"
#include "queue/retry_schedule.h"
#include "queue/schedule.h"
#include "queue/store.h"

namespace mta::delivery {

struct DestinationOptions {
  // Where to connect, in dialling order: a connection that fails before the greeting (refused,
  // timeout, 421) moves on to the next address within the same attempt; only when every
  // address has failed does what is due defer. Empty = no route yet: a domain asks its MX
  // records, a pool waits for a hand-off; with neither (no relay and no resolver) due parts
  // are deferred with 4.4.3 until they expire.
  std::vector<engine::SocketAddress> addresses;
  // The host name of each address (the MX host): SNI, the name verified, the TLS session
  // cache key. Empty or shorter: the address itself.
  std::vector<std::string> names;
  TlsPolicy tls = TlsPolicy::opportunistic;
  // A smarthost named by host name (the relay, a route): its addresses come from the shard's
  // resolvers (DispatchLinks::resolver for a bare name's MX, DispatchLinks::hosts for a
  // [name]'s A/AAAA), in the list's order, asked again when their TTL runs out; a lookup that
  // finds nothing defers what is due (4.4.3). No hosts: `addresses` are given.
  SmarthostList smarthosts;
  // SMTPS: TLS from the first byte (no STARTTLS), under `tls`'s verification.
  bool implicit_tls = false;
  // SMTP AUTH toward a smarthost (empty user: none); only over TLS unless auth_without_tls.
  // A refusal (535) defers what is due with 4.7.8, naming the host.
  std::string auth_user;
  std::string auth_password;
  bool auth_without_tls = false;
  Clock::Duration tls_handshake_timeout = std::chrono::seconds(30);
  Clock::Duration tls_fallback_period = std::chrono::hours(1);
  // The destination is a domain whose addresses come from its MX records (DispatchContext's
  // resolver), refreshed when their TTL runs out. With DispatchLinks::hand_off set, the domain
  // only routes: what is due goes to the pool of its MX host set, which delivers it.
  bool mx = false;
  // The destination is the pool of one MX host set, shared by every domain whose MX records
  // name exactly those hosts: one set of connections and limits for all of them. Its addresses
  // come with each hand-off; what it defers goes back to the part's domain (DispatchLinks::
  // requeue), where the schedule and the route are kept.
  bool pool = false;
  std::string helo_name = "outpost.localhost";
  // Where connections are sent from, each new one from the next by smooth weighted round
  // robin among those of the destination address's family. Empty (or none of that family):
  // the kernel's choice, with helo_name.
  std::vector<Source> sources;
  // Connections, messages per connection and rates: the [delivery] defaults tightened by the
  // [[shaping]] rules that apply (ShardDelivery), this shard's share of them for the relay.
  Limits limits{.connections_max = 8, .messages_per_connection_max = 1000};
  Clock::Duration connect_timeout = std::chrono::seconds(30);
  Clock::Duration reply_timeout = std::chrono::minutes(5);  // no server bytes for this long
  Clock::Duration idle_timeout = std::chrono::seconds(10);  // unused connection then QUITs
  Clock::Duration reconnect_delay = std::chrono::seconds(1);
  queue::RetryPolicy retry;
};

// Lives on the shard that owns the destination and is used only there. Holds the shard's
// drain gate while a connection is open; on stop no new transaction starts and connections
// QUIT once their current one ends.
class Dispatcher {
 public:
  Dispatcher(DispatchContext& context, std::string destination, DestinationOptions options);
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;
  ~Dispatcher();

  // A part of this destination is due at `due`; `tag`: its tenant and class (Tenants::tag).
  void add(queue::PartKey key, Clock::WallTime due, std::uint32_t tag = 0);
  // A pool: parts due now from one of its domains, with that domain's current addresses.
  void receive(PoolHandoff&& handoff);
  ActionResult apply(OperatorAction action, queue::PartKey key);

  // An operator's suspension: no new transaction starts before `until` (in-flight ones end
  // normally, due parts keep waiting); resume() lifts it and delivers what is due.
  void suspend(Clock::WallTime until);
  void resume();
  std::optional<Clock::WallTime> suspended_until() const;
  // New limits (a pool gets a tighter one when a domain with its own rule hands off to it).
  void set_limits(const Limits& limits);
  // The destination's own limits (set_limits), before any throttle or fleet share.
  const Limits& limits() const { return limits_.own(); }
  // The limits in force: the own ones or the fleet's share, under any throttle.
  const Limits& effective_limits() const { return options_.limits; }
  // Fleet mode: this holder's share of the fleet's limits, in force instead of its own until
  // set again (nullopt: its own again). Connections over it QUIT when idle; a larger share
  // opens more at once.
  void set_fleet_limits(std::optional<Limits> limits);
  // Connections this destination would use (at most `most`, or a throttle's count), the most
  // since the last call: what it claims from the fleet.
  std::size_t take_connections_wanted(std::size_t most);
  // A domain that hands what is due to its pool: it holds no connections of its own.
  bool routes_only() const { return uses_mx() && static_cast<bool>(context_.links.hand_off); }

  const std::string& destination() const { return destination_; }
  bool is_pool() const { return options_.pool; }
  std::size_t scheduled_count() const { return schedule_.size() + ready_.size(); }
  std::size_t waiting_count() const { return schedule_.size(); }  // not due yet
  // Held by the crash-loop breaker (queue::quarantined_due; counted in waiting_count too).
  std::size_t quarantined_count() const { return quarantined_.size(); }
  std::size_t ready_count() const { return ready_.size(); }  // due, no connection yet
  std::size_t busy_count() const;                            // in a transaction now
  std::size_t connection_count() const { return connections_.size(); }
  // Read-only views for the status page (delivery/destination_view.h): a routing domain's
  // current pool ("" before its MX answer or without pools), the earliest due time of the
  // parts waiting, and whether a response rule's throttle is in force.
  const std::string& pool() const { return pool_; }
  std::optional<Clock::WallTime> next_due() const { return schedule_.next_due(); }
  bool throttled() const { return limits_.throttled(); }
  // The part each busy connection carries (a pool's are its domains'); defined with the views
  // in delivery/destination_view.cc.
  void for_each_in_flight(const std::function<void(const queue::Envelope&)>& fn) const;

 private:
  class Connection;
  friend class Connection;

  void pump();
  // New connections for what is due, up to connections_max, the connection rate and the
  // sources' caps allow (each opened for the part at the front).
  void open_connections();
  // MX delivery: ask the shard's resolver where the domain's mail goes, then deliver, bounce
  // or defer what is due accordingly.
  bool uses_mx() const;
  void resolve();
  void on_resolved(const dns::MxResult& result);
  // A smarthost by name: its addresses from DNS, then deliver (or defer what is due).
  void resolve_smarthosts();
  void on_smarthosts_resolved(const SmarthostRoute& route);
  void arm_due_timer();
  void take_due();
  // A routing domain: what is due goes to its pool.
  void hand_ready_to_pool();
  // A part waits for its next attempt: here, or (a pool) at its domain.
  void reschedule(const queue::Envelope& envelope, Clock::WallTime due);
  // Called by a connection that can take a part; returns false when none is due.
  bool assign(Connection& connection);
  // No part may go on `connection` now: it makes room for another pool's, or the pump waits
  // for the first capped tenant.
  void wait_for_sendable(Connection& connection, Clock::TimePoint now);
  // Reads `part` and starts it on `connection`. settled: it did not go (gone, expired, every
  // recipient suppressed, its body unreadable) and is accounted for; refused: the connection
  // settled it at once.
  enum class PartStart { started, settled, refused };
  PartStart start_part(Connection& connection, const ReadyPart& part, Clock::TimePoint now);
  // Marks the recipients of `tried` that are on the suppression list suppressed (final, no
  // DSN), reports them, and takes them out of `tried`.
  void drop_suppressed(queue::Envelope& envelope, std::vector<std::size_t>& tried);
  // Outcomes of a transaction, or of a failure without a reply, go to the queue. `hop`: the
  // connection it happened on, or nullptr.
  void finish(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
              const smtp::TransactionResult& result, const Hop& hop);
  // `permanent`: the tried recipients bounce instead of waiting for the next attempt.
  void finish_with_failure(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                           const std::string& reason, const Hop* hop = nullptr,
                           bool permanent = false);
  // Counts and reports the outcome of each recipient in `settled` (indices into
  // envelope.recipients: the ones this attempt, expiry or operator decided), then stores it.
  void record(queue::Envelope& envelope, const std::vector<std::size_t>& settled, Outcome outcome,
              const Hop* hop = nullptr);
  void report(const queue::Envelope& envelope, const queue::Recipient& recipient, const Hop* hop);
  // After any DSN is durable: the part goes, or waits for its next attempt.
  void settle(queue::Envelope& envelope, NextStep step);
  // `final_state`: recorded as the part's history (nullptr for an operator's delete).
  void remove_now(queue::PartKey key, const queue::Envelope* final_state = nullptr);
  // An operator's retry of a quarantined part: due now in the store, its crashes forgotten.
  void release(queue::PartKey key);
  double unit_random();
  // A connection to addresses[index] (`hop`) failed before its session was ready.
  void on_connection_failed(std::size_t index, const std::string& reason, const Hop& hop);
  // An opportunistic TLS handshake with addresses[index] failed: plaintext there for a while.
  void on_tls_fallback(std::size_t index);
  bool plaintext_only(std::size_t index) const;
  const std::string& name_of(std::size_t index) const;
  // The source the next connection to an address of `family` goes out from (an index into
  // options_.sources), or nullopt for the kernel's choice: among the sources of the pools
  // that have parts waiting (all of them when a waiting part names no pool) that are under
  // their warm-up cap and their connections_per_source_max. When no waiting pool has a
  // source of that family, the kernel's choice; when it has, but none may connect now,
  // `blocked`.
  SourceChoice next_source(int family);
  // Whether the source may send another message today (warm-up), and connect once more.
  bool source_has_room(const Source& source) const;
  std::size_t connections_from(const Source& source) const;
  void on_connection_ready(std::size_t index);
  // Defers (or, `permanent`, bounces) every part waiting for a connection with `reason` (an
  // enhanced code and text); `hop`: the host and address last tried, when there was one.
  void fail_ready(const std::string& reason, bool permanent, const Hop* hop = nullptr);
  void on_connection_closed(std::uint64_t connection_id);
  void on_stop();

  DispatchContext& context_;
  const std::string destination_;
  DestinationOptions options_;
  // Parts waiting for their due time, each tagged with its tenant and class. The tag rides in
  // the schedule (from the schedule index at start-up, from the ScheduledItem at intake, from
  // the envelope after an attempt) rather than being read from the envelope when the part
  // becomes due: a backlog becoming due at once (start-up, the end of a suspension) would
  // otherwise cost one envelope read per part before the first connection could be given
  // one, and each part's envelope is read again when it goes out.
  queue::Schedule schedule_;
  ReadyQueue ready_;  // due, waiting for a connection: by class, then tenants in turn
  engine::TimerId due_timer_ = 0;
  Clock::WallTime due_timer_at_{};
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  // Parts of schedule_ the crash-loop breaker holds (due in 2255): an operator's retry
  // releases one in the store before it goes.
  std::unordered_set<queue::PartKey> quarantined_;
  // remove or bounce asked for while the part was in flight: applied by record().
  std::unordered_map<queue::PartKey, OperatorAction> after_attempt_;
  std::uint64_t next_connection_id_ = 1;
  Clock::TimePoint connect_blocked_until_{};
  std::size_t cursor_ = 0;             // the address new connections dial
  std::vector<bool> failed_in_round_;  // addresses that failed since one last worked
  TlsFallbacks tls_fallbacks_;         // opportunistic TLS failed with these addresses
  std::string pool_;                   // a routing domain: the pool of its current MX host set
  std::vector<std::int64_t> source_credit_;  // smooth weighted round robin, by source
  bool warned_family_ = false;               // a waiting pool had no source of the address's family
  bool resolving_ = false;
  Clock::TimePoint route_expires_{};  // when the MX-derived addresses must be asked for again
  bool stopping_ = false;
  Clock::WallTime suspended_until_{};  // an operator's suspension, if in the future
  RateGate rates_;                     // messages and connections per period
  // One wake-up for whatever next lets work go: a rate's token, the end of a suspension, the
  // end of a reconnect delay. The earliest asked for wins.
  engine::TimerId wake_timer_ = 0;
  Clock::TimePoint wake_at_{};
  void pump_at(Clock::TimePoint at);
  // When a part waiting may start as far as its tenant's cap goes: now, or when the first
  // capped tenant may send again.
  Clock::TimePoint sendable_at(Clock::TimePoint now) const;
  // Idle connections QUIT until at most `keep` are open (busy ones stay).
  void quit_idle(std::size_t keep);
  // Response-driven shaping: a reply from this destination's receiver that may match a rule.
  void react(const smtp::Reply& reply);
  void throttle(const ResponseAction& action);
  void relax();  // one recovery step, every recover_every() while throttled
  // options_.limits from the base (own or fleet share) and any throttle; the rate buckets
  // start again when they change.
  void refresh_limits();
  DestinationLimits limits_;     // own or fleet share, under a response rule's throttle
  std::size_t wanted_peak_ = 0;  // take_connections_wanted()
  engine::TimerId recover_timer_ = 0;
};

}  // namespace mta::delivery
