// LineListener and LineConnection. A connection holds the shard's drain gate while open; on
// stop every connection is closed.
#include "server/line_listener.h"

#include <utility>

#include "base/assert.h"
#include "base/log.h"

namespace mta::server {

LineConnection::LineConnection(LineListener& listener, std::uint64_t id)
    : id_(id),
      stream_(*this),
      listener_(listener),
      opened_(std::chrono::steady_clock::now()),
      deadlines_(
          listener.shard_, listener.line_options_.peer_limits,
          [this](engine::Deadlines::Kind kind) { on_expired(kind); }, &listener.first_commands_) {}

void LineConnection::start(int fd, bool implicit_tls, const engine::SocketAddress& peer,
                           engine::PeerCounts::Ticket&& ticket) {
  const LineOptions& options = listener_.line_options_;
  listener_.shard_.hold();
  peer_ = peer;
  peer_ip_ = peer.host();
  ticket_ = std::move(ticket);
  stream_.adopt(listener_.shard_, fd);
  if (implicit_tls) {
    // The greeting written below waits in the stream until the handshake is done.
    if (auto started = stream_.start_tls_server(*options.tls, options.tls_handshake_timeout);
        !started) {
      log::warning(listener_.name_ + ": TLS: " + started.error().message());
      stream_.abort();
      return;
    }
  }
  stream_.set_idle_timeout(options.idle_timeout);
  stream_.set_write_timeout(options.peer_limits.write_timeout);
  drive();
}

// A line took longer than command_timeout from its first byte (or the first command from the
// greeting), or the session outlived session_max, or the listener was full and this connection
// had not sent its first command yet: the client is told and dropped.
void LineConnection::on_expired(engine::Deadlines::Kind kind) {
  if (!open_) return;
  if (kind == engine::Deadlines::Kind::evicted) {
    // Made room for a newer connection: reset at once. A goodbye and the linger of a graceful
    // close would keep the slot taken for seconds, while the listener is full.
    stream_.abort();
    return;
  }
  stream_.write(listener_.goodbye_line(kind));
  close();
}

void LineConnection::flush() {
  const std::size_t output_max = listener_.line_options_.peer_limits.output_buffer_max;
  while (open_) {
    const std::string_view out = pending_output();
    if (out.empty() || stream_.output_pending() > output_max) break;
    stream_.write(out);
    output_taken(out.size());
  }
  update_reading();
}

void LineConnection::update_reading() {
  if (!open_) return;
  // A TLS handshake in progress must read, whatever the session waits for (it waits for TLS).
  const bool handshaking = stream_.tls_started() && !stream_.tls_ready();
  const bool pause = !handshaking &&
                     (input_blocked() || stream_.output_pending() >
                                             listener_.line_options_.peer_limits.output_buffer_max);
  if (pause && !reading_paused_) {
    reading_paused_ = true;
    stream_.pause_reading();
  } else if (!pause && reading_paused_) {
    reading_paused_ = false;
    stream_.resume_reading();
  }
}

void LineConnection::begin_tls() {
  if (!open_) return;
  const LineOptions& options = listener_.line_options_;
  if (auto started = stream_.start_tls_server(*options.tls, options.tls_handshake_timeout);
      !started) {
    log::warning(listener_.name_ + ": TLS: " + started.error().message());
    stream_.close();
    return;
  }
  update_reading();
}

void LineConnection::on_data(Buffer& input) {
  deadlines_.on_lines(input.readable());
  feed(input.readable());
  input.consume(input.size());
  drive();
}

void LineConnection::on_drained() {
  if (!open_) return;
  drive();  // the rest of a long FETCH or RETR, and what waited behind it
}

void LineConnection::on_tls_ready(const Result<void>& result) {
  if (!result) {
    ++listener_.probe_.tls_failures;
    log::debug(listener_.name_ + ": TLS handshake with " + stream_.peer().to_string() +
               " failed: " + result.error().message());
    return;  // the stream closes; on_closed follows
  }
  ++listener_.probe_.tls_sessions;
  if (const tls::Info* info = stream_.tls_info(); info != nullptr && info->resumed) {
    ++listener_.probe_.tls_resumed;
  }
  deadlines_.command_started();  // the session starts over: its first command is timed again
  tls_started();
  drive();
}

void LineConnection::on_closed(int /*error*/) {
  open_ = false;
  deadlines_.cancel();
  ticket_ = {};  // the address's place is free now, not when this object goes
  if (listener_.probe_.session_seconds != nullptr) {
    listener_.probe_.session_seconds->observe(std::chrono::steady_clock::now() - opened_);
  }
  listener_.shard_.release();
  listener_.on_closed(id_);
}

LineListener::LineListener(engine::Shard& shard, LineOptions options, std::string name,
                           std::string refusal, ListenerProbe& probe)
    : shard_(shard),
      line_options_(options),
      name_(std::move(name)),
      refusal_(std::move(refusal)),
      probe_(probe) {
  shard_.on_stop([this] {
    for (auto& [id, connection] : connections_) connection->stop();
  });
}

// Connections still listed lost their sockets when the shard stopped.
LineListener::~LineListener() = default;

void LineListener::listen(int listen_fd, bool implicit_tls) {
  MTA_ASSERT(!implicit_tls || line_options_.tls != nullptr);
  shard_.listen(listen_fd, [this, implicit_tls](int fd, const engine::SocketAddress& peer) {
    on_accept(fd, implicit_tls, peer);
  });
}

void LineListener::on_accept(int fd, bool implicit_tls, const engine::SocketAddress& peer) {
  engine::Admission admission =
      engine::admit(line_options_.peer_limits, line_options_.peer_counts, peer, connections_.size(),
                    shard_.stopping(), &first_commands_);
  if (!admission.admitted()) {
    ++probe_.connections_refused;
    engine::refuse(fd, refusal_line(admission.verdict));
    return;
  }
  ++probe_.connections_accepted;
  const std::uint64_t id = next_id_++;
  auto [it, inserted] = connections_.emplace(id, open_connection(id, implicit_tls));
  MTA_ASSERT(inserted);
  it->second->start(fd, implicit_tls, peer, std::move(admission.ticket));
}

std::string LineListener::refusal_line(engine::Admission::Verdict verdict) const {
  return refusal_ + (verdict == engine::Admission::Verdict::peer_full
                         ? "Too many connections from your address, try later\r\n"
                         : "Too many connections, try later\r\n");
}

std::string LineListener::goodbye_line(engine::Deadlines::Kind kind) const {
  return refusal_ + (kind == engine::Deadlines::Kind::session
                         ? "Session too long, closing\r\n"
                         : "Command timeout exceeded, closing\r\n");
}

void LineListener::on_closed(std::uint64_t id) {
  // The connection is still calling us; free it after this turn.
  shard_.defer([this, id] { connections_.erase(id); });
}

LineConnection* LineListener::find(std::uint64_t id) {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second.get();
}

void LineListener::for_each_connection(const std::function<void(LineConnection&)>& visit) {
  for (auto& [id, connection] : connections_) visit(*connection);
}

}  // namespace mta::server
