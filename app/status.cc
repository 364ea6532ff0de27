// StatusBoard: a mutex around what the shards published; they take it once a second, and once
// per deferral or bounce.
#include "app/status.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>
#include <utility>

#include "base/rfc3339.h"
#include "proto/http/json.h"

namespace mta::app {
namespace {

constexpr std::size_t kHistoryMax = 61;  // a minute of one-second samples
constexpr auto kRateWindow = std::chrono::seconds(10);
constexpr std::size_t kDestinationsMax = 50;

double seconds_between(Clock::WallTime from, Clock::WallTime to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

StatusTotals& StatusTotals::operator+=(const StatusTotals& other) {
  received += other.received;
  delivered += other.delivered;
  deferred += other.deferred;
  bounced += other.bounced;
  suppressed += other.suppressed;
  for (std::size_t i = 0; i < bounce_categories.size(); ++i) {
    bounce_categories[i] += other.bounce_categories[i];
  }
  return *this;
}

StatusBoard::StatusBoard(std::uint32_t shard_count, std::size_t recent_max)
    : recent_max_(recent_max), totals_(shard_count), queues_(shard_count) {}

void StatusBoard::publish(std::uint32_t shard, const StatusTotals& totals,
                          std::vector<DestinationStatus> destinations) {
  std::lock_guard lock(mutex_);
  totals_.at(shard) = totals;
  queues_.at(shard) = std::move(destinations);
}

void StatusBoard::sample(Clock::WallTime now) {
  std::lock_guard lock(mutex_);
  StatusTotals sum;
  for (const auto& totals : totals_) sum += totals;
  history_.push_back({now, sum});
  while (history_.size() > kHistoryMax) history_.pop_front();
}

void StatusBoard::note(const delivery::RecipientOutcome& outcome) {
  const auto state = outcome.recipient.state;
  if (state != queue::RecipientState::deferred && state != queue::RecipientState::bounced) return;
  Event event{.at = outcome.at,
              .destination = outcome.envelope.destination,
              .recipient = outcome.recipient.address,
              .reply = outcome.recipient.last_reply.substr(0, 512)};
  std::lock_guard lock(mutex_);
  auto& list = state == queue::RecipientState::deferred ? deferrals_ : bounces_;
  list.push_front(std::move(event));
  if (list.size() > recent_max_) list.pop_back();
}

std::string StatusBoard::render_json(const StatusInfo& info, Clock::WallTime now) const {
  StatusTotals sum;
  std::optional<Sample> old;
  std::optional<Sample> last;
  std::map<std::string, DestinationStatus> merged;
  std::vector<Event> deferrals;
  std::vector<Event> bounces;
  {
    std::lock_guard lock(mutex_);
    for (const auto& totals : totals_) sum += totals;
    if (!history_.empty()) {
      last = history_.back();
      for (const auto& sample : history_) {
        if (seconds_between(sample.at, last->at) <=
            std::chrono::duration<double>(kRateWindow).count()) {
          old = sample;
          break;
        }
      }
    }
    // A destination can have a dispatcher on several shards (the relay): one row for all.
    for (const auto& shard : queues_) {
      for (const auto& destination : shard) {
        auto [row, fresh] = merged.try_emplace(destination.destination, destination);
        if (fresh) continue;
        row->second.parts += destination.parts;
        row->second.connections += destination.connections;
        if (destination.suspended_until &&
            (!row->second.suspended_until ||
             *destination.suspended_until > *row->second.suspended_until)) {
          row->second.suspended_until = destination.suspended_until;
        }
      }
    }
    deferrals.assign(deferrals_.begin(), deferrals_.end());
    bounces.assign(bounces_.begin(), bounces_.end());
  }
  std::vector<DestinationStatus> destinations;
  std::uint64_t parts = 0;
  for (auto& [name, row] : merged) {
    parts += row.parts;
    destinations.push_back(std::move(row));
  }
  std::stable_sort(destinations.begin(), destinations.end(),
                   [](const DestinationStatus& a, const DestinationStatus& b) {
                     if (a.parts != b.parts) return a.parts > b.parts;
                     return a.connections > b.connections;
                   });
  if (destinations.size() > kDestinationsMax) destinations.resize(kDestinationsMax);

  http::JsonWriter json;
  json.begin_object();
  json.member("version", info.version);
  json.member("node", info.node);
  json.member("started_at", rfc3339(info.started_at));
  json.member("uptime_seconds", seconds_between(info.started_at, now));
  json.member("shards", info.shards);
  json.member("ready", info.ready);
  json.member("draining", info.draining);

  json.key("rates");
  json.begin_object();
  const double window = old && last ? seconds_between(old->at, last->at) : 0;
  json.member("window_seconds", window);
  const auto rate = [&](const char* key, std::uint64_t StatusTotals::*field) {
    json.member(key, window > 0
                         ? static_cast<double>(last->totals.*field - old->totals.*field) / window
                         : 0.0);
  };
  rate("received_per_second", &StatusTotals::received);
  rate("delivered_per_second", &StatusTotals::delivered);
  rate("deferred_per_second", &StatusTotals::deferred);
  rate("bounced_per_second", &StatusTotals::bounced);
  json.end_object();

  json.key("totals");
  json.begin_object();
  json.member("received", sum.received);
  json.member("delivered", sum.delivered);
  json.member("deferred", sum.deferred);
  json.member("bounced", sum.bounced);
  json.member("suppressed", sum.suppressed);
  json.end_object();

  json.key("queue");
  json.begin_object();
  json.member("parts", parts);
  json.key("destinations");
  json.begin_array();
  for (const auto& row : destinations) {
    json.begin_object();
    json.member("destination", row.destination);
    json.member("parts", row.parts);
    json.member("connections", row.connections);
    json.member("suspended", row.suspended_until.has_value());
    json.key("suspended_until");
    if (row.suspended_until) {
      json.value(rfc3339(*row.suspended_until));
    } else {
      json.value(nullptr);
    }
    json.end_object();
  }
  json.end_array();
  json.end_object();

  const auto events = [&json](const char* key, const std::vector<Event>& list) {
    json.key(key);
    json.begin_array();
    for (const auto& event : list) {
      json.begin_object();
      json.member("time", rfc3339(event.at));
      json.member("destination", event.destination);
      json.member("recipient", event.recipient);
      json.member("reply", event.reply);
      json.end_object();
    }
    json.end_array();
  };
  events("recent_deferrals", deferrals);
  events("recent_bounces", bounces);

  json.key("bounce_categories");
  json.begin_array();
  for (std::size_t i = 0; i < sum.bounce_categories.size(); ++i) {
    if (sum.bounce_categories[i] == 0) continue;
    json.begin_object();
    json.member("category", mailbox::to_string(static_cast<mailbox::Category>(i)));
    json.member("count", sum.bounce_categories[i]);
    json.end_object();
  }
  json.end_array();
  json.end_object();
  return json.take();
}

}  // namespace mta::app
