#include "delivery/router.h"

#include <atomic>
#include <utility>

#include "base/assert.h"
#include "queue/message_id.h"

namespace mta::delivery {
namespace {

// The ShardDelivery as the router reaches it.
class SchedulerTarget final : public RouteTarget {
 public:
  explicit SchedulerTarget(ShardDelivery& scheduler) : scheduler_(scheduler) {}
  void add(const queue::ScheduledItem& item) override { scheduler_.add(item); }
  void receive(PoolHandoff&& handoff) override { scheduler_.receive(std::move(handoff)); }
  std::vector<ActionResult> apply(OperatorAction action,
                                  const std::vector<queue::ScheduledItem>& parts) override {
    return scheduler_.apply(action, parts);
  }
  std::vector<ActionResult> apply_in_pools(
      OperatorAction action, const std::vector<queue::ScheduledItem>& parts) override {
    return scheduler_.apply_in_pools(action, parts);
  }
  void suspend(const std::string& destination, Clock::WallTime until) override {
    scheduler_.suspend(destination, until);
  }
  bool resume(const std::string& destination) override { return scheduler_.resume(destination); }

 private:
  ShardDelivery& scheduler_;
};

}  // namespace

ShardId owner_of(std::string_view destination, queue::PartKey key, std::uint32_t shard_count) {
  if (destination == relay_destination) {
    return ShardId(queue::message_id_shard(key.message).value() % shard_count);
  }
  return ShardId(
      static_cast<std::uint32_t>(std::hash<std::string_view>{}(destination) % shard_count));
}

Router::Router(RouterOptions options)
    : options_(options), targets_(options.shard_count), adapters_(options.shard_count) {}

Router::~Router() = default;

void Router::attach(ShardId shard, RouteTarget& target) { targets_.at(shard.value()) = &target; }

void Router::attach(ShardId shard, ShardDelivery& scheduler) {
  adapters_.at(shard.value()) = std::make_unique<SchedulerTarget>(scheduler);
  attach(shard, *adapters_[shard.value()]);
}

ShardId Router::owner(const queue::ScheduledItem& item) const {
  return owner_of(item.destination, item.key, options_.shard_count);
}

RouteTarget& Router::target(const engine::Shard& on) const {
  RouteTarget* found = targets_[on.id().value()];
  MTA_ASSERT(found != nullptr);  // attached before any part can reach the shard
  return *found;
}

void Router::invoke_on(engine::Shard& from, ShardId to, std::function<void(RouteTarget&)> task) {
  from.post_until_taken(to,
                        [this, task = std::move(task)](engine::Shard& on) { task(target(on)); });
}

void Router::invoke_on_all(engine::Shard& from, const std::function<bool(RouteTarget&)>& task,
                           const std::function<void(bool)>& done) {
  struct Gather {
    std::atomic<std::uint32_t> left;
    std::atomic<bool> any{false};
  };
  auto gather = std::make_shared<Gather>();
  gather->left = options_.shard_count;
  const ShardId home = from.id();
  for (std::uint32_t i = 0; i < options_.shard_count; ++i) {
    from.post_until_taken(ShardId(i), [this, gather, task, done, home](engine::Shard& on) {
      if (task(target(on))) gather->any = true;
      if (gather->left.fetch_sub(1) != 1) return;
      on.post_until_taken(home, [gather, done](engine::Shard&) { done(gather->any.load()); });
    });
  }
}

void Router::hand_over(engine::Shard& from, const queue::ScheduledItem& item) {
  invoke_on(from, owner(item), [item](RouteTarget& on) { on.add(item); });
}

void Router::hand_off(engine::Shard& from, PoolHandoff&& handoff) {
  const ShardId to = owner_of(handoff.pool, {}, options_.shard_count);
  auto moved = std::make_shared<PoolHandoff>(std::move(handoff));
  invoke_on(from, to, [moved](RouteTarget& on) { on.receive(std::move(*moved)); });
}

void Router::suspend(engine::Shard& from, std::string destination,
                     std::optional<Clock::WallTime> until, std::function<void(bool)> done) {
  invoke_on_all(
      from,
      [destination = std::move(destination), until](RouteTarget& on) {
        if (until) {
          on.suspend(destination, *until);
          return true;
        }
        return on.resume(destination);
      },
      std::move(done));
}

void Router::scatter(engine::Shard& from, const std::vector<queue::ScheduledItem>& parts,
                     const std::vector<std::uint32_t>& targets, const Apply& apply,
                     std::function<void(Results)> done) {
  const std::uint32_t shard_count = options_.shard_count;
  std::vector<std::vector<queue::ScheduledItem>> by_shard(shard_count);
  std::vector<std::vector<std::size_t>> indexes(shard_count);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    for (std::uint32_t shard = 0; shard < shard_count; ++shard) {
      if (!targets.empty() && shard != targets[i]) continue;
      by_shard[shard].push_back(parts[i]);
      indexes[shard].push_back(i);
    }
  }
  struct Gather {  // touched on `from` only
    Results results;
    std::size_t waiting = 0;
    std::function<void(Results)> done;
  };
  auto gather = std::make_shared<Gather>();
  gather->results.assign(parts.size(), ActionResult::not_found);
  gather->done = std::move(done);
  for (const auto& list : by_shard) gather->waiting += list.empty() ? 0 : 1;
  if (gather->waiting == 0) {
    gather->done(std::move(gather->results));
    return;
  }
  const ShardId origin = from.id();
  for (std::uint32_t shard = 0; shard < shard_count; ++shard) {
    if (by_shard[shard].empty()) continue;
    from.post_until_taken(ShardId(shard),
                          [this, apply, list = std::move(by_shard[shard]),
                           mine = std::move(indexes[shard]), gather, origin](engine::Shard& on) {
                            Results found = apply(target(on), list);
                            on.post_until_taken(origin, [gather, mine, found](engine::Shard&) {
                              for (std::size_t k = 0; k < mine.size(); ++k) {
                                if (found[k] != ActionResult::not_found)
                                  gather->results[mine[k]] = found[k];
                              }
                              if (--gather->waiting == 0) gather->done(std::move(gather->results));
                            });
                          });
  }
}

