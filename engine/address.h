// SocketAddress: a numeric IPv4 or IPv6 address with a port, as the kernel wants it. Parsing
// is numeric only ("127.0.0.1:2525", "[::1]:25"); names are dns/'s job, not the engine's.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace mta::engine {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;  // 0 = unspecified

  // host_port = IPv4address ":" port / "[" IPv6address "]" ":" port ; port = 1*5DIGIT <= 65535
  static Result<SocketAddress> parse(std::string_view host_port);
  // Copies what accept(), getsockname() or getpeername() filled in.
  static SocketAddress from(const sockaddr* address, socklen_t length);

  std::string to_string() const;  // "127.0.0.1:2525" / "[::1]:25"; "unspecified" when empty
  std::string host() const;       // the address without the port: "127.0.0.1" / "::1"
  bool is_loopback() const;       // 127.0.0.0/8 or ::1
  std::uint16_t port() const;
  int family() const { return storage.ss_family; }
  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage); }

  friend bool operator==(const SocketAddress& a, const SocketAddress& b);
};

}  // namespace mta::engine
