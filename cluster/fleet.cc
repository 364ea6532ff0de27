#include "cluster/fleet.h"

#include <string>
#include <utility>

#include "base/log.h"
#include "cluster/lease_script.h"
#include "engine/periodic_thread.h"

namespace mta::cluster {
namespace {

const std::string& lease_script() {
  static const std::string script(detail::lease_script, detail::lease_script_size);
  return script;
}

std::string milliseconds(Clock::Duration duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(duration).count());
}

}  // namespace

Fleet::Fleet(FleetOptions options, std::uint32_t shard_count)
    : options_(std::move(options)), claims_(shard_count), grants_(shard_count) {
  counters_.nodes = std::max<std::uint32_t>(1, options_.nodes_expected);
}

Fleet::~Fleet() { thread_.reset(); }

void Fleet::add_daily_count(DailyCount count) {
  daily_.push_back(Daily{.count = std::move(count)});
}

bool Fleet::sync_daily() {
  const std::int64_t day = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now())
                               .time_since_epoch()
                               .count();
  for (Daily& daily : daily_) {
    if (daily.day != day) daily = Daily{.count = std::move(daily.count), .day = day};
    const std::uint64_t local = daily.count.local(day);
    const std::uint64_t sent = local > daily.known ? local - daily.known : 0;  // since the last
    const std::string key =
        options_.prefix + ":daily:" + daily.count.key + ":" + std::to_string(day);
    auto total = redis_->command({"INCRBY", key, std::to_string(sent)});
    if (!total || total.value().type != RedisReply::Type::integer) return false;
    if (!redis_->command({"EXPIRE", key, "172800"})) return false;
    const auto fleet = static_cast<std::uint64_t>(std::max<std::int64_t>(0, total.value().integer));
    // What Redis has beyond this node's count: the others', or this node's before a restart.
    if (fleet > local) daily.count.add(day, fleet - local);
    daily.known = std::max(fleet, local);
  }
  return true;
}

void Fleet::start() {
  thread_ = std::make_unique<engine::PeriodicThread>(options_.sync_interval, [this] { sync(); });
}

void Fleet::exchange(std::uint32_t shard, const ApplyThenClaim& apply_then_claim) {
  std::lock_guard lock(mutex_);
  const Standing standing{
      .connected = counters_.connected, .nodes = counters_.nodes, .grants = grants_.at(shard)};
  claims_.at(shard) = apply_then_claim(standing);
}

Fleet::Counters Fleet::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

void Fleet::sync() {
  std::vector<std::string> args{options_.prefix, options_.node, milliseconds(options_.lease_ttl),
                                "0"};
  std::vector<std::pair<std::uint32_t, std::string>> asked;  // shard and key, per claim
  {
    std::lock_guard lock(mutex_);
    for (std::uint32_t shard = 0; shard < claims_.size(); ++shard) {
      for (const Claim& claim : claims_[shard]) {
        args.push_back(claim.key);
        args.push_back(options_.node + "/" + std::to_string(shard));
        args.push_back(claim.limit == Claim::unlimited ? "-1" : std::to_string(claim.limit));
        args.push_back(std::to_string(claim.want));
        args.push_back(std::to_string(claim.held));
        asked.emplace_back(shard, claim.key);
      }
    }
  }
  args[3] = std::to_string(asked.size());

  Result<RedisReply> reply = unexpected(std::make_error_code(std::errc::io_error), "");
  if (!redis_ || !redis_->open()) {
    auto connected = RedisConnection::connect(options_.redis, options_.timeout);
    if (connected) {
      redis_ = std::move(connected).value();
    } else {
      reply = unexpected(connected.error());
    }
  }
  if (redis_ && redis_->open()) reply = redis_->eval(lease_script(), args);
  const bool valid = reply && reply.value().type == RedisReply::Type::array &&
                     reply.value().elements.size() == 1 + 2 * asked.size() && sync_daily();

  std::lock_guard lock(mutex_);
  ++counters_.syncs;
  if (!valid) {
    ++counters_.failures;
    if (counters_.connected || counters_.failures == 1) {
      ++counters_.outages;
      log::warning("fleet: redis " + options_.redis + " does not answer (" +
                   (reply ? std::string("unexpected reply") : reply.error().message()) +
                   "): local limits, 1/" + std::to_string(counters_.nodes) +
                   " of each, until it does");
    }
    counters_.connected = false;
    return;
  }
  const auto& elements = reply.value().elements;
  const auto nodes = static_cast<std::uint32_t>(std::max<std::int64_t>(1, elements[0].integer));
  if (!counters_.connected) {
    log::info("fleet: redis " + options_.redis + " answers, " + std::to_string(nodes) +
              " nodes live, shared limits");
  }
  counters_.connected = true;
  counters_.nodes = nodes;
  for (auto& grants : grants_) grants.clear();
  for (std::size_t i = 0; i < asked.size(); ++i) {
    const auto& [shard, key] = asked[i];
    grants_[shard][key] = Grant{
        .connections =
            static_cast<std::uint64_t>(std::max<std::int64_t>(0, elements[1 + 2 * i].integer)),
        .holders =
            static_cast<std::uint32_t>(std::max<std::int64_t>(1, elements[2 + 2 * i].integer))};
  }
}

}  // namespace mta::cluster
