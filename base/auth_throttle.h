// AuthThrottle: failed logins counted per client address and per account for the whole node.
// Every listener (submission, IMAP, POP3) on every shard shares one table, so a guesser gains
// nothing by opening more connections or landing on other shards. Time comes in as arguments
// (the callers pass their shard's clock), so the rules are tested without sleeping.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/config_reader.h"
#include "base/result.h"

namespace mta {

struct AuthThrottleOptions {
  // An address with failures_max failures within failure_window is locked out for `lockout`:
  // its attempts are refused (temporarily: 454 4.7.0, NO [UNAVAILABLE], -ERR [SYS/TEMP])
  // without a password check. IPv6 addresses count per /64, the block one host is usually given.
  std::size_t failures_max = 10;
  Clock::Duration failure_window = std::chrono::minutes(10);
  Clock::Duration lockout = std::chrono::minutes(10);
  // Per account, nobody is locked out: a failure is answered after the listener's base delay,
  // doubled for each earlier failure of that account within failure_window, at most this.
  Clock::Duration failure_delay_max = std::chrono::seconds(30);
  // Addresses and accounts tracked (each table); when full, the least recently seen goes.
  std::size_t entries_max = 50'000;
};

// [auth] of the configuration, read straight into the options (base/config_reader.h).
Result<void> parse_auth_throttle(config::Table& section, AuthThrottleOptions& out);

// Thread-safe: one mutex, taken once when an attempt starts and once when it ends (logins are
// rare next to mail; the password hash costs a thousand times more). Memory is bounded by
// entries_max entries per table, each holding at most failures_max time stamps.
class AuthThrottle {
 public:
  explicit AuthThrottle(AuthThrottleOptions options);
  AuthThrottle(const AuthThrottle&) = delete;
  AuthThrottle& operator=(const AuthThrottle&) = delete;

  // One login attempt in flight, holding a place in its address's budget: while it is being
  // checked, failures plus attempts in flight may not exceed failures_max, so a hundred
  // connections guessing at once get no more checks than one. Moves; destroyed without an
  // outcome (the connection went away), it gives its place back.
  class Attempt {
   public:
    Attempt(Attempt&& other) noexcept;
    Attempt& operator=(Attempt&& other) noexcept;
    Attempt(const Attempt&) = delete;
    Attempt& operator=(const Attempt&) = delete;
    ~Attempt();

   private:
    friend class AuthThrottle;
    Attempt(AuthThrottle* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
    AuthThrottle* owner_ = nullptr;  // nullptr once ended or moved from
    std::string key_;
  };

  // Before a password is checked: an Attempt, or nullopt when `ip` is locked out (or has its
  // whole budget in flight): refuse it temporarily, without checking.
  std::optional<Attempt> begin(std::string_view ip, Clock::TimePoint now);

  struct Failure {
    Clock::Duration delay{};  // wait this long before answering
    bool locked = false;      // this failure locked the address out
  };
  // The attempt failed, for the account `user` (as the client named it; "" when none was
  // given). `base_delay` is the listener's delay for an account's first failure.
  Failure failed(Attempt&& attempt, std::string_view user, Clock::Duration base_delay,
                 Clock::TimePoint now);
  // The attempt succeeded. It resets nothing: one address's success says nothing about
  // another's guesses, and a guesser with one account of its own must not clear its count.
  void succeeded(Attempt&& attempt);

  const AuthThrottleOptions& options() const { return options_; }
  std::size_t addresses_tracked() const;
  std::size_t accounts_tracked() const;

  // The key an address counts under: IPv4 as it is (an IPv4-mapped IPv6 address too), IPv6
  // as its /64 ("2001:db8:1:2::/64"), anything else as given (at most 64 bytes).
  static std::string address_key(std::string_view ip);

 private:
  struct Address {
    std::vector<Clock::TimePoint> failures;  // within the window, oldest first
    std::size_t in_flight = 0;
    std::optional<Clock::TimePoint> locked_until;
  };
  struct Account {
    std::uint32_t failures = 0;
    Clock::TimePoint last{};
  };
  // A map whose least recently touched entry goes when it is full.
  template <typename Value>
  class Lru {
   public:
    Value* find(const std::string& key);
    Value& touch(const std::string& key, std::size_t entries_max);
    std::size_t size() const { return map_.size(); }

   private:
    std::list<std::string> order_;  // most recent first
    std::unordered_map<std::string, std::pair<Value, std::list<std::string>::iterator>> map_;
  };

  void release(const std::string& key);  // an Attempt ended without an outcome
  void prune(Address& address, Clock::TimePoint now) const;

  const AuthThrottleOptions options_;
  mutable std::mutex mutex_;
  Lru<Address> addresses_;
  Lru<Account> accounts_;
};

// The one line every refused password is logged as (at notice; deploy/fail2ban/ reads it):
//   auth failure listener=submission ip=192.0.2.7 user="bob" delay_ms=1000
// The user name is log::quoted(), so no peer text can forge another field or line; an
// IPv4-mapped IPv6 address is written as IPv4 (what the firewall sees).
std::string auth_failure_line(std::string_view listener, std::string_view ip, std::string_view user,
                              Clock::Duration delay);
// The line logged when an address is locked out (also notice; fail2ban does not count it).
std::string auth_lockout_line(std::string_view listener, std::string_view ip,
                              const AuthThrottleOptions& options);
// True when `text` has a control character (below 0x20, or DEL): never part of a user name or
// password we accept (a NUL would end the C string crypt(3) sees, so "s3cret\0junk" would pass).
bool has_control_character(std::string_view text);

}  // namespace mta
