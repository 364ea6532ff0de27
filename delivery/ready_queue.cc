// ReadyQueue: two classes, each a round of per-tenant FIFOs.
#include "delivery/ready_queue.h"

#include <algorithm>

#include "base/assert.h"

namespace mta::delivery {

void ReadyQueue::push(const ReadyPart& part) {
  Class& c = class_of(part.traffic_class);
  auto [flow, created] = c.flows.try_emplace(part.tenant);
  if (created) c.round.push_back(part.tenant);
  flow->second.push_back(part.key);
  ++size_;
}

void ReadyQueue::push_front(const ReadyPart& part) {
  Class& c = class_of(part.traffic_class);
  auto [flow, created] = c.flows.try_emplace(part.tenant);
  if (!created) std::erase(c.round, part.tenant);
  c.round.push_front(part.tenant);
  flow->second.push_front(part.key);
  ++size_;
}

std::optional<ReadyPart> ReadyQueue::pop_from(Class& c, queue::TrafficClass traffic_class,
                                              const std::function<bool(TenantIndex)>& eligible) {
  for (auto turn = c.round.begin(); turn != c.round.end(); ++turn) {
    const TenantIndex tenant = *turn;
    if (eligible && !eligible(tenant)) continue;
    auto flow = c.flows.find(tenant);
    MTA_ASSERT(flow != c.flows.end());
    MTA_ASSERT(!flow->second.empty());
    const ReadyPart part{
        .key = flow->second.front(), .tenant = tenant, .traffic_class = traffic_class};
    flow->second.pop_front();
    c.round.erase(turn);
    if (flow->second.empty()) {
      c.flows.erase(flow);
    } else {
      c.round.push_back(tenant);
    }
    --size_;
    return part;
  }
  return std::nullopt;
}

std::optional<ReadyPart> ReadyQueue::pop(const std::function<bool(TenantIndex)>& eligible) {
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
    for (auto& [tenant, parts] : c.flows) {
      const auto found = std::find(parts.begin(), parts.end(), key);
      if (found == parts.end()) continue;
      const ReadyPart part{.key = key,
                           .tenant = tenant,
                           .traffic_class = index == 1 ? queue::TrafficClass::bulk
                                                       : queue::TrafficClass::transactional};
      parts.erase(found);
      if (parts.empty()) {
        std::erase(c.round, part.tenant);
        c.flows.erase(part.tenant);
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
