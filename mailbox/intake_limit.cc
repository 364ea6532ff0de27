// IntakeLimiter: per-client token buckets for messages and octets, refilled over a minute.
#include "mailbox/intake_limit.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <iterator>

namespace mta::mailbox {
namespace {

constexpr double kMinute = 60.0;  // seconds

}  // namespace

std::string intake_client_key(std::string_view ip) {
  if (ip.find(':') == std::string_view::npos || ip.size() >= INET6_ADDRSTRLEN) {
    return std::string(ip);
  }
  std::array<unsigned char, 16> address{};
  std::string text(ip);
  if (::inet_pton(AF_INET6, text.c_str(), address.data()) != 1) return text;
  std::fill(address.begin() + 8, address.end(), 0);
  std::array<char, INET6_ADDRSTRLEN> out{};
  if (::inet_ntop(AF_INET6, address.data(), out.data(), out.size()) == nullptr) return text;
  return std::string(out.data()) + "/64";
}

IntakeLimiter::IntakeLimiter(IntakeLimits limits) : limits_(limits) {}

bool IntakeLimiter::unlimited() const {
  return limits_.messages_per_minute == 0 && limits_.bytes_per_minute == 0;
}

void IntakeLimiter::refill(Bucket& bucket, Clock::TimePoint now) const {
  const double elapsed = std::max(0.0, std::chrono::duration<double>(now - bucket.updated).count());
  const auto messages_max = static_cast<double>(limits_.messages_per_minute);
  const auto bytes_max = static_cast<double>(limits_.bytes_per_minute);
  bucket.messages = std::min(messages_max, bucket.messages + elapsed * messages_max / kMinute);
  bucket.bytes = std::min(bytes_max, bucket.bytes + elapsed * bytes_max / kMinute);
  bucket.updated = std::max(bucket.updated, now);
}

IntakeLimiter::Bucket* IntakeLimiter::bucket(const std::string& client, Clock::TimePoint now) {
  if (auto found = buckets_.find(client); found != buckets_.end()) {
    refill(found->second, now);
    return &found->second;
  }
  if (buckets_.size() >= limits_.clients_max) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      refill(it->second, now);
      const bool full = it->second.messages >= static_cast<double>(limits_.messages_per_minute) &&
                        it->second.bytes >= static_cast<double>(limits_.bytes_per_minute);
      it = full ? buckets_.erase(it) : std::next(it);
    }
    if (buckets_.size() >= limits_.clients_max) return nullptr;
  }
  return &buckets_
              .emplace(client, Bucket{.messages = static_cast<double>(limits_.messages_per_minute),
                                      .bytes = static_cast<double>(limits_.bytes_per_minute),
                                      .updated = now})
              .first->second;
}

std::optional<std::string> IntakeLimiter::admit(std::string_view ip, Clock::TimePoint now) {
  if (unlimited()) return std::nullopt;
  const std::string client = intake_client_key(ip);
  Bucket* b = bucket(client, now);
  if (b == nullptr) {
    ++probe_.refused_clients;
    return "450 4.7.1 Too many clients sending at once, try again later";
  }
  if (limits_.messages_per_minute > 0 && b->messages < 1) {
    ++probe_.refused_messages;
    return "450 4.7.1 Too many messages from " + client + ", try again later";
  }
  if (limits_.bytes_per_minute > 0 && b->bytes <= 0) {
    ++probe_.refused_bytes;
    return "450 4.7.1 Too much mail from " + client + ", try again later";
  }
  if (limits_.messages_per_minute > 0) b->messages -= 1;
  return std::nullopt;
}

void IntakeLimiter::charge(std::string_view ip, std::uint64_t bytes, Clock::TimePoint now) {
  if (limits_.bytes_per_minute == 0) return;
  auto found = buckets_.find(intake_client_key(ip));
  if (found == buckets_.end()) return;  // forgotten meanwhile: nothing to charge against
  refill(found->second, now);
  found->second.bytes -= static_cast<double>(bytes);
}

}  // namespace mta::mailbox
