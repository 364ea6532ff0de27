// FakeResolver: a scripted Resolver for unit tests. Answers come from tables the test fills;
// a name without an entry is NXDOMAIN. Counts the queries per name, and can hold answers
// until the test releases them, which is how tests see lookups in flight (coalescing).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "dns/answer.h"
#include "dns/resolver.h"

namespace mta::dns {

class FakeResolver final : public Resolver {
 public:
  void set_mx(const std::string& domain, MxAnswer answer) {
    mx_[normalize_name(domain)] = std::move(answer);
  }
  void set_addresses(const std::string& host, AddressAnswer answer) {
    addresses_[normalize_name(host)] = std::move(answer);
  }
  // Shorthands: an ok answer with these records/addresses and TTL.
  void set_mx(const std::string& domain, std::vector<MxRecord> records, std::chrono::seconds ttl) {
    set_mx(domain, MxAnswer{QueryStatus::ok, std::move(records), ttl, {}});
  }
  void set_addresses(const std::string& host, std::vector<Address> addresses,
                     std::chrono::seconds ttl) {
    set_addresses(host, AddressAnswer{QueryStatus::ok, std::move(addresses), ttl, {}});
  }

  // While held, answers queue up until release() runs them in query order. release() answers
  // the queries held when it is called; those their callbacks start wait for the next call.
  void hold(bool on) { hold_ = on; }
  std::size_t held() const { return held_.size(); }
  void release() {
    for (std::size_t n = held_.size(); n > 0; --n) {
      auto answer = std::move(held_.front());
      held_.pop_front();
      answer();
    }
  }

  void query_mx(std::string domain, MxAnswerCallback done) override {
    const std::string key = normalize_name(domain);
    ++mx_queries_[key];
    const auto it = mx_.find(key);
    MxAnswer answer = it != mx_.end() ? it->second : MxAnswer{QueryStatus::nxdomain, {}, {}, {}};
    deliver([done = std::move(done), answer = std::move(answer)] { done(answer); });
  }

  void query_addresses(std::string host, AddressCallback done) override {
    const std::string key = normalize_name(host);
    ++address_queries_[key];
    const auto it = addresses_.find(key);
    AddressAnswer answer =
        it != addresses_.end() ? it->second : AddressAnswer{QueryStatus::nxdomain, {}, {}, {}};
    deliver([done = std::move(done), answer = std::move(answer)] { done(answer); });
  }

  std::size_t mx_queries(const std::string& domain) const { return count(mx_queries_, domain); }
  std::size_t address_queries(const std::string& host) const {
    return count(address_queries_, host);
  }
  std::size_t queries() const {
    std::size_t total = 0;
    for (const auto& [name, n] : mx_queries_) total += n;
    for (const auto& [name, n] : address_queries_) total += n;
    return total;
  }

 private:
  static std::size_t count(const std::map<std::string, std::size_t>& counts,
                           const std::string& name) {
    const auto it = counts.find(normalize_name(name));
    return it == counts.end() ? 0 : it->second;
  }
  void deliver(std::function<void()> answer) {
    if (hold_) {
      held_.push_back(std::move(answer));
    } else {
      answer();
    }
  }

  std::map<std::string, MxAnswer> mx_;
  std::map<std::string, AddressAnswer> addresses_;
  std::map<std::string, std::size_t> mx_queries_;
  std::map<std::string, std::size_t> address_queries_;
  bool hold_ = false;
  std::deque<std::function<void()>> held_;
};

}  // namespace mta::dns