void Router::apply_on_owners(engine::Shard& from, OperatorAction action,
                             std::vector<queue::ScheduledItem> parts,
                             std::function<void(ActionCounts)> done) {
  std::vector<std::uint32_t> owners;
  owners.reserve(parts.size());
  for (const auto& part : parts) owners.push_back(owner(part).value());
  auto shared = std::make_shared<std::vector<queue::ScheduledItem>>(std::move(parts));
  scatter(
      from, *shared, owners,
      [action](RouteTarget& on, const std::vector<queue::ScheduledItem>& list) {
        return on.apply(action, list);
      },
      [this, &from, action, shared, done = std::move(done)](Results results) mutable {
        ask_pools(from, action, *shared, std::move(results), std::move(done));
      });
}

// The second round of apply_on_owners: the parts no owner held, asked for in every shard's
// pools.
void Router::ask_pools(engine::Shard& from, OperatorAction action,
                       const std::vector<queue::ScheduledItem>& parts, Results results,
                       std::function<void(ActionCounts)> done) {
  std::vector<queue::ScheduledItem> missing;
  std::vector<std::size_t> where;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i] != ActionResult::not_found) continue;
    missing.push_back(parts[i]);
    where.push_back(i);
  }
  if (!options_.pools || missing.empty()) return done(count(results));
  scatter(
      from, missing, {},
      [action](RouteTarget& on, const std::vector<queue::ScheduledItem>& list) {
        return on.apply_in_pools(action, list);
      },
      [results = std::move(results), where, done = std::move(done)](Results found) mutable {
        for (std::size_t k = 0; k < where.size(); ++k) results[where[k]] = found[k];
        done(count(results));
      });
}

}  // namespace mta::delivery
