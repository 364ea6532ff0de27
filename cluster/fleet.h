// Fleet mode ([cluster] redis): the nodes of a fleet share each destination's connection limit
// and rates through one Redis server. Each holder of a destination's limits (a dispatcher, on
// one shard of one node) claims what it wants; lease.lua, run atomically by Redis, grants it
// connections so that the fleet's total never exceeds the limit, and counts the holders that
// split the rates. A node's leases end `lease_ttl` after its last exchange, so a dead node's
// share goes back to the others. A Redis that does not answer changes nothing but the
// standing's `connected`: delivery goes on under local limits (delivery::ShardDelivery decides
// them), and the outage and the recovery are logged once each.
//
// Threading: exchange() from any thread (each shard, for itself); sync() on the fleet's own
// PeriodicThread (start()), the only one that talks to Redis.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "cluster/redis.h"

namespace mta::engine {
class PeriodicThread;
}

namespace mta::cluster {

// What one holder asks for a key (a destination).
struct Claim {
  static constexpr std::uint64_t unlimited = std::numeric_limits<std::uint64_t>::max();
  std::string key;
  std::uint64_t limit = unlimited;  // the key's connection limit, fleet-wide
  std::uint64_t want = 0;           // connections it would use now
  std::uint64_t held = 0;           // connections it has open
};

struct Grant {
  std::uint64_t connections = 0;
  std::uint32_t holders = 1;  // holders with a claim on the key, fleet-wide: the rates' divisor
};

struct Standing {
  bool connected = false;   // the last exchange with Redis worked
  std::uint32_t nodes = 1;  // live nodes at the last exchange that worked (before: expected)
  std::unordered_map<std::string, Grant> grants;  // this shard's, by key, from the last exchange
};

// A count per UTC day kept for the whole fleet (a source address's warm-up messages, so that
// its cap holds across nodes and restarts): `local` reads this node's count of `day`, and
// `add` adds to it what Redis has beyond it (other nodes', or this node's before a restart).
// Both are called on the fleet's thread.
struct DailyCount {
  std::string key;
  std::function<std::uint64_t(std::int64_t day)> local;
  std::function<void(std::int64_t day, std::uint64_t more)> add;
};

struct FleetOptions {
  std::string redis;  // "host:port"
  std::string node;   // unique in the fleet
  std::string prefix = "outpost";
  Clock::Duration sync_interval = std::chrono::milliseconds(500);
  Clock::Duration lease_ttl = std::chrono::seconds(5);
  Clock::Duration timeout = std::chrono::milliseconds(250);  // connect and each command
  std::uint32_t nodes_expected = 1;  // the fleet's size until Redis has answered once
};

class Fleet {
 public:
  Fleet(FleetOptions options, std::uint32_t shard_count);
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;
  ~Fleet();

  // Before start(): a daily count to keep in Redis (<prefix>:daily:<key>:<day>, for two days).
  void add_daily_count(DailyCount count);
  // Starts the thread that syncs every sync_interval; the destructor stops it.
  void start();
  // A shard's turn: `apply_then_claim` gets its standing from the last sync and returns its
  // claims (replacing the previous ones), atomically with respect to sync(), so a claim's held
  // count can include the share just put in force.
  using ApplyThenClaim = std::function<std::vector<Claim>(const Standing&)>;
  void exchange(std::uint32_t shard, const ApplyThenClaim& apply_then_claim);
  // One exchange with Redis for every shard's latest claims.
  void sync();

  struct Counters {
    std::uint64_t syncs = 0;
    std::uint64_t failures = 0;  // exchanges that did not work
    std::uint64_t outages = 0;   // times Redis stopped answering
    bool connected = false;
    std::uint32_t nodes = 1;
  };
  Counters counters() const;
  const FleetOptions& options() const { return options_; }

 private:
  const FleetOptions options_;
  std::optional<RedisConnection> redis_;  // the sync thread's only
  // The sync thread's: each daily count, and what of it Redis had at the last sync.
  struct Daily {
    DailyCount count;
    std::int64_t day = 0;
    std::uint64_t known = 0;
  };
  std::vector<Daily> daily_;
  bool sync_daily();
  mutable std::mutex mutex_;
  std::vector<std::vector<Claim>> claims_;                      // by shard; guarded
  std::vector<std::unordered_map<std::string, Grant>> grants_;  // by shard; guarded
  Counters counters_;                                           // guarded
  std::unique_ptr<engine::PeriodicThread> thread_;              // last: stopped first
};

}  // namespace mta::cluster
