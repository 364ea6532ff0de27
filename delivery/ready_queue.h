// ReadyQueue: the parts of one dispatcher that are due and wait for a connection, in the order
// they should get one (issue 11: tenants, classes, fair sharing). Pure: no clock, no I/O; the
// dispatcher says which tenants may send now (their rate caps, tenants.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "queue/envelope.h"
#include "queue/store.h"

namespace mta::delivery {

// A tenant as the shard interned it (Tenants): 0 = untagged mail.
using TenantIndex = std::uint32_t;
// A source pool (Tenants::pool_index): 0 = none named, any source may carry the part.
using PoolIndex = std::uint32_t;

struct ReadyPart {
  queue::PartKey key;
  TenantIndex tenant = 0;
  queue::TrafficClass traffic_class = queue::TrafficClass::transactional;
  PoolIndex pool = 0;
  friend bool operator==(const ReadyPart&, const ReadyPart&) = default;
};

// Whether a part of this tenant and pool may go now (on the connection asking).
using EligibleFn = std::function<bool(TenantIndex tenant, PoolIndex pool)>;

// The policy, as Postfix's qmgr does for its recipients but by tenant instead of by
// destination:
//  - Classes: transactional before bulk, weighted rather than strict: after
//    `transactional_burst` transactional parts in a row while bulk parts wait, one bulk part
//    goes. So a steady stream of receipts delays a newsletter but never stops it (bulk keeps
//    at least 1/(burst+1) of the connections' turns), and a receipt waits behind at most one
//    bulk part per burst.
//  - Within a class, round robin over tenants: each tenant with parts waiting (a flow) takes
//    one turn in order, its oldest part first, then goes to the back. Tenant A's 100,000 parts
//    delay tenant B's first one by at most one turn of each other tenant waiting. A tenant
//    sending through several source pools has a flow per pool (a connection carries one pool).
//  - A flow `eligible` says no to (its tenant over its rate cap, or a pool the connection
//    asking cannot carry) is skipped and keeps its place at the front, so it goes first once
//    it may; its parts stay here, never deferred for it.
// One dispatcher's, on its shard. pop is O(1) when the first flow is eligible, else O(flows);
// remove is O(parts of that flow).
class ReadyQueue {
 public:
  explicit ReadyQueue(std::size_t transactional_burst = 10)
      : transactional_burst_(transactional_burst) {}

  // At the back of its flow (a new flow goes to the back of its class's round).
  void push(const ReadyPart& part);
  // First of its flow, its flow first in its class: an operator's "retry now".
  void push_front(const ReadyPart& part);
  // The next part by the policy among the flows `eligible` allows (unset: all); nullopt when
  // none is ready or every flow waiting is ineligible.
  std::optional<ReadyPart> pop(const EligibleFn& eligible = {});
  // Whether pop(eligible) would give a part.
  bool any(const EligibleFn& eligible) const;
  // Takes `key` out; nullopt when it is not here.
  std::optional<ReadyPart> remove(queue::PartKey key);
  // Every part, in the order pop would give them with every flow eligible; leaves it empty.
  std::vector<ReadyPart> take_all();
  // The tenant and pool of every flow with parts waiting: when their caps allow again, and
  // which pools a new connection should serve.
  template <typename Fn>
  void for_each_flow(Fn&& fn) const {
    for (const Class& c : classes_) {
      for (const Flow flow : c.round) fn(tenant_of(flow), pool_of(flow));
    }
  }

  // The part pop() without a filter would most likely give next (the first of the first flow,
  // transactional first), without taking it; nullopt when empty.
  std::optional<queue::PartKey> front() const;
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  // A flow: one tenant's parts of one pool.
  using Flow = std::uint64_t;
  static Flow flow_of(TenantIndex tenant, PoolIndex pool) {
    return (static_cast<Flow>(tenant) << 32U) | pool;
  }
  static TenantIndex tenant_of(Flow flow) { return static_cast<TenantIndex>(flow >> 32U); }
  static PoolIndex pool_of(Flow flow) { return static_cast<PoolIndex>(flow & 0xffffffffU); }
  struct Class {
    std::deque<Flow> round;                                      // flows in turn order
    std::unordered_map<Flow, std::deque<queue::PartKey>> flows;  // their parts, oldest first
  };
  Class& class_of(queue::TrafficClass traffic_class) {
    return classes_[traffic_class == queue::TrafficClass::bulk ? 1 : 0];
  }
  // The next part of class `c` from an eligible flow; the flow goes to the back of the round.
  std::optional<ReadyPart> pop_from(Class& c, queue::TrafficClass traffic_class,
                                    const EligibleFn& eligible);

  Class classes_[2];  // transactional, bulk
  std::size_t transactional_burst_;
  std::size_t transactional_in_row_ = 0;  // while bulk waited
  std::size_t size_ = 0;
};

}  // namespace mta::delivery
