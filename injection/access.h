// Who may relay through submission: clients that authenticated (SASL PLAIN or LOGIN against the
// configured users' password hashes), or clients from trusted networks. Pure and thread-safe
// once built: checking a password is slow on purpose, so it runs on the shard's worker.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "engine/address.h"

namespace mta::injection {

// "127.0.0.0/8", "10.1.2.3", "::1/128", "2001:db8::/32".
class NetworkList {
 public:
  static Result<NetworkList> parse(const std::vector<std::string>& networks);
  // IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match the IPv4 networks.
  bool contains(const engine::SocketAddress& address) const;

 private:
  struct Network {
    std::array<std::uint8_t, 16> bytes{};  // IPv4 as ::ffff:a.b.c.d
    int prefix = 0;                        // bits, counted in the 128-bit form
  };
  std::vector<Network> networks_;
};

// Users and their password hashes in crypt(3) form ("$y$..." yescrypt, "$6$..." SHA-512;
// libcrypt checks them). A hash that libcrypt cannot use makes check() fail, never succeed.
class Users {
 public:
  void add(std::string name, std::string password_hash);
  bool empty() const { return users_.empty(); }
  // What a SASL exchange (AuthRequested's mechanism and base64 responses) claims. `usable` is
  // false when it cannot succeed whatever the password: bad base64, PLAIN without exactly two
  // NUL separators (authzid NUL authcid NUL passwd, RFC 4616: a third NUL, as in
  // "s3cret\0junk", is refused, not cut off), an authzid other than the user, an empty user,
  // or a control character in the user name or password. `name` is what the client named
  // (for the log and the per-account delay), whenever it could be decoded.
  struct Credentials {
    std::string name;
    std::string password;
    bool usable = false;
  };
  static Credentials decode(std::string_view mechanism, const std::vector<std::string>& responses);
  // The user a SASL exchange authenticates, or nullopt: decode() and check_password().
  std::optional<std::string> check(std::string_view mechanism,
                                   const std::vector<std::string>& responses) const;
  // Same, for a name and password already decoded. A control character in either (a NUL
  // would end the string crypt(3) reads) fails it without a check.
  bool check_password(const std::string& name, const std::string& password) const;
  // A user bound to a tenant ([[submission.user]] tenant): its messages are that tenant's and
  // may name no other. "" = not bound.
  void set_tenant(const std::string& name, std::string tenant) {
    tenants_[name] = std::move(tenant);
  }
  std::string tenant_of(const std::string& name) const {
    const auto found = tenants_.find(name);
    return found == tenants_.end() ? std::string() : found->second;
  }

 private:
  std::map<std::string, std::string> users_;
  std::map<std::string, std::string> tenants_;
};

// A new yescrypt hash of `password` for the config (`outpost passwd`).
Result<std::string> hash_password(const std::string& password);

}  // namespace mta::injection
