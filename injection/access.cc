// NetworkList with inet_pton and prefix masks; Users with libcrypt (crypt_rn, crypt_gensalt_rn),
// compared in constant time so a wrong password takes as long as a right one.
#include "injection/access.h"

#include <arpa/inet.h>
#include <crypt.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>
#include <system_error>

#include "base/auth_throttle.h"
#include "dkim/crypto.h"

namespace mta::injection {
namespace {

Unexpected<Error> invalid(std::string detail) {
  return unexpected(std::make_error_code(std::errc::invalid_argument), std::move(detail));
}

// The 16-byte form of a textual address: IPv6 as is, IPv4 as ::ffff:a.b.c.d.
std::optional<std::array<std::uint8_t, 16>> address_bytes(const std::string& text, bool& v4) {
  std::array<std::uint8_t, 16> bytes{};
  in_addr a4{};
  if (::inet_pton(AF_INET, text.c_str(), &a4) == 1) {
    bytes[10] = bytes[11] = 0xff;
    std::memcpy(bytes.data() + 12, &a4, 4);
    v4 = true;
    return bytes;
  }
  in6_addr a6{};
  if (::inet_pton(AF_INET6, text.c_str(), &a6) == 1) {
    std::memcpy(bytes.data(), &a6, 16);
    v4 = false;
    return bytes;
  }
  return std::nullopt;
}

bool prefix_matches(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b,
                    int prefix) {
  for (int bit = 0; bit < prefix; bit += 8) {
    const int bits = std::min(8, prefix - bit);
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((a[bit / 8] & mask) != (b[bit / 8] & mask)) return false;
  }
  return true;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

}  // namespace

Result<NetworkList> NetworkList::parse(const std::vector<std::string>& networks) {
  NetworkList list;
  for (const std::string& text : networks) {
    const std::size_t slash = text.find('/');
    const std::string address = text.substr(0, slash);
    bool v4 = false;
    auto bytes = address_bytes(address, v4);
    if (!bytes) return invalid("\"" + text + "\" is not an IP network");
    int prefix = v4 ? 32 : 128;
    if (slash != std::string::npos) {
      const std::string_view digits(text.data() + slash + 1, text.size() - slash - 1);
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
      if (ec != std::errc() || end != digits.data() + digits.size() || prefix < 0 ||
          prefix > (v4 ? 32 : 128)) {
        return invalid("\"" + text + "\" has a bad prefix length");
      }
    }
    list.networks_.push_back({.bytes = *bytes, .prefix = v4 ? prefix + 96 : prefix});
  }
  return list;
}

bool NetworkList::contains(const engine::SocketAddress& address) const {
  std::array<std::uint8_t, 16> bytes{};
  if (address.family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address.sockaddr_ptr());
    bytes[10] = bytes[11] = 0xff;
    std::memcpy(bytes.data() + 12, &in->sin_addr, 4);
  } else if (address.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address.sockaddr_ptr());
    std::memcpy(bytes.data(), &in6->sin6_addr, 16);
  } else {
    return false;
  }
  return std::any_of(networks_.begin(), networks_.end(), [&](const Network& network) {
    return prefix_matches(bytes, network.bytes, network.prefix);
  });
}

void Users::add(std::string name, std::string password_hash) {
  users_[std::move(name)] = std::move(password_hash);
}

bool Users::check_password(const std::string& name, const std::string& password) const {
  if (has_control_character(name) || has_control_character(password)) return false;
  const auto found = users_.find(name);
  // Unknown users cost a hash too, so timing does not tell which names exist.
  static const std::string dummy =
      "$y$j9T$gvjngrMqdF9ZdEb7Gidfk0$pYlyQDRg9hqkJwiWti/qgR6ZeLpmhgfqjH15/Y9A1TD";
  const std::string& hash = found == users_.end() ? dummy : found->second;
  auto data = std::make_unique<crypt_data>();
  const char* computed = ::crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof *data);
  if (computed == nullptr || computed[0] == '*') return false;
  return found != users_.end() && constant_time_equal(computed, hash);
}

Users::Credentials Users::decode(std::string_view mechanism,
                                 const std::vector<std::string>& responses) {
  std::vector<std::string> decoded;
  for (const std::string& response : responses) {
    if (response == "=") {
      decoded.emplace_back();
      continue;
    }
    auto bytes = dkim::base64_decode(response);
    if (!bytes) return {};
    decoded.push_back(std::move(bytes).value());
  }
  Credentials credentials;
  if (mechanism == "PLAIN" && decoded.size() == 1) {
    // message = [authzid] NUL authcid NUL passwd (RFC 4616 §2); no field holds a NUL.
    const std::string& plain = decoded[0];
    const std::size_t first = plain.find('\0');
    const std::size_t second =
        first == std::string::npos ? std::string::npos : plain.find('\0', first + 1);
    if (second == std::string::npos) return {};
    const std::string authzid = plain.substr(0, first);
    credentials.name = plain.substr(first + 1, second - first - 1);
    credentials.password = plain.substr(second + 1);
    credentials.usable = authzid.empty() || authzid == credentials.name;
  } else if (mechanism == "LOGIN" && decoded.size() == 2) {
    credentials.name = std::move(decoded[0]);
    credentials.password = std::move(decoded[1]);
    credentials.usable = true;
  } else {
    return {};
  }
  if (credentials.name.empty() || has_control_character(credentials.name) ||
      has_control_character(credentials.password)) {
    credentials.usable = false;
  }
  return credentials;
}

std::optional<std::string> Users::check(std::string_view mechanism,
                                        const std::vector<std::string>& responses) const {
  Credentials credentials = decode(mechanism, responses);
  if (!credentials.usable || !check_password(credentials.name, credentials.password)) {
    return std::nullopt;
  }
  return std::move(credentials.name);
}

Result<std::string> hash_password(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (::crypt_gensalt_rn("$y$", 0, nullptr, 0, salt, sizeof salt) == nullptr) {
    return unexpected(std::make_error_code(std::errc::not_supported), "no yescrypt salt");
  }
  auto data = std::make_unique<crypt_data>();
  const char* hash = ::crypt_rn(password.c_str(), salt, data.get(), sizeof *data);
  if (hash == nullptr || hash[0] == '*') {
    return unexpected(std::make_error_code(std::errc::not_supported), "yescrypt failed");
  }
  return std::string(hash);
}

}  // namespace mta::injection
