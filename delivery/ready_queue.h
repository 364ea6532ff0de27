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

// A tenant as the shard interned it (TenantTable): 0 = untagged mail.
using TenantIndex = std::uint32_t;

struct ReadyPart {
  queue::PartKey key;
  TenantIndex tenant = 0;
  queue::TrafficClass traffic_class = queue::TrafficClass::transactional;
  friend bool operator==(const ReadyPart&, const ReadyPart&) = default;
};

// The policy, as Postfix's qmgr does for its recipients but by tenant instead of by
// destination:
//  - Classes: transactional before bulk, weighted rather than strict: after
//    `transactional_burst` transactional parts in a row while bulk parts wait, one bulk part
//    goes. So a steady stream of receipts delays a newsletter but never stops it (bulk keeps
//    at least 1/(burst+1) of the connections' turns), and a receipt waits behind at most one
//    bulk part per burst.
//  - Within a class, round robin over tenants: each tenant with parts waiting (a flow) takes
//    one turn in order, its oldest part first, then goes to the back. Tenant A's 100,000 parts
//    delay tenant B's first one by at most one turn of each other tenant waiting.
//  - A tenant `eligible` says no to (over its rate cap) is skipped and keeps its place at the
//    front, so it goes first once it may; its parts stay here, never deferred for it.
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
  // The next part by the policy among tenants `eligible` allows (unset: all); nullopt when
  // none is ready or every tenant waiting is ineligible.
  std::optional<ReadyPart> pop(const std::function<bool(TenantIndex)>& eligible = {});
  // Takes `key` out; nullopt when it is not here.
  std::optional<ReadyPart> remove(queue::PartKey key);
  // Every part, in the order pop would give them with every tenant eligible; leaves it empty.
  std::vector<ReadyPart> take_all();
  // Tenants with parts waiting (each once): the caller asks when their caps allow again.
  template <typename Fn>
  void for_each_tenant(Fn&& fn) const {
    for (const Class& c : classes_) {
      for (const TenantIndex tenant : c.round) fn(tenant);
    }
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  struct Class {
    std::deque<TenantIndex> round;                                      // flows in turn order
    std::unordered_map<TenantIndex, std::deque<queue::PartKey>> flows;  // by tenant
  };
  Class& class_of(queue::TrafficClass traffic_class) {
    return classes_[traffic_class == queue::TrafficClass::bulk ? 1 : 0];
  }
  // The next part of class `c` from an eligible tenant; the flow goes to the back of the round.
  std::optional<ReadyPart> pop_from(Class& c, queue::TrafficClass traffic_class,
                                    const std::function<bool(TenantIndex)>& eligible);

  Class classes_[2];  // transactional, bulk
  std::size_t transactional_burst_;
  std::size_t transactional_in_row_ = 0;  // while bulk waited
  std::size_t size_ = 0;
};

}  // namespace mta::delivery
