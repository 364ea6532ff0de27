// Blocking HTTP/1.1 exchange for the command-line clients: connect (timeouts through
// SO_SNDTIMEO / SO_RCVTIMEO, which Linux also applies to connect), write the request, read
// until the response is complete or the server closes.
#include "app/http_client.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "app/admin_key.h"
#include "base/concat.h"

namespace mta::app {
namespace {

Result<void> system_error(int error, std::string detail) {
  return unexpected(std::error_code(error, std::system_category()),
                    concat({detail, ": ", std::strerror(error)}));
}

// Closes the socket on every path out of http_request.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

Result<HttpUrl> parse_http_url(std::string_view url) {
  const auto bad = [url](std::string_view why) {
    return unexpected(std::make_error_code(std::errc::invalid_argument),
                      concat({"URL \"", url, "\": ", why}));
  };
  constexpr std::string_view scheme = "http://";
  if (url.size() < scheme.size() ||
      !std::equal(scheme.begin(), scheme.end(), url.begin(),
                  [](char a, char b) { return a == (b >= 'A' && b <= 'Z' ? b - 'A' + 'a' : b); })) {
    return bad(url.starts_with("https:") ? "https is not supported; use http://" : "not http://");
  }
  std::string_view rest = url.substr(scheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos) return bad("query or fragment");
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (authority.empty()) return bad("no host");
  if (authority.find('@') != std::string_view::npos) return bad("userinfo is not supported");

  HttpUrl out;
  out.authority = std::string(authority);
  out.path = std::string(path);
  std::string_view port_text;
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '['");
    out.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return bad("junk after ']'");
    if (!after.empty()) port_text = after.substr(1);
  } else {
    const std::size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return bad("no host");
  if (!port_text.empty()) {
    unsigned value = 0;
    const auto [end, error] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (error != std::errc{} || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      return bad("bad port");
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  return out;
}

Result<engine::SocketAddress> resolve(const HttpUrl& url) {
  const std::string port = std::to_string(url.port);
  const bool v6 = url.host.find(':') != std::string::npos;
  if (auto numeric = engine::SocketAddress::parse(v6 ? concat({"[", url.host, "]:", port})
                                                     : concat({url.host, ":", port}))) {
    return numeric;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int error = ::getaddrinfo(url.host.c_str(), port.c_str(), &hints, &found);
  if (error != 0 || found == nullptr) {
    return unexpected(std::make_error_code(std::errc::host_unreachable),
                      concat({"cannot resolve ", url.host, ": ", ::gai_strerror(error)}));
  }
  const auto address = engine::SocketAddress::from(found->ai_addr, found->ai_addrlen);
  ::freeaddrinfo(found);
  return address;
}

Result<loadgen::HttpResponse> http_request(const engine::SocketAddress& to,
                                           const HttpClientRequest& request) {
  FdGuard fd(::socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return unexpected(system_error(errno, "socket").error());
  timeval timeout{};
  timeout.tv_sec = static_cast<time_t>(request.timeout.count());
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (::connect(fd.get(), to.sockaddr_ptr(), to.length) != 0) {
    return unexpected(system_error(errno, concat({"cannot connect to ", to.to_string()})).error());
  }

  std::string out = concat({request.method, " ", request.target,
                            " HTTP/1.1\r\nHost: ", request.host, "\r\nConnection: close\r\n"});
  for (const auto& header : request.headers) {
    out += concat({header.name, ": ", header.value, "\r\n"});
  }
  if (request.method != "GET" && request.method != "HEAD") {
    out += concat({"Content-Length: ", std::to_string(request.body.size()), "\r\n"});
  }
  out += "\r\n";
  out += request.body;
  for (std::size_t sent = 0; sent < out.size();) {
    const ssize_t n = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // The server may answer early (401, 413) and close before reading the whole body:
      // read what it said before reporting the send failure.
      if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) break;
      return unexpected(system_error(n < 0 ? errno : EPIPE, "send").error());
    }
    sent += static_cast<std::size_t>(n);
  }

  loadgen::HttpResponseReader reader;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      if (error == EAGAIN || error == EWOULDBLOCK) {
        return unexpected(std::make_error_code(std::errc::timed_out),
                          concat({"no answer from ", to.to_string(), " within ",
                                  std::to_string(request.timeout.count()), " s"}));
      }
      // A reset after a complete answer (the server closed with unread input) is harmless.
      if (reader.complete()) break;
      return unexpected(system_error(error, "recv").error());
    }
    auto done = n == 0 ? reader.finish()
                       : reader.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
    if (!done) {
      return unexpected(
          done.error().code,
          concat({to.to_string(), " sent no valid HTTP answer: ", done.error().detail}));
    }
    if (*done) break;
    if (n == 0) {
      return unexpected(std::make_error_code(std::errc::connection_reset),
                        concat({to.to_string(), " closed the connection without answering"}));
    }
  }
  return reader.take();
}

std::string percent_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '@') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

Reach admin_request(const engine::SocketAddress& address, std::string_view method,
                    const std::string& target, const std::string& key, HttpAnswer& answer,
                    std::string& error) {
  HttpClientRequest exchange;
  exchange.method = std::string(method);
  exchange.target = target;
  exchange.host = address.to_string();
  if (!key.empty()) exchange.headers.push_back({"Authorization", "Bearer " + key});
  auto response = http_request(address, exchange);
  if (!response) {
    error = response.error().code == std::errc::connection_refused
                ? "cannot connect to the admin API at " + address.to_string() + ": " +
                      response.error().code.message()
                : response.error().detail;
    return response.error().code == std::errc::connection_refused ? Reach::unreachable
                                                                  : Reach::failed;
  }
  answer.status = response->status;
  answer.body = std::move(response->body);
  return Reach::answered;
}

Result<AdminEndpoint> admin_endpoint(const std::string& config_path, const std::string& admin,
                                     const std::string& key) {
  auto config = config_path.empty() ? Result<Config>(Config{}) : load_config(config_path);
  if (!config) return unexpected(config.error());
  AdminEndpoint endpoint{.config = std::move(config).value(), .admin = admin, .key = key};
  if (endpoint.admin.empty() && !endpoint.config.http.listen.empty()) {
    endpoint.admin = endpoint.config.http.listen.front();
  }
  if (endpoint.key.empty()) endpoint.key = endpoint.config.http.admin_key;
  // No key configured: the one the daemon made in its spool, readable on the same host by
  // whoever may read the spool.
  if (endpoint.key.empty()) {
    if (auto made = read_admin_key(endpoint.config.spool.path)) endpoint.key = *made;
  }
  if (endpoint.admin.empty()) return endpoint;
  auto address = engine::SocketAddress::parse(endpoint.admin);
  if (!address) {
    endpoint.bad_address = true;
  } else if (address->port() != 0) {
    endpoint.address = *address;
  }
  return endpoint;
}

}  // namespace mta::app
