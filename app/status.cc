// StatusBoard: a mutex around what the shards published; they take it once a second. The
// observers (grouped errors, destination activity) have their own.
#include "app/status.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <tuple>
#include <utility>

#include "base/rfc3339.h"
#include "proto/http/json.h"

namespace mta::app {
namespace {

constexpr std::size_t kHistoryMax = 61;  // a minute of one-second samples
constexpr auto kRateWindow = std::chrono::seconds(10);
constexpr std::size_t kDestinationsMax = 50;
constexpr std::size_t kErrorGroupsMax = 100;
constexpr std::size_t kRecentMax = 20;

double seconds_between(Clock::WallTime from, Clock::WallTime to) {
  return std::chrono::duration<double>(to - from).count();
}

// Durations for people: whole seconds, or tenths below ten.
double rounded(double seconds) {
  return seconds >= 10 ? std::round(seconds) : std::round(seconds * 10) / 10;
}

void time_or_null(http::JsonWriter& json, const char* key,
                  const std::optional<Clock::WallTime>& time) {
  json.key(key);
  if (time) {
    json.value(rfc3339(*time));
  } else {
    json.value(nullptr);
  }
}

// One row per destination over every shard (the relay has a dispatcher on each).
std::map<std::string, delivery::DestinationView> merge(
    const std::vector<std::vector<delivery::DestinationView>>& shards) {
  std::map<std::string, delivery::DestinationView> merged;
  for (const auto& shard : shards) {
    for (const auto& d : shard) {
      auto [row, fresh] = merged.try_emplace(d.destination, d);
      if (fresh) continue;
      auto& r = row->second;
      r.parts += d.parts;
      r.in_flight += d.in_flight;
      r.connections += d.connections;
      r.connections_max += d.connections_max;
      if (r.pool.empty()) r.pool = d.pool;
      r.throttled = r.throttled || d.throttled;
      r.carrying.insert(r.carrying.end(), d.carrying.begin(), d.carrying.end());
      if (d.next_attempt && (!r.next_attempt || *d.next_attempt < *r.next_attempt)) {
        r.next_attempt = d.next_attempt;
      }
      if (d.suspended_until && (!r.suspended_until || *d.suspended_until > *r.suspended_until)) {
        r.suspended_until = d.suspended_until;
      }
    }
  }
  return merged;
}

struct Row {
  delivery::DestinationView view;
  delivery::DestinationActivityView activity;
  std::string suspended_by;  // a suspension's reason
  // Its own connections; a domain routed through a pool: the pool's busy connections carrying
  // its mail now (where its traffic is), and all the pool's open ones.
  std::uint64_t connections = 0;
  std::uint64_t pool_connections = 0;
};

// A pool's parts in flight belong to their domains: each domain's row counts them (a domain
// with nothing left at home gets a row of its own), so its connections read where its mail
// goes. Returns the domains' rows with the pools' counts added.
std::map<std::string, Row> attribute_pools(
    const std::map<std::string, delivery::DestinationView>& merged) {
  std::map<std::string, Row> rows;
  for (const auto& [name, view] : merged) {
    rows.emplace(name, Row{.view = view, .connections = view.connections});
  }
  std::vector<std::tuple<std::string, std::string, std::uint64_t>> carried;  // pool, domain, n
  for (const auto& [name, row] : rows) {
    for (const auto& [domain, count] : row.view.carrying) carried.emplace_back(name, domain, count);
  }
  for (const auto& [pool, domain, count] : carried) {
    auto [it, fresh] = rows.try_emplace(domain);
    Row& row = it->second;
    if (fresh) {
      row.view.destination = domain;
      row.view.kind = "domain";
      row.view.pool = pool;
    }
    if (row.view.pool != pool) continue;  // its pool changed since; counted under the pool
    row.view.parts += count;
    row.view.in_flight += count;
  }
  for (auto& [name, row] : rows) {
    if (row.view.pool.empty()) continue;
    row.connections = 0;
    if (auto pool = rows.find(row.view.pool); pool != rows.end()) {
      row.pool_connections = pool->second.view.connections;
      for (const auto& [domain, count] : pool->second.view.carrying) {
        if (domain == name) row.connections += count;
      }
    }
  }
  return rows;
}

// The state a person acts on, and why.
std::pair<std::string, std::string> state_of(const Row& row, Clock::WallTime now) {
  if (row.view.suspended_until && *row.view.suspended_until > now) {
    return {"suspended", row.suspended_by.empty() ? "response rule" : row.suspended_by};
  }
  if (row.view.throttled) return {"throttled", "response rule"};
  if (row.view.in_flight > 0) return {"delivering", ""};
  if (row.view.parts > 0 && row.view.next_attempt && *row.view.next_attempt > now) {
    return {"waiting", row.activity.last_error.empty() ? "not due yet" : "retry after an error"};
  }
  if (row.view.parts > 0) return {"due", ""};
  if (row.connections > 0) return {"idle", "connections open"};
  return {"idle", ""};
}

void write_destination(http::JsonWriter& json, const Row& row, Clock::WallTime now) {
  const auto& d = row.view;
  const auto& a = row.activity;
  json.begin_object();
  json.member("destination", d.destination);
  json.member("kind", d.kind);
  json.key("pool");
  if (d.pool.empty()) {
    json.value(nullptr);
  } else {
    json.value(d.pool);
  }
  json.member("parts", d.parts);
  json.member("in_flight", d.in_flight);
  json.member("recipients_waiting", a.recipients_waiting);
  json.member("connections", row.connections);
  json.member("pool_connections", row.pool_connections);
  json.member("connections_max", d.connections_max);
  json.member("delivered_per_second", a.delivered_per_second);
  time_or_null(json, "oldest_received_at", a.oldest_received);
  json.member(
      "oldest_age_seconds",
      a.oldest_received ? rounded(std::max(0.0, seconds_between(*a.oldest_received, now))) : 0.0);
  time_or_null(json, "next_attempt_at", d.next_attempt);
  const auto [state, reason] = state_of(row, now);
  json.member("state", state);
  json.member("state_reason", reason);
  json.member("suspended", d.suspended_until.has_value());
  time_or_null(json, "suspended_until", d.suspended_until);
  json.member("throttled", d.throttled);
  json.member("last_error", a.last_error);
  time_or_null(json, "last_error_at", a.last_error_at);
  json.end_object();
}

void write_error_groups(http::JsonWriter& json, const std::vector<delivery::ErrorGroup>& groups) {
  json.key("error_groups");
  json.begin_array();
  for (const auto& g : groups) {
    json.begin_object();
    json.member("destination", g.destination);
    json.member("outcome", g.bounced ? "bounced" : "deferred");
    json.member("code", static_cast<std::uint64_t>(std::max(g.code, 0)));
    json.member("enhanced_code", g.enhanced);
    json.member("reply", g.text);
    json.member("example", g.example);
    json.member("count", g.count);
    json.member("first_seen", rfc3339(g.first_seen));
    json.member("last_seen", rfc3339(g.last_seen));
    json.end_object();
  }
  json.end_array();
}

void write_throughput(http::JsonWriter& json, const Throughput::Series& series,
                      Clock::WallTime now) {
  json.key("throughput");
  json.begin_object();
  json.member("bucket_seconds", static_cast<std::uint64_t>(Throughput::bucket_length.count()));
  json.member("start", rfc3339(series.start));
  json.member("end", rfc3339(now));
  const auto column = [&](const char* key, std::uint64_t ThroughputCounts::*field) {
    json.key(key);
    json.begin_array();
    for (const auto& bucket : series.buckets) json.value(bucket.*field);
    json.end_array();
  };
  column("received", &ThroughputCounts::received);
  column("delivered", &ThroughputCounts::delivered);
  column("deferred", &ThroughputCounts::deferred);
  column("bounced", &ThroughputCounts::bounced);
  json.end_object();
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

StatusBoard::StatusBoard(std::uint32_t shard_count) : totals_(shard_count), queues_(shard_count) {}

void StatusBoard::publish(std::uint32_t shard, const StatusTotals& totals,
                          std::vector<delivery::DestinationView> destinations) {
  std::lock_guard lock(mutex_);
  totals_.at(shard) = totals;
  queues_.at(shard) = std::move(destinations);
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
  if (list.size() > kRecentMax) list.pop_back();
}

void StatusBoard::note_suspension(const std::string& destination,
                                  std::optional<Clock::WallTime> until, std::string reason) {
  constexpr std::size_t kSuspensionsMax = 10'000;
  std::lock_guard lock(mutex_);
  if (!until) {
    suspensions_.erase(destination);
    return;
  }
  if (suspensions_.size() >= kSuspensionsMax && !suspensions_.contains(destination)) {
    // The one that ends first goes (it is the likeliest to be over).
    auto first = std::min_element(
        suspensions_.begin(), suspensions_.end(),
        [](const auto& a, const auto& b) { return a.second.first < b.second.first; });
    suspensions_.erase(first);
  }
  suspensions_[destination] = {*until, std::move(reason)};
}

void StatusBoard::sample(Clock::WallTime now) {
  std::lock_guard lock(mutex_);
  StatusTotals sum;
  for (const auto& totals : totals_) sum += totals;
  history_.push_back({now, sum});
  while (history_.size() > kHistoryMax) history_.pop_front();
  hour_.add(now, {.received = sum.received,
                  .delivered = sum.delivered,
                  .deferred = sum.deferred,
                  .bounced = sum.bounced});
}

std::string StatusBoard::render_json(const StatusInfo& info, Clock::WallTime now) const {
  StatusTotals sum;
  std::optional<Sample> old;
  std::optional<Sample> last;
  std::map<std::string, delivery::DestinationView> merged;
  Throughput::Series hour;
  std::map<std::string, std::pair<Clock::WallTime, std::string>> suspensions;
  std::vector<Event> deferrals;
  std::vector<Event> bounces;
  {
    std::lock_guard lock(mutex_);
    suspensions = suspensions_;
    deferrals.assign(deferrals_.begin(), deferrals_.end());
    bounces.assign(bounces_.begin(), bounces_.end());
    for (const auto& totals : totals_) sum += totals;
    if (!history_.empty()) {
      last = history_.back();
      for (const auto& sample : history_) {
        // Samples come a second apart, give or take: the oldest within the window and a half
        // second makes it 10 s rather than 9.
        if (seconds_between(sample.at, last->at) <=
            std::chrono::duration<double>(kRateWindow).count() + 0.5) {
          old = sample;
          break;
        }
      }
    }
    merged = merge(queues_);
    hour = hour_.series(now);
  }
  const auto activity = activity_.snapshot(now);
  // Every part once: a domain's at home and a pool's (handed over by its domains).
  std::uint64_t parts = 0;
  for (const auto& [name, view] : merged) parts += view.parts;
  std::vector<Row> rows;
  for (auto& [name, row] : attribute_pools(merged)) {
    if (auto found = activity.find(name); found != activity.end()) row.activity = found->second;
    // Told of a suspension that ends when the destination's does (a response rule's later one
    // would end later): its reason.
    if (auto told = suspensions.find(name);
        told != suspensions.end() && row.view.suspended_until &&
        told->second.first + std::chrono::seconds(1) >= *row.view.suspended_until) {
      row.suspended_by = told->second.second;
    }
    rows.push_back(std::move(row));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.view.parts != b.view.parts) return a.view.parts > b.view.parts;
    return a.connections > b.connections;
  });
  if (rows.size() > kDestinationsMax) rows.resize(kDestinationsMax);

  http::JsonWriter json;
  json.begin_object();
  json.member("version", info.version);
  json.member("node", info.node);
  json.member("started_at", rfc3339(info.started_at));
  json.member("uptime_seconds", rounded(seconds_between(info.started_at, now)));
  json.member("shards", info.shards);
  json.member("ready", info.ready);
  json.member("draining", info.draining);

  json.key("rates");
  json.begin_object();
  const double window = old && last ? seconds_between(old->at, last->at) : 0;
  json.member("window_seconds", rounded(window));
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
  for (const auto& row : rows) write_destination(json, row, now);
  json.end_array();
  json.end_object();

  write_error_groups(json, errors_.snapshot(kErrorGroupsMax));
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
  write_throughput(json, hour, now);

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
