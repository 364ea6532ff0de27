// Router: the cross-shard moves of the outbound path. Each domain (or MX pool) is owned by one
// shard, chosen by hash, so its connections and limits live in one place; a part accepted on
// any shard, a domain's due parts for its MX pool, and an operator's action all travel to the
// owner through the engine's cross-shard channels, by key only (bodies stay in the spool).
// Callers say what and where (hand_over, hand_off, apply_on_owners, suspend), not how to post
// and retry: like Seastar's sharded<T>::invoke_on, over a node-wide table of each shard's
// delivery, filled as the shards start.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/strong_id.h"
#include "delivery/dispatcher.h"
#include "delivery/shard_delivery.h"
#include "engine/shard.h"
#include "queue/store.h"

namespace mta::delivery {

// The shard that delivers a part (pure). A domain, MX pool or other named destination belongs
// to one shard, by hash of its name. The relay is one destination for everything: owned by
// one shard, all delivery would run on one core, so its parts stay with the shard that
// accepted them (the shard bits of the message id; modulo, should the shard count have changed
// since) and every shard keeps its own relay pool.
ShardId owner_of(std::string_view destination, queue::PartKey key, std::uint32_t shard_count);

// What the router reaches on each shard: the shard's ShardDelivery (attach(ShardDelivery&)), or a
// stand-in in tests. Called on that shard's thread only.
class RouteTarget {
 public:
  virtual ~RouteTarget() = default;
  virtual void add(const queue::ScheduledItem& item) = 0;
  virtual void receive(PoolHandoff&& handoff) = 0;
  virtual std::vector<ActionResult> apply(OperatorAction action,
                                          const std::vector<queue::ScheduledItem>& parts) = 0;
  virtual std::vector<ActionResult> apply_in_pools(
      OperatorAction action, const std::vector<queue::ScheduledItem>& parts) = 0;
  virtual void suspend(const std::string& destination, Clock::WallTime until) = 0;
  virtual bool resume(const std::string& destination) = 0;
};

struct RouterOptions {
  std::uint32_t shard_count = 1;
  // MX delivery: a domain hands its due parts to its MX pool (any shard), so an operator
  // action that finds a part nowhere at its owner looks in every shard's pools. With a relay
  // there are no pools.
  bool pools = false;
};

// Node-wide, shared by every shard; outlives them (built before the runtime starts, destroyed
// after it stopped). Every method but the constructor runs on a shard thread.
class Router {
 public:
  explicit Router(RouterOptions options);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // On `shard`'s thread, as it starts and before parts reach it; the target must stay until
  // the shard has stopped.
  void attach(ShardId shard, RouteTarget& target);
  void attach(ShardId shard, ShardDelivery& scheduler);

  std::uint32_t shard_count() const { return options_.shard_count; }
  ShardId owner(const queue::ScheduledItem& item) const;

  // Runs `task` on shard `to` with its target; a full channel only delays it.
  void invoke_on(engine::Shard& from, ShardId to, std::function<void(RouteTarget&)> task);
  // Runs `task` on every shard, then `done(any task returned true)` on `from`.
  void invoke_on_all(engine::Shard& from, const std::function<bool(RouteTarget&)>& task,
                     const std::function<void(bool)>& done);

  // Gives a durable part (accepted, recovered, requeued or retried) to the shard that owns its
  // destination.
  void hand_over(engine::Shard& from, const queue::ScheduledItem& item);
  // Gives a domain's due parts to the shard that owns its MX pool.
  void hand_off(engine::Shard& from, PoolHandoff&& handoff);
  // hand_over and hand_off from `from`, as the functions a shard's delivery is given.
  std::function<void(const queue::ScheduledItem&)> hand_over_from(engine::Shard& from) {
    return [this, &from](const queue::ScheduledItem& item) { hand_over(from, item); };
  }
  std::function<void(PoolHandoff&&)> hand_off_from(engine::Shard& from) {
    return [this, &from](PoolHandoff&& handoff) { hand_off(from, std::move(handoff)); };
  }
  // An operator action: the shard owning each part's destination applies it; parts it does
  // not hold may be at the pool of their MX hosts (being delivered), on any shard, so with
  // pools those are asked for there. The counts reach `done` on `from`.
  void apply_on_owners(engine::Shard& from, OperatorAction action,
                       std::vector<queue::ScheduledItem> parts,
                       std::function<void(ActionCounts)> done);
  // Suspends `destination` until `until` on every shard, or with nullopt resumes it; `done`
  // on `from` with true when some shard suspended it (for a resume: had it suspended).
  void suspend(engine::Shard& from, std::string destination, std::optional<Clock::WallTime> until,
               std::function<void(bool)> done);

 private:
  using Results = std::vector<ActionResult>;
  using Apply = std::function<Results(RouteTarget&, const std::vector<queue::ScheduledItem>&)>;
  // Runs `apply` on the shard `targets` names for each part (every shard when targets is
  // empty), and gives `done`, on `from`, one result per part: the first that found it.
  void scatter(engine::Shard& from, const std::vector<queue::ScheduledItem>& parts,
               const std::vector<std::uint32_t>& targets, const Apply& apply,
               std::function<void(Results)> done);
  void ask_pools(engine::Shard& from, OperatorAction action,
                 const std::vector<queue::ScheduledItem>& parts, Results results,
                 std::function<void(ActionCounts)> done);
  RouteTarget& target(const engine::Shard& on) const;

  RouterOptions options_;
  std::vector<RouteTarget*> targets_;  // by shard; each written and read by its own shard
  std::vector<std::unique_ptr<RouteTarget>> adapters_;  // attach(ShardDelivery&)'s
};

}  // namespace mta::delivery
