// The command line's HTTP/1.1 client: one request per connection on a blocking socket (the
// commands run once, not on the engine), for `outpost queue` (admin API) and `outpost inject`
// (injection API). URLs are plain http://; the answer is read with bench's
// HttpResponseReader.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.h"
#include "base/result.h"
#include "engine/address.h"
#include "loadgen/http_response_reader.h"
#include "proto/http/request_parser.h"

namespace mta::app {

// http-URI = "http://" host [ ":" port ] path-abempty                   (RFC 9110 §4.2.1)
// host is a name, an IPv4 address or "[" IPv6 "]"; no userinfo, query or fragment.
struct HttpUrl {
  std::string host;  // as written, brackets removed from an IPv6 literal
  std::uint16_t port = 80;
  std::string authority;  // the Host field: host[:port] as written
  std::string path;       // "" or "/prefix", without a trailing '/'
};
Result<HttpUrl> parse_http_url(std::string_view url);

// The first address of url.host: numeric as it is, a name through getaddrinfo (blocking).
Result<engine::SocketAddress> resolve(const HttpUrl& url);

struct HttpClientRequest {
  std::string method = "GET";
  std::string target;                 // origin-form: "/v1/messages"
  std::string host;                   // the Host field
  std::vector<http::Header> headers;  // besides Host, Connection and Content-Length
  std::string body;                   // sent with Content-Length when method is not GET
  std::chrono::seconds timeout{60};   // connect, and each send or receive
};

// Connects, sends the request with `Connection: close`, reads one response. Socket failures
// keep their errno (system category): a refused connect is std::errc::connection_refused, so
// a caller can tell "nothing listens" from other failures.
Result<loadgen::HttpResponse> http_request(const engine::SocketAddress& to,
                                           const HttpClientRequest& request);

// `text` percent-encoded for a path segment or a query value (unreserved characters and '@'
// stay as they are).
std::string percent_encode(std::string_view text);

// The admin API clients (`outpost queue`, `outpost suppression`): one request with the admin
// key; `unreachable` when nothing listens at `address`, `failed` for any other failure
// (`error` says which).
struct HttpAnswer {
  int status = 0;
  std::string body;
};
enum class Reach { answered, unreachable, failed };

// Where an admin API client finds the daemon: the configuration (`config_path`; empty = the
// defaults) with the --admin and --key overrides applied.
struct AdminEndpoint {
  Config config;
  std::string admin;  // the address as written (--admin, else the first [http] listen)
  std::string key;    // --key, else [http] admin_key
  // Unset: no fixed address to reach a daemon at (no [http] listener, or port 0).
  std::optional<engine::SocketAddress> address;
  bool bad_address = false;  // `admin` is not a numeric host:port
};
// Fails only when the configuration does not load.
Result<AdminEndpoint> admin_endpoint(const std::string& config_path, const std::string& admin,
                                     const std::string& key);
Reach admin_request(const engine::SocketAddress& address, std::string_view method,
                    const std::string& target, const std::string& key, HttpAnswer& answer,
                    std::string& error);

}  // namespace mta::app
