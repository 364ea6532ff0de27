// HttpListener and its per-connection state machine: feed bytes to the parser; on a complete
// request pause reading and call the handler; on its response write it, then either close
// (Connection: close, an HTTP/1.0 client, a stop, session_max) or go on with the next
// pipelined request once the output is under its cap. Reading resumes only when the parser
// says it needs more: never while a request is complete and unanswered.
#include "server/http_listener.h"

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "base/assert.h"
#include "engine/connection.h"

namespace mta::server {

class HttpListener::Connection final : public engine::ConnectionHandler {
 public:
  Connection(HttpListener& owner, std::uint64_t id, int fd, const engine::SocketAddress& peer,
             engine::PeerCounts::Ticket&& ticket)
      : owner_(owner),
        id_(id),
        peer_(peer),
        parser_(owner.options_.limits),
        ticket_(std::move(ticket)),
        deadlines_(
            owner.shard_, owner.options_.peer_limits,
            [this](engine::Deadlines::Kind kind) { on_expired(kind); }, &owner.first_requests_),
        connection_(&engine::Connection::adopt(owner.shard_, fd, *this)) {
    owner_.shard_.hold();
    connection_->set_idle_timeout(owner_.options_.idle_timeout);
    connection_->set_write_timeout(owner_.options_.peer_limits.write_timeout);
  }

  bool busy() const { return busy_; }

  void on_data(Buffer& input) override {
    const std::string_view bytes = input.readable();
    auto event = parser_.feed(bytes);
    input.consume(bytes.size());
    // A request is being answered or the next one is queued: the parser keeps these bytes and
    // next() acts on them. (Reading is paused then, but a recv already in flight lands here.)
    if (busy_ || next_queued_ || waiting_for_drain_) return;
    handle(event);
  }

  void on_drained() override {
    if (!waiting_for_drain_) return;
    waiting_for_drain_ = false;
    queue_next();
  }

  void on_closed(int /*error*/) override {
    connection_ = nullptr;
    deadlines_.cancel();
    ticket_ = {};  // the address's place is free now, not when this object goes
    owner_.shard_.release();
    owner_.on_closed(id_);
  }

  // The handler's answer to the current request.
  void respond(http::Response response) {
    if (!busy_ || connection_ == nullptr) return;
    busy_ = false;
    ++owner_.requests_served_;
    const bool keep_alive = keep_alive_ && !owner_.stopping_ && !session_over_;
    response.close = !keep_alive;
    response.request_version_minor = version_minor_;
    response.head_request = head_request_;
    connection_->write(http::serialize(response));
    if (!keep_alive) {
      connection_->close();
      return;
    }
    queue_next();
  }

  void on_stop() {
    if (!busy_ && connection_ != nullptr) connection_->close();
  }

 private:
  // The next pipelined request, if one is buffered, in a later turn (a handler that answers at
  // once must not recurse once per pipelined request), and only once the output is under its
  // cap: a client that pipelines and never reads gets no more answers written meanwhile.
  void queue_next() {
    if (connection_ == nullptr || next_queued_) return;
    if (connection_->output_pending() > owner_.options_.peer_limits.output_buffer_max) {
      waiting_for_drain_ = true;  // on_drained() comes back here
      return;
    }
    next_queued_ = true;
    owner_.shard_.defer([&owner = owner_, id = id_] {
      if (Connection* self = owner.find(id)) self->next();
    });
  }

  void next() {
    next_queued_ = false;
    if (connection_ == nullptr || busy_) return;
    handle(parser_.next());
  }

  // Acts on the parser's state: reading resumes only when the parser needs more bytes.
  void handle(const Result<http::ParseEvent>& event) {
    if (connection_ == nullptr) return;
    if (!event) {
      deadlines_.command_done();
      connection_->write(http::serialize(http::Response::for_error(event.error())));
      connection_->close();
      return;
    }
    switch (*event) {
      case http::ParseEvent::need_more:
        // The head's deadline runs from its first byte; an idle keep-alive waits on the idle
        // timeout instead.
        if (parser_.started()) deadlines_.command_started();
        connection_->resume_reading();
        return;
      case http::ParseEvent::headers_complete:
        deadlines_.command_done();
        if (!may_read_body()) {
          http::Response denied{.status = 401,
                                .content_type = "text/plain",
                                .body = "authentication required before a body this large\n"};
          denied.bearer_challenge = true;
          denied.close = true;
          connection_->write(http::serialize(denied));
          connection_->close();
          return;
        }
        if (parser_.request().expects_continue()) connection_->write(http::continue_100());
        connection_->resume_reading();
        return;
      case http::ParseEvent::complete:
        break;
    }
    deadlines_.command_done();
    busy_ = true;
    connection_->pause_reading();
    keep_alive_ = parser_.request().keep_alive();
    version_minor_ = parser_.request().version_minor;
    head_request_ = parser_.request().method == "HEAD";
    owner_.handler_(parser_.take_request(), peer_,
                    [&owner = owner_, id = id_](http::Response response) {
                      if (Connection* self = owner.find(id)) self->respond(std::move(response));
                    });
  }

