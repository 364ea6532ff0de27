// Outbound TLS policy of a destination (TlsPolicy, in connection_driver.h: none,
// opportunistic, required, verify): whether a connection asks for STARTTLS, which client
// context it handshakes with, the session cache key, and the plaintext fallback an
// opportunistic handshake failure earns an address. Pure (the caller says what "now" is).
#pragma once

#include <string>
#include <unordered_map>

#include "base/clock.h"
#include "delivery/connection_driver.h"
#include "engine/address.h"
#include "tls/context.h"

namespace mta::delivery {

// Whether a connection under `policy` offers STARTTLS: never under none or without a client
// context; under opportunistic, not to an address in its plaintext fallback.
bool wants_starttls(TlsPolicy policy, bool have_context, bool plaintext_only);

// The context a handshake under `policy` uses: the verifying one for verify, else the other
// (nullptr: none configured).
tls::ClientContext* client_context_for(TlsPolicy policy, tls::ClientContext* client,
                                       tls::ClientContext* verify);

// The TLS session cache key of a connection: the host name and port when there is a name (an
// MX host), else the address.
std::string session_cache_key(const std::string& name, const engine::SocketAddress& address);

// Addresses where an opportunistic handshake failed, by text: plaintext there until a time.
class TlsFallbacks {
 public:
  void fall_back(const std::string& address, Clock::TimePoint until) {
    plaintext_until_[address] = until;
  }
  bool plaintext_only(const std::string& address, Clock::TimePoint now) const;

 private:
  std::unordered_map<std::string, Clock::TimePoint> plaintext_until_;
};

}  // namespace mta::delivery
