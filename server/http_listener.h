// The HTTP listener of one shard ([http] listen): accepts connections, parses requests with
// http::RequestParser on the engine and hands each complete request to one handler, which
// answers now or later (after a store scan or a round trip to other shards) through the
// Respond it is given. Routes are the handler's business: app/ serves the admin API, the
// injection API and /metrics behind it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include "engine/address.h"
#include "engine/limits.h"
#include "engine/shard.h"
#include "proto/http/request_parser.h"
#include "proto/http/response.h"

namespace mta::server {

struct HttpOptions {
  http::ParserLimits limits;
  Clock::Duration idle_timeout = std::chrono::seconds(60);  // between requests
  // Over connections_max (per shard) or connections_per_ip: 503 and close. command_timeout:
  // from accept to the first request's head, and from each request's first byte to the end of
  // its head (else 408 and close). session_max: no new request after it (keep-alive ends).
  // output_buffer_max: pipelined requests wait while more than this is unsent.
  engine::ListenerLimits peer_limits;
  engine::PeerCounts* peer_counts = nullptr;  // node-wide, shared by the shards; null = none
  // Nothing before authentication is read into memory beyond a small cap: a request whose
  // head announces a body over unauthenticated_body_max (chunked counts as over) and that
  // `authenticated` refuses gets 401 and close before any byte of its body is read. Null:
  // every body may be read (up to limits.body_bytes_max).
  std::function<bool(const http::Request& head, const engine::SocketAddress& peer)> authenticated;
  std::size_t unauthenticated_body_max = 64 * 1024;
};

// Answers one request, once, on the listener's shard. Calling it after the client has gone is
// harmless: the response is dropped.
using Respond = std::function<void(http::Response response)>;
using HttpHandler = std::function<void(http::Request&& request, const engine::SocketAddress& peer,
                                       Respond respond)>;

// One per shard, created and used only on that shard's thread. Requests on one connection are
// answered in order, one at a time (pipelined requests wait in the parser); reading pauses while
// a request is being answered, and resumes only when the parser needs more bytes, so however
// many requests a client pipelines, the server holds one recv's worth of them. Each connection
// holds the shard's drain gate while open; on stop, idle connections close and busy ones close
// after their response.
class HttpListener {
 public:
  HttpListener(engine::Shard& shard, HttpOptions options, HttpHandler handler);
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;
  ~HttpListener();

  // Starts accepting on `listen_fd` (a SO_REUSEPORT socket of this shard); takes ownership.
  void listen(int listen_fd);

  std::size_t connections_open() const { return connections_.size(); }
  std::uint64_t requests_served() const { return requests_served_; }

 private:
  class Connection;
  friend class Connection;

  void on_accept(int fd, const engine::SocketAddress& peer);
  void on_closed(std::uint64_t id);
  void on_stop();
  Connection* find(std::uint64_t id);

  engine::Shard& shard_;
  HttpOptions options_;
  HttpHandler handler_;
  engine::FirstCommandQueue first_requests_;  // before connections_: outlives their Deadlines
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  std::uint64_t next_id_ = 1;
  std::uint64_t requests_served_ = 0;
  bool stopping_ = false;
};

}  // namespace mta::server