  // The head is in and its body is still to come: small bodies may come from anyone (the
  // handler answers who is not allowed), larger ones only when the head authenticates.
  bool may_read_body() const {
    const HttpOptions& options = owner_.options_;
    if (!options.authenticated) return true;
    const http::Request& head = parser_.request();
    if (head.framing == http::BodyFraming::content_length) {
      const std::string_view text = head.header("Content-Length").value_or("");
      std::uint64_t length = 0;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), length);
      if (error == std::errc() && end == text.data() + text.size() &&
          length <= options.unauthenticated_body_max) {
        return true;
      }
    }
    return options.authenticated(head, peer_);
  }

  void on_expired(engine::Deadlines::Kind kind) {
    if (connection_ == nullptr) return;
    if (kind == engine::Deadlines::Kind::session) {
      // Keep-alive maximum: the request being answered (or arriving, still under the head
      // deadline) is the last one; an idle connection closes now.
      session_over_ = true;
      if (!busy_ && !parser_.started()) connection_->close();
      return;
    }
    if (busy_) return;  // the head was in; the deadline does not cover our own work
    if (kind == engine::Deadlines::Kind::evicted) {
      // Made room for a newer connection: reset at once. A 503 and the linger of a graceful
      // close would keep the slot taken for seconds, while the listener is full.
      connection_->abort();
      return;
    }
    http::Response goodbye{
        .status = 408, .content_type = "text/plain", .body = "request head too slow\n"};
    goodbye.close = true;
    connection_->write(http::serialize(goodbye));
    connection_->close();
  }

  HttpListener& owner_;
  const std::uint64_t id_;
  const engine::SocketAddress peer_;
  http::RequestParser parser_;
  engine::PeerCounts::Ticket ticket_;
  engine::Deadlines deadlines_;
  engine::Connection* connection_;
  bool busy_ = false;               // the handler has the current request
  bool next_queued_ = false;        // a deferred next() is on its way
  bool waiting_for_drain_ = false;  // next() waits for the output to go under its cap
  bool session_over_ = false;       // session_max passed: close after this response
  bool keep_alive_ = true;
  int version_minor_ = 1;
  bool head_request_ = false;
};

HttpListener::HttpListener(engine::Shard& shard, HttpOptions options, HttpHandler handler)
    : shard_(shard), options_(std::move(options)), handler_(std::move(handler)) {
  shard_.on_stop([this] { on_stop(); });
}

HttpListener::~HttpListener() = default;

void HttpListener::listen(int listen_fd) {
  shard_.listen(listen_fd,
                [this](int fd, const engine::SocketAddress& peer) { on_accept(fd, peer); });
}

void HttpListener::on_accept(int fd, const engine::SocketAddress& peer) {
  engine::Admission admission = engine::admit(options_.peer_limits, options_.peer_counts, peer,
                                              connections_.size(), stopping_, &first_requests_);
  if (!admission.admitted()) {
    const bool peer_full = admission.verdict == engine::Admission::Verdict::peer_full;
    http::Response busy{
        .status = 503,
        .content_type = "text/plain",
        .body = peer_full ? "too many connections from your address\n" : "too many connections\n"};
    busy.close = true;
    engine::refuse(fd, http::serialize(busy));
    return;
  }
  const std::uint64_t id = next_id_++;
  connections_.emplace(
      id, std::make_unique<Connection>(*this, id, fd, peer, std::move(admission.ticket)));
}

HttpListener::Connection* HttpListener::find(std::uint64_t id) {
  const auto found = connections_.find(id);
  return found == connections_.end() ? nullptr : found->second.get();
}

void HttpListener::on_closed(std::uint64_t id) {
  shard_.defer([this, id] { connections_.erase(id); });
}

void HttpListener::on_stop() {
  stopping_ = true;
  for (auto& [id, connection] : connections_) connection->on_stop();
}

}  // namespace mta::server
