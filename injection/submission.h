// The SMTP submission listener of one shard: accepts connections, drives a
// smtp::ServerSession per connection on the engine, and hands each received message to the
// shard's Injector (trace, signature, parts, group commit); it answers 250 only once the
// message is durable. Who may relay and how fast each client may send are decided here.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/auth_throttle.h"
#include "dkim/keyring.h"
#include "engine/connection.h"
#include "engine/limits.h"
#include "engine/shard.h"
#include "injection/access.h"
#include "injection/injector.h"
#include "injection/probe.h"
#include "injection/rate_limit.h"
#include "proto/smtp/server_session.h"
#include "queue/message_id.h"
#include "queue/store.h"
#include "tls/context.h"

namespace mta::injection {

struct SubmissionOptions {
  smtp::ServerOptions smtp;
  Clock::Duration idle_timeout = std::chrono::minutes(5);
  // connections_max (per shard) and connections_per_ip: over either, 421 and close.
  // command_timeout: the first command line from the greeting, each later line (DATA lines
  // too) from its first byte; session_max from accept: past either, 421 4.4.2 and close.
  // output_buffer_max: unsent replies before reading pauses; write_timeout: dropped when the
  // client takes none of them for that long.
  engine::ListenerLimits peer_limits{.connections_max = 10'000};
  engine::PeerCounts* peer_counts = nullptr;  // node-wide, shared by the shards; null = none
  // The server certificate (the shard's own context): STARTTLS is offered when it is set and
  // smtp.starttls is on; implicit-TLS listeners need it. nullptr = no TLS.
  tls::ServerContext* tls = nullptr;
  Clock::Duration tls_handshake_timeout = std::chrono::seconds(30);
  // Relaying: a client from `trusted` may relay as it is; any other must AUTH first (with
  // `users`, smtp.auth_mechanisms offered), else RCPT gets 554 5.7.1. nullptr = none.
  const NetworkList* trusted = nullptr;
  const Users* users = nullptr;
  // Failed logins of the whole node (shared with IMAP and POP3): an address over its budget
  // gets 454 4.7.0 without a password check (after auth_failure_delay); each 535 is logged (at
  // notice, for fail2ban) and waits auth_failure_delay, doubled per recent failure of the same
  // account (up to the throttle's failure_delay_max). nullptr = no throttle: every 535 waits
  // auth_failure_delay.
  AuthThrottle* auth_throttle = nullptr;
  Clock::Duration auth_failure_delay = std::chrono::seconds(1);
  // Messages per client address and per authenticated user, this shard's share (Rate::
  // per_shard); over it, MAIL gets 451 4.7.1. Unlimited by default.
  Rate rate_per_ip;
  Rate rate_per_user;
  // Set: the listener takes mail for this domain only (any other recipient gets 550 5.7.1),
  // from anyone, without AUTH: the bounce intake on [bounce] listen.
  std::string accept_domain;
  // Asked at MAIL (after rate_per_ip) with the client's address: a reply line refuses the
  // transaction before any data is read (the bounce intake's per-client limits). Empty = none.
  std::function<std::optional<std::string>(std::string_view client_ip)> check_client;
};

// One per shard, created and used only on that shard's thread. Owns its sessions; each
// session holds the shard's drain gate while its connection is open, so a stop waits for
// messages in flight. On stop, idle sessions are told 421 and closed; sessions in the middle
// of a transaction finish it first.
class SubmissionListener {
 public:
  // Where a received message goes: the Injector, or (the bounce intake) anything that answers
  // the same way. `done` may run later, on this shard; queued with no ids answers plain 250.
  using SubmitFn =
      std::function<void(Inbound&& message, TraceFacts* trace, Probe& probe, Injector::Done done)>;

  SubmissionListener(engine::Shard& shard, Injector& injector, SubmissionOptions options);
  SubmissionListener(engine::Shard& shard, SubmitFn submit, SubmissionOptions options);
  SubmissionListener(const SubmissionListener&) = delete;
  SubmissionListener& operator=(const SubmissionListener&) = delete;
  ~SubmissionListener();

  // Starts accepting on `listen_fd` (a SO_REUSEPORT socket of this shard); takes ownership.
  // `implicit_tls`: the connection is TLS from its first byte (port 465 style).
  void listen(int listen_fd, bool implicit_tls = false);

  const Probe& probe() const { return probe_; }
  Probe& probe() { return probe_; }  // app/ sets its histogram handles
  std::size_t sessions_open() const { return sessions_.size(); }

 private:
  class Session;
  friend class Session;

  void on_accept(int fd, bool implicit_tls, const engine::SocketAddress& peer);
  // A session's AUTH from `ip`: refused at once when the address is locked out, else checked
  // on the shard's worker (password hashing is slow on purpose), then answered by
  // on_auth_checked().
  void check_auth(std::uint64_t session_id, const std::string& ip, smtp::AuthRequested&& auth);
  void on_auth_checked(std::uint64_t session_id, const std::string& ip,
                       std::optional<AuthThrottle::Attempt> attempt, std::string&& user, bool ok);
  void on_session_closed(std::uint64_t session_id);
  void on_stop();
  // Hands one received message to the injector; the session `session_id` gets its reply when
  // the message is durable (or was refused, or its write failed).
  void enqueue(std::uint64_t session_id, smtp::MessageReceived&& message);
  // The 451 for a client over its rate, or nullopt; takes a token when there is one.
  std::optional<std::string> check_rate(std::string_view ip, std::string_view user);

  engine::Shard& shard_;
  SubmitFn submit_;
  SubmissionOptions options_;
  RateLimiter per_ip_;
  RateLimiter per_user_;
  engine::FirstCommandQueue first_commands_;  // before sessions_: outlives their Deadlines
  std::unordered_map<std::uint64_t, std::unique_ptr<Session>> sessions_;
  std::uint64_t next_session_id_ = 1;
  Probe probe_;
};

}  // namespace mta::injection
