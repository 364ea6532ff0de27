// LineListener and LineConnection: the life cycle a line protocol's server (SMTP, IMAP, POP3)
// needs, written once. A listener accepts connections (up to peer_limits; more get the protocol's
// refusal), and each connection speaks through a tls::Stream: plaintext with STARTTLS/STLS, or
// TLS from the first byte (993/995). A connection writes its session's output while the socket
// keeps up and stops reading while output is backed up or its session waits, so a client that
// pipelines without reading costs a bounded buffer. The protocol plugs in by subclassing both.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/limits.h"
#include "engine/shard.h"
#include "server/probe.h"
#include "tls/context.h"
#include "tls/stream.h"

namespace mta::server {

struct LineOptions {
  Clock::Duration idle_timeout = std::chrono::minutes(10);
  // connections_max (per listener) and connections_per_ip: over either, the refusal and close;
  // so too past command_timeout (the first command from the greeting, each later line from its
  // first byte) or session_max. output_buffer_max: unsent bytes before reading pauses;
  // write_timeout: dropped when the client takes none of them for that long.
  engine::ListenerLimits peer_limits{.connections_max = 1000, .connections_per_ip = 20};
  engine::PeerCounts* peer_counts = nullptr;  // null = no per-address cap
  tls::ServerContext* tls = nullptr;          // STARTTLS/STLS and implicit TLS; nullptr = none
  Clock::Duration tls_handshake_timeout = std::chrono::seconds(30);
};

class LineListener;

// One connection; owned by its listener from accept until on_closed (then freed at the end of
// that loop turn). Subclasses hold the protocol session and implement the hooks.
class LineConnection : public tls::StreamHandler {
 public:
  LineConnection(LineListener& listener, std::uint64_t id);
  ~LineConnection() override = default;

  // Adopts the socket and sends the greeting (after the handshake, for implicit TLS). Keeps
  // `ticket` (its place in the per-address count) until the connection closes.
  void start(int fd, bool implicit_tls, const engine::SocketAddress& peer,
             engine::PeerCounts::Ticket&& ticket);
  // The shard stops. By default the connection closes (IMAP and POP3 have no transaction to
  // finish); SMTP finishes a transaction in flight first.
  virtual void stop() { close(); }

 protected:
  virtual void feed(std::string_view bytes) = 0;
  // Drains the session's events and writes its output (call flush()).
  virtual void drive() = 0;
  // The handshake is done (the counters are counted): the session's tls_started(), unless it
  // began as TLS.
  virtual void tls_started() = 0;
  virtual bool input_blocked() const = 0;
  virtual std::string_view pending_output() const = 0;
  virtual void output_taken(std::size_t bytes) = 0;

  // Writes output while the socket keeps up, then adjusts reading.
  void flush();
  // STARTTLS / STLS: the caller has flushed the OK; from here the stream is TLS.
  void begin_tls();
  void close() {
    if (open_) stream_.close();
  }
  const engine::SocketAddress& peer() const { return peer_; }
  const std::string& peer_ip() const { return peer_ip_; }

  const std::uint64_t id_;
  tls::Stream stream_;
  bool open_ = true;

 private:
  void on_data(Buffer& input) final;
  void on_drained() final;
  void on_tls_ready(const Result<void>& result) final;
  void on_closed(int error) final;
  void update_reading();
  void on_expired(engine::Deadlines::Kind kind);

  LineListener& listener_;
  const std::chrono::steady_clock::time_point opened_;
  bool reading_paused_ = false;
  engine::PeerCounts::Ticket ticket_;
  engine::Deadlines deadlines_;
  engine::SocketAddress peer_;
  std::string peer_ip_;  // the client's address without the port, for the subclass and the log
};

// One per protocol and shard, used only there.
class LineListener {
 public:
  // `name`: the protocol in log lines ("imap", "pop3"). `refusal`: how the protocol starts a
  // goodbye ("* BYE ", "-ERR [SYS/TEMP] "), followed by the reason (too many connections, a
  // timeout) and CRLF. `probe` (the protocol's, which extends ListenerProbe) must outlive the
  // listener; it is only stored here, so a subclass may pass its own member.
  LineListener(engine::Shard& shard, LineOptions options, std::string name, std::string refusal,
               ListenerProbe& probe);
  LineListener(const LineListener&) = delete;
  LineListener& operator=(const LineListener&) = delete;
  virtual ~LineListener();

  // Starts accepting on `listen_fd` (this listener owns it; a SO_REUSEPORT socket of this
  // shard). implicit_tls needs options.tls.
  void listen(int listen_fd, bool implicit_tls = false);
  std::size_t sessions_open() const { return connections_.size(); }
  const std::string& name() const { return name_; }

 protected:
  // `implicit_tls`: the session starts as TLS (its greeting waits for the handshake).
  virtual std::unique_ptr<LineConnection> open_connection(std::uint64_t id, bool implicit_tls) = 0;
  void for_each_connection(const std::function<void(LineConnection&)>& visit);
  LineConnection* find(std::uint64_t id);
  // What a client is told before the close: over a connection cap (refused at accept), and
  // past a deadline. By default the refusal prefix and the reason.
  virtual std::string refusal_line(engine::Admission::Verdict verdict) const;
  virtual std::string goodbye_line(engine::Deadlines::Kind kind) const;

  engine::Shard& shard_;

 private:
  friend class LineConnection;
  void on_accept(int fd, bool implicit_tls, const engine::SocketAddress& peer);
  void on_closed(std::uint64_t id);

  const LineOptions line_options_;
  const std::string name_;     // "imap", "pop3": for logs
  const std::string refusal_;  // "* BYE " or "-ERR [SYS/TEMP] "
  ListenerProbe& probe_;
  engine::FirstCommandQueue first_commands_;  // before connections_: outlives their Deadlines
  std::unordered_map<std::uint64_t, std::unique_ptr<LineConnection>> connections_;
  std::uint64_t next_id_ = 1;
};

}  // namespace mta::server
