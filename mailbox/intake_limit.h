// IntakeLimiter: how much mail the bounce intake takes from one client a minute ([bounce]
// messages_per_ip_per_minute, bytes_per_ip_per_minute), so one sender cannot fill the
// mailbox's disk or crowd out everyone else's bounces. Pure: the caller passes the time. The
// intake listens on the mailbox shard only, so one limiter there counts for the whole node.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/clock.h"

namespace mta::mailbox {

struct IntakeLimits {
  std::uint64_t messages_per_minute = 300;               // MAIL commands; 0 = unlimited
  std::uint64_t bytes_per_minute = 32ULL * 1024 * 1024;  // message octets; 0 = unlimited
  std::size_t clients_max = 100'000;                     // clients tracked at once
};

// A token bucket per client for each limit, full at first, refilled evenly over a minute.
// admit() runs at MAIL, before any message data is read: it takes a message token and wants
// the byte bucket above zero. charge() runs once a message is taken and may drive the byte
// bucket below zero, so a message larger than a minute's allowance is taken once on a full
// bucket and the client then waits until the debt is paid, rather than being refused forever
// or having its bodies read and thrown away. Over a long run a client gets at most
// bytes_per_minute plus one message.
//
// Clients are IPv4 addresses or IPv6 /64 prefixes (one host has a whole /64 to hop through).
// Buckets that are full again are forgotten when the table reaches clients_max; a new client
// that still finds no room is refused until some bucket fills up.
class IntakeLimiter {
 public:
  explicit IntakeLimiter(IntakeLimits limits);

  // nullopt: go on (one message counted); else the reply line refusing the MAIL command.
  std::optional<std::string> admit(std::string_view ip, Clock::TimePoint now);
  // The message from `ip` that admit() let in was taken: `bytes` count against its budget.
  void charge(std::string_view ip, std::uint64_t bytes, Clock::TimePoint now);

  std::size_t clients() const { return buckets_.size(); }
  bool unlimited() const;

  // MAIL commands refused, by which limit.
  struct Probe {
    std::uint64_t refused_messages = 0;
    std::uint64_t refused_bytes = 0;
    std::uint64_t refused_clients = 0;  // the table was full
  };
  const Probe& probe() const { return probe_; }

 private:
  struct Bucket {
    double messages = 0;
    double bytes = 0;
    Clock::TimePoint updated;
  };

  Bucket* bucket(const std::string& client, Clock::TimePoint now);
  void refill(Bucket& bucket, Clock::TimePoint now) const;

  IntakeLimits limits_;
  std::unordered_map<std::string, Bucket> buckets_;
  Probe probe_;
};

// The key a client address is counted under: IPv4 as it is, IPv6 as its /64 ("2001:db8::/64");
// anything else as it is.
std::string intake_client_key(std::string_view ip);

}  // namespace mta::mailbox
