// AuthThrottle: two bounded LRU tables under one mutex. An address keeps the time of each
// failure within the window (at most failures_max of them), so "10 failures in 10 minutes" is
// exact, not an estimate; an account keeps a count that starts over after a quiet window.
#include "base/auth_throttle.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "base/assert.h"
#include "base/log.h"

namespace mta {

Result<void> parse_auth_throttle(config::Table& section, AuthThrottleOptions& out) {
  CONFIG_TRY(section.integer("failures_max", out.failures_max, 1, 1000));
  CONFIG_TRY(section.duration("failure_window", out.failure_window));
  CONFIG_TRY(section.duration("lockout", out.lockout));
  CONFIG_TRY(section.duration("failure_delay_max", out.failure_delay_max));
  CONFIG_TRY(section.integer("entries_max", out.entries_max, 1, 10'000'000));
  CONFIG_TRY(section.no_unknown_keys());
  if (out.failure_window <= Clock::Duration::zero()) {
    return section.error("failure_window", "must be longer than zero");
  }
  if (out.lockout <= Clock::Duration::zero()) {
    return section.error("lockout", "must be longer than zero");
  }
  return {};
}
namespace {

constexpr std::size_t key_bytes_max = 256;  // longer user names count under their first 256

// An IPv4-mapped IPv6 address (a dual-stack listener's IPv4 client) as plain IPv4, so the log
// names the address a firewall sees; anything else as it is.
std::string plain_address(std::string_view ip) {
  std::string text(ip.substr(0, 64));
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6) != 1 || !IN6_IS_ADDR_V4MAPPED(&v6)) return text;
  char out[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &v6.s6_addr[12], out, sizeof out);
  return out;
}

}  // namespace

AuthThrottle::Attempt::Attempt(Attempt&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), key_(std::move(other.key_)) {}

AuthThrottle::Attempt& AuthThrottle::Attempt::operator=(Attempt&& other) noexcept {
  if (this != &other) {
    if (owner_ != nullptr) owner_->release(key_);
    owner_ = std::exchange(other.owner_, nullptr);
    key_ = std::move(other.key_);
  }
  return *this;
}

AuthThrottle::Attempt::~Attempt() {
  if (owner_ != nullptr) owner_->release(key_);
}

template <typename Value>
Value* AuthThrottle::Lru<Value>::find(const std::string& key) {
  auto found = map_.find(key);
  return found == map_.end() ? nullptr : &found->second.first;
}

template <typename Value>
Value& AuthThrottle::Lru<Value>::touch(const std::string& key, std::size_t entries_max) {
  if (auto found = map_.find(key); found != map_.end()) {
    order_.splice(order_.begin(), order_, found->second.second);
    return found->second.first;
  }
  while (!map_.empty() && map_.size() >= entries_max) {
    map_.erase(order_.back());
    order_.pop_back();
  }
  order_.push_front(key);
  return map_.emplace(key, std::pair{Value{}, order_.begin()}).first->second.first;
}

AuthThrottle::AuthThrottle(AuthThrottleOptions options) : options_(options) {
  MTA_ASSERT(options_.failures_max >= 1);
  MTA_ASSERT(options_.entries_max >= 1);
}

std::string AuthThrottle::address_key(std::string_view ip) {
  std::string text(ip.substr(0, 64));
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) return text;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6) != 1) return text;
  char out[INET6_ADDRSTRLEN] = {};
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    std::memcpy(&v4, &v6.s6_addr[12], 4);
    ::inet_ntop(AF_INET, &v4, out, sizeof out);
    return out;
  }
  std::memset(&v6.s6_addr[8], 0, 8);
  ::inet_ntop(AF_INET6, &v6, out, sizeof out);
  return std::string(out) + "/64";
}

void AuthThrottle::prune(Address& address, Clock::TimePoint now) const {
  if (address.locked_until && *address.locked_until <= now) {
    address.locked_until.reset();  // the cool-down is over: a clean slate
    address.failures.clear();
  }
  const Clock::TimePoint horizon = now - options_.failure_window;
  const auto first_kept = std::find_if(address.failures.begin(), address.failures.end(),
                                       [horizon](Clock::TimePoint at) { return at > horizon; });
  address.failures.erase(address.failures.begin(), first_kept);
}

std::optional<AuthThrottle::Attempt> AuthThrottle::begin(std::string_view ip,
                                                         Clock::TimePoint now) {
  std::string key = address_key(ip);
  const std::lock_guard lock(mutex_);
  Address& address = addresses_.touch(key, options_.entries_max);
  prune(address, now);
  if (address.locked_until) return std::nullopt;
  if (address.failures.size() + address.in_flight >= options_.failures_max) return std::nullopt;
  ++address.in_flight;
  return Attempt(this, std::move(key));
}

void AuthThrottle::release(const std::string& key) {
  const std::lock_guard lock(mutex_);
  // The entry may have been evicted (and made again) while the attempt was checked.
  if (Address* address = addresses_.find(key); address != nullptr && address->in_flight > 0) {
    --address->in_flight;
  }
}

AuthThrottle::Failure AuthThrottle::failed(Attempt&& attempt, std::string_view user,
                                           Clock::Duration base_delay, Clock::TimePoint now) {
  MTA_ASSERT(attempt.owner_ == this);
  attempt.owner_ = nullptr;
  Failure failure;
  const std::lock_guard lock(mutex_);
  Address& address = addresses_.touch(attempt.key_, options_.entries_max);
  if (address.in_flight > 0) --address.in_flight;
  prune(address, now);
  if (!address.locked_until) {
    address.failures.push_back(now);
    if (address.failures.size() >= options_.failures_max) {
      address.failures.clear();
      address.locked_until = now + options_.lockout;
      failure.locked = true;
    }
  }
  Account& account =
      accounts_.touch(std::string(user.substr(0, key_bytes_max)), options_.entries_max);
  if (now - account.last > options_.failure_window) account.failures = 0;
  account.failures = std::min<std::uint32_t>(account.failures + 1, 64);
  account.last = now;
  Clock::Duration delay = base_delay;
  for (std::uint32_t i = 1; i < account.failures && delay < options_.failure_delay_max; ++i) {
    delay *= 2;
  }
  failure.delay = std::min(delay, std::max(base_delay, options_.failure_delay_max));
  return failure;
}

void AuthThrottle::succeeded(Attempt&& attempt) {
  MTA_ASSERT(attempt.owner_ == this);
  attempt.owner_ = nullptr;
  release(attempt.key_);
}

std::size_t AuthThrottle::addresses_tracked() const {
  const std::lock_guard lock(mutex_);
  return addresses_.size();
}

std::size_t AuthThrottle::accounts_tracked() const {
  const std::lock_guard lock(mutex_);
  return accounts_.size();
}

std::string auth_failure_line(std::string_view listener, std::string_view ip, std::string_view user,
                              Clock::Duration delay) {
  std::string line = "auth failure listener=";
  line.append(listener).append(" ip=").append(plain_address(ip));
  line.append(" user=").append(log::quoted(user));
  line.append(" delay_ms=")
      .append(std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(delay).count()));
  return line;
}

std::string auth_lockout_line(std::string_view listener, std::string_view ip,
                              const AuthThrottleOptions& options) {
  std::string line = "auth lockout listener=";
  line.append(listener).append(" ip=").append(plain_address(ip));
  line.append(" failures=").append(std::to_string(options.failures_max));
  line.append(" lockout_s=")
      .append(std::to_string(
          std::chrono::duration_cast<std::chrono::seconds>(options.lockout).count()));
  return line;
}

bool has_control_character(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

}  // namespace mta
