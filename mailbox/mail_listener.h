// MailListener and MailConnection: what the IMAP and POP3 listeners of the mailbox shard share.
// A listener accepts connections (up to peer_limits; more get the protocol's refusal), and
// each connection speaks through a tls::Stream: plaintext with STARTTLS/STLS, or TLS from the
// first byte (993/995). A connection writes its session's output while the socket keeps up
// and stops reading while output is backed up or its session waits (a login being checked),
// so a client that pipelines without reading costs a bounded buffer. Logins are checked on the
// shard's worker; a failed one is answered after Logins::failure_delay.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/limits.h"
#include "engine/shard.h"
#include "mailbox/logins.h"
#include "tls/context.h"
#include "tls/stream.h"

namespace mta::mailbox {

struct MailListenerOptions {
  std::string hostname = "outpost.localhost";
  Clock::Duration idle_timeout = std::chrono::minutes(10);
  // connections_max (per listener) and connections_per_ip: over either, the refusal ("* BYE",
  // "-ERR") and close; so too past command_timeout (the first command from the greeting, each
  // later line from its first byte) or session_max. output_buffer_max: unsent bytes before
  // reading pauses; write_timeout: dropped when the client takes none of them for that long.
  engine::ListenerLimits peer_limits{.connections_max = 1000, .connections_per_ip = 20};
  engine::PeerCounts* peer_counts = nullptr;  // null = no per-address cap
  tls::ServerContext* tls = nullptr;          // STARTTLS/STLS and implicit TLS; nullptr = none
  Clock::Duration tls_handshake_timeout = std::chrono::seconds(30);
  bool login_without_tls = false;  // passwords over plaintext (else only after STARTTLS)
};

struct MailListenerProbe {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_refused = 0;
  std::uint64_t logins = 0;
  std::uint64_t login_failures = 0;
  std::uint64_t login_refused = 0;  // the address was locked out: nothing checked
  std::uint64_t tls_sessions = 0;
  std::uint64_t tls_failures = 0;
};

class MailListener;

// One connection; owned by its listener from accept until on_closed (then freed at the end of
// that loop turn). Subclasses hold the protocol session and implement the hooks.
class MailConnection : public tls::StreamHandler {
 public:
  MailConnection(MailListener& owner, std::uint64_t id);
  ~MailConnection() override = default;

  // Adopts the socket and sends the greeting (after the handshake, for implicit TLS). Keeps
  // `ticket` (its place in the per-address count) until the connection closes.
  // `peer_ip`: the client's address, for the login throttle and the log.
  void start(int fd, bool implicit_tls, std::string peer_ip, engine::PeerCounts::Ticket&& ticket);
  void stop();
  // The mail store changed (IMAP: untagged updates to idling sessions).
  virtual void on_store_changed() {}
  void login_checked(bool ok);

 protected:
  virtual void feed(std::string_view bytes) = 0;
  // Drains the session's events and writes its output (call flush()).
  virtual void drive() = 0;
  virtual void tls_started() = 0;  // the session's tls_started(), unless it began as TLS
  virtual bool input_blocked() const = 0;
  virtual std::string_view pending_output() const = 0;
  virtual void output_taken(std::size_t bytes) = 0;
  virtual void answer_login(bool ok) = 0;  // the session's complete_auth()
  // The client's address is locked out: the session's temporary refusal (IMAP "NO
  // [UNAVAILABLE]", POP3 "-ERR [SYS/TEMP]").
  virtual void refuse_login() = 0;

  // Writes output while the socket keeps up, then adjusts reading.
  void flush();
  // STARTTLS / STLS: the caller has flushed the OK; from here the stream is TLS.
  void begin_tls();
  // Checks a password on the worker; answer_login() follows, after the delay when wrong, or
  // refuse_login() (after the base delay, unchecked) when the client's address is locked out. A
  // control character in either fails it without a check.
  void check_login(const std::string& user, const std::string& password);
  // A login decided here (APOP, a refused authzid), with the same throttle and log.
  void report_login(const std::string& user, bool ok);
  void close() {
    if (open_) stream_.close();
  }

  MailListener& owner_;
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

  // Starts an attempt in the throttle: false (and refuse_login()) when locked out.
  bool begin_login(std::optional<AuthThrottle::Attempt>& attempt);
  // The verdict on a login: logged and delayed when wrong.
  void finish_login(std::optional<AuthThrottle::Attempt> attempt, const std::string& user, bool ok);

  bool reading_paused_ = false;
  engine::PeerCounts::Ticket ticket_;
  engine::Deadlines deadlines_;
  std::string peer_ip_;  // the client's address, for the throttle and the log
};

// One per protocol, on the mailbox shard, used only there.
class MailListener {
 public:
  // `refusal`: how the protocol starts a goodbye ("* BYE ", "-ERR [SYS/TEMP] "), followed by
  // the reason (too many connections, a timeout) and CRLF.
  MailListener(engine::Shard& shard, const Logins& logins, MailListenerOptions options,
               std::string name, std::string refusal);
  MailListener(const MailListener&) = delete;
  MailListener& operator=(const MailListener&) = delete;
  virtual ~MailListener();

  // Starts accepting on `listen_fd` (this listener owns it). implicit_tls needs options.tls.
  void listen(int listen_fd, bool implicit_tls = false);
  const MailListenerProbe& probe() const { return probe_; }
  std::size_t sessions_open() const { return connections_.size(); }

 protected:
  // `implicit_tls`: the session starts as TLS (its greeting waits for the handshake).
  virtual std::unique_ptr<MailConnection> make_connection(std::uint64_t id, bool implicit_tls) = 0;
  void for_each_connection(const std::function<void(MailConnection&)>& visit);

  engine::Shard& shard_;
  const Logins& logins_;
  MailListenerOptions options_;

 private:
  friend class MailConnection;
  void on_accept(int fd, bool implicit_tls, const engine::SocketAddress& peer);
  void on_closed(std::uint64_t id);
  MailConnection* find(std::uint64_t id);

  const std::string name_;                    // "imap", "pop3": for logs
  const std::string refusal_;                 // "* BYE " or "-ERR [SYS/TEMP] "
  engine::FirstCommandQueue first_commands_;  // before connections_: outlives their Deadlines
  std::unordered_map<std::uint64_t, std::unique_ptr<MailConnection>> connections_;
  std::uint64_t next_id_ = 1;
  MailListenerProbe probe_;
};

}  // namespace mta::mailbox
