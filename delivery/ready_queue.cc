// ReadyQueue: two classes, each a round of FIFOs, one per tenant and source pool.
#include "delivery/ready_queue.h"

#include <algorithm>

#include "base/assert.h"

namespace mta::delivery {

void ReadyQueue::push(const ReadyPart& part) {
  Class& c = class_of(part.traffic_class);
  const Flow key = flow_of(part.tenant, part.pool);
  auto [flow, created] = c.flows.try_emplace(key);
  if (created) c.round.push_back(key);
  flow->second.push_back(part.key);
  ++size_;
}

void ReadyQueue::push_front(const ReadyPart& part) {
  Class& c = class_of(part.traffic_class);
  const Flow key = flow_of(part.tenant, part.pool);
  auto [flow, created] = c.flows.try_emplace(key);
  if (!created) std::erase(c.round, key);
  c.round.push_front(key);
  flow->second.push_front(part.key);
  ++size_;
}

std::optional<ReadyPart> ReadyQueue::pop_from(Class& c, queue::TrafficClass traffic_class,
                                              const EligibleFn& eligible) {
  for (auto turn = c.round.begin(); turn != c.round.end(); ++turn) {
    const Flow key = *turn;
    const TenantIndex tenant = tenant_of(key);
    if (eligible && !eligible(tenant, pool_of(key))) continue;
    auto flow = c.flows.find(key);
    MTA_ASSERT(flow != c.flows.end());
    MTA_ASSERT(!flow->second.empty());
    const ReadyPart part{.key = flow->second.front(),
                         .tenant = tenant,
                         .traffic_class = traffic_class,
                         .pool = pool_of(key)};
    flow->second.pop_front();
    c.round.erase(turn);
    if (flow->second.empty()) {
      c.flows.erase(flow);
    } else {
      c.round.push_back(key);
    }
    --size_;
    return part;
  }
  return std::nullopt;
}

std::optional<queue::PartKey> ReadyQueue::front() const {
  for (const Class& c : classes_) {
    if (c.round.empty()) continue;
    const auto flow = c.flows.find(c.round.front());
    MTA_ASSERT(flow != c.flows.end());
    MTA_ASSERT(!flow->second.empty());
    return flow->second.front();
  }
  return std::nullopt;
}

bool ReadyQueue::any(const EligibleFn& eligible) const {
  for (const Class& c : classes_) {
    for (const Flow flow : c.round) {
      if (!eligible || eligible(tenant_of(flow), pool_of(flow))) return true;
    }
  }
  return false;
}

std::optional<ReadyPart> ReadyQueue::pop(const EligibleFn& eligible) {
  Class& transactional = classes_[0];
  Class& bulk = classes_[1];
  // Bulk's turn after a burst of transactional parts; otherwise transactional first.
  if (transactional_in_row_ >= transactional_burst_ && !bulk.round.empty()) {
    if (auto part = pop_from(bulk, queue::TrafficClass::bulk, eligible)) {
      transactional_in_row_ = 0;
      return part;
    }
  }
  if (auto part = pop_from(transactional, queue::TrafficClass::transactional, eligible)) {
    if (!bulk.round.empty()) {
      ++transactional_in_row_;
    } else {
      transactional_in_row_ = 0;
    }
    return part;
  }
  transactional_in_row_ = 0;
  return pop_from(bulk, queue::TrafficClass::bulk, eligible);
}

std::optional<ReadyPart> ReadyQueue::remove(queue::PartKey key) {
  for (std::size_t index = 0; index < 2; ++index) {
    Class& c = classes_[index];
    for (auto& [flow, parts] : c.flows) {
      const auto found = std::find(parts.begin(), parts.end(), key);
      if (found == parts.end()) continue;
      const Flow emptied = flow;
      const ReadyPart part{.key = key,
                           .tenant = tenant_of(flow),
                           .traffic_class = index == 1 ? queue::TrafficClass::bulk
                                                       : queue::TrafficClass::transactional,
                           .pool = pool_of(flow)};
      parts.erase(found);
      if (parts.empty()) {
        std::erase(c.round, emptied);
        c.flows.erase(emptied);
      }
      --size_;
      return part;
    }
  }
  return std::nullopt;
}

std::vector<ReadyPart> ReadyQueue::take_all() {
  std::vector<ReadyPart> all;
  all.reserve(size_);
  while (auto part = pop()) all.push_back(*part);
  MTA_ASSERT(size_ == 0);
  return all;
}

}  // namespace mta::delivery
