// HttpListener and its per-connection state machine: feed bytes to the parser; on a complete
// request pause reading and call the handler; on its response write it, then either close
// (Connection: close, an HTTP/1.0 client, a stop) or go on with the next pipelined request.
#include "injection/http_listener.h"

#include <unistd.h>

#include <string>
#include <utility>

#include "base/assert.h"
#include "engine/connection.h"

namespace mta::injection {

class HttpListener::Connection final : public engine::ConnectionHandler {
 public:
  Connection(HttpListener& owner, std::uint64_t id, int fd, const engine::SocketAddress& peer)
      : owner_(owner),
        id_(id),
        peer_(peer),
        parser_(owner.options_.limits),
        connection_(&engine::Connection::adopt(owner.shard_, fd, *this)) {
    owner_.shard_.hold();
    connection_->set_idle_timeout(owner_.options_.idle_timeout);
  }

  bool busy() const { return busy_; }

  void on_data(Buffer& input) override {
    const std::string_view bytes = input.readable();
    auto event = parser_.feed(bytes);
    input.consume(bytes.size());
    handle(event);
  }

  void on_closed(int /*error*/) override {
    connection_ = nullptr;
    owner_.shard_.release();
    owner_.on_closed(id_);
  }

  // The handler's answer to the current request.
  void respond(http::Response response) {
    if (!busy_ || connection_ == nullptr) return;
    busy_ = false;
    ++owner_.requests_served_;
    const bool keep_alive = keep_alive_ && !owner_.stopping_;
    response.close = !keep_alive;
    response.request_version_minor = version_minor_;
    response.head_request = head_request_;
    connection_->write(http::serialize(response));
    if (!keep_alive) {
      connection_->close();
      return;
    }
    // The next pipelined request, if one is buffered, in a later turn: a handler that answers
    // at once must not recurse once per pipelined request.
    owner_.shard_.defer([&owner = owner_, id = id_] {
      if (Connection* self = owner.find(id)) self->next();
    });
  }

  void on_stop() {
    if (!busy_ && connection_ != nullptr) connection_->close();
  }

 private:
  void next() {
    if (connection_ == nullptr || busy_) return;
    handle(parser_.next());
    if (!busy_ && connection_ != nullptr) connection_->resume_reading();
  }

  void handle(const Result<http::ParseEvent>& event) {
    if (connection_ == nullptr) return;
    if (!event) {
      connection_->write(http::serialize(http::Response::for_error(event.error())));
      connection_->close();
      return;
    }
    switch (*event) {
      case http::ParseEvent::need_more:
        return;
      case http::ParseEvent::headers_complete:
        if (parser_.request().expects_continue()) connection_->write(http::continue_100());
        return;
      case http::ParseEvent::complete:
        break;
    }
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

  HttpListener& owner_;
  const std::uint64_t id_;
  const engine::SocketAddress peer_;
  http::RequestParser parser_;
  engine::Connection* connection_;
  bool busy_ = false;
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
  if (stopping_ || connections_.size() >= options_.connections_max) {
    http::Response busy{
        .status = 503, .content_type = "text/plain", .body = "too many connections\n"};
    busy.close = true;
    const std::string bytes = http::serialize(busy);
    (void)!::write(fd, bytes.data(), bytes.size());  // a fresh socket's buffer is empty
    ::close(fd);
    return;
  }
  const std::uint64_t id = next_id_++;
  connections_.emplace(id, std::make_unique<Connection>(*this, id, fd, peer));
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

}  // namespace mta::injection
