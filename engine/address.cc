// SocketAddress parsing and formatting over inet_pton / inet_ntop. No name resolution and no
// IPv6 scope ids: a listener or relay address in the config is numeric.
#include "engine/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

#include "engine/errc.h"

namespace mta::engine {
namespace {

Result<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) {
    return unexpected(Errc::invalid_address, "bad port");
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) {
    return unexpected(Errc::invalid_address, "bad port");
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

Result<SocketAddress> SocketAddress::parse(std::string_view host_port) {
  SocketAddress address;
  std::string host;
  std::string_view port_text;
  bool v6 = false;
  if (!host_port.empty() && host_port.front() == '[') {
    const std::size_t close = host_port.find(']');
    if (close == std::string_view::npos || close + 1 >= host_port.size() ||
        host_port[close + 1] != ':') {
      return unexpected(Errc::invalid_address, std::string(host_port));
    }
    host = std::string(host_port.substr(1, close - 1));
    port_text = host_port.substr(close + 2);
    v6 = true;
  } else {
    const std::size_t colon = host_port.rfind(':');
    if (colon == std::string_view::npos) {
      return unexpected(Errc::invalid_address, std::string(host_port));
    }
    host = std::string(host_port.substr(0, colon));
    port_text = host_port.substr(colon + 1);
    // A bare IPv6 literal ("::1:25") is ambiguous; RFC 3986 asks for brackets.
    if (host.find(':') != std::string::npos) {
      return unexpected(Errc::invalid_address, std::string(host_port));
    }
  }
  auto port = parse_port(port_text);
  if (!port) {
    return unexpected(Errc::invalid_address, std::string(host_port));
  }
  if (v6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
    if (::inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) != 1) {
      return unexpected(Errc::invalid_address, std::string(host_port));
    }
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(*port);
    address.length = sizeof(sockaddr_in6);
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&address.storage);
    if (::inet_pton(AF_INET, host.c_str(), &in4->sin_addr) != 1) {
      return unexpected(Errc::invalid_address, std::string(host_port));
    }
    in4->sin_family = AF_INET;
    in4->sin_port = htons(*port);
    address.length = sizeof(sockaddr_in);
  }
  return address;
}

SocketAddress SocketAddress::from(const sockaddr* address, socklen_t length) {
  SocketAddress result;
  if (length > sizeof(result.storage)) length = sizeof(result.storage);
  std::memcpy(&result.storage, address, length);
  result.length = length;
  return result;
}

std::string SocketAddress::host() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    const auto* in4 = reinterpret_cast<const sockaddr_in*>(&storage);
    ::inet_ntop(AF_INET, &in4->sin_addr, text, sizeof(text));
  } else if (family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
  }
  return text;
}

std::string SocketAddress::to_string() const {
  // Built with append(): GCC 12 warns falsely (-Wrestrict, PR105329) on "[" + std::string.
  std::string out;
  if (family() == AF_INET) {
    out.append(host());
  } else if (family() == AF_INET6) {
    out.append("[").append(host()).append("]");
  } else {
    return "unspecified";
  }
  out.append(":").append(std::to_string(port()));
  return out;
}

bool SocketAddress::is_loopback() const {
  if (family() == AF_INET) {
    const auto* in4 = reinterpret_cast<const sockaddr_in*>(&storage);
    return (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
  }
  if (family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
  }
  return false;
}

std::uint16_t SocketAddress::port() const {
  if (family() == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  }
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  }
  return 0;
}

bool operator==(const SocketAddress& a, const SocketAddress& b) {
  return a.length == b.length && std::memcmp(&a.storage, &b.storage, a.length) == 0;
}

}  // namespace mta::engine
