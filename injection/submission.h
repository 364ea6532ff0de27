// SMTP submission on one shard: the policy plugged into server/'s SMTP listener. Who may relay,
// AUTH (with the node's throttle) and how fast each client may send are decided here; each
// received message goes to the shard's Injector (trace, signature, parts, group commit), and
// the client hears 250 only once the message is durable.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/auth_throttle.h"
#include "engine/limits.h"
#include "engine/shard.h"
#include "injection/access.h"
#include "injection/injector.h"
#include "injection/probe.h"
#include "injection/rate_limit.h"
#include "proto/smtp/server_session.h"
#include "server/smtp_listener.h"
#include "tls/context.h"

namespace mta::injection {

struct SubmissionOptions {
  smtp::ServerOptions smtp;
  Clock::Duration idle_timeout = std::chrono::minutes(5);
  // The connection limits, deadlines and TLS of server::SmtpOptions (server/smtp_listener.h).
  engine::ListenerLimits peer_limits{.connections_max = 10'000};
  engine::PeerCounts* peer_counts = nullptr;  // node-wide, shared by the shards; null = none
  tls::ServerContext* tls = nullptr;          // STARTTLS and implicit TLS; nullptr = no TLS
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
};

// One per shard, created and used only on that shard's thread: submission's policy plugged
// into a server::SmtpListener, which owns the sessions and their life cycle.
class SubmissionListener final : public server::SmtpHandler {
 public:
  SubmissionListener(engine::Shard& shard, Injector& injector, SubmissionOptions options);
  SubmissionListener(const SubmissionListener&) = delete;
  SubmissionListener& operator=(const SubmissionListener&) = delete;
  ~SubmissionListener() override;

  // Starts accepting on `listen_fd` (a SO_REUSEPORT socket of this shard); takes ownership.
  // `implicit_tls`: the connection is TLS from its first byte (port 465 style).
  void listen(int listen_fd, bool implicit_tls = false) {
    listener_.listen(listen_fd, implicit_tls);
  }

  const Probe& probe() const { return probe_; }
  Probe& probe() { return probe_; }  // app/ sets its histogram handles
  std::size_t sessions_open() const { return listener_.sessions_open(); }

  // server::SmtpHandler: relay access and rates, AUTH, and the Injector.
  std::optional<std::string> check_sender(const server::SmtpClient& client) override;
  std::optional<std::string> check_recipient(const server::SmtpClient& client,
                                             std::string_view recipient) override;
  void on_auth(const server::SmtpClient& client, smtp::AuthRequested&& auth,
               AuthDone done) override;
  void on_message(const server::SmtpClient& client, smtp::MessageReceived&& message,
                  MessageDone done) override;

 private:
  // The password check's verdict: logged, and delayed when wrong.
  void on_auth_checked(const std::string& ip, std::optional<AuthThrottle::Attempt> attempt,
                       std::string&& user, bool ok, const AuthDone& done);
  // The 451 for a client over its rate, or nullopt; takes a token when there is one.
  std::optional<std::string> check_rate(std::string_view ip, std::string_view user);

  engine::Shard& shard_;
  Injector& injector_;
  SubmissionOptions options_;
  RateLimiter per_ip_;
  RateLimiter per_user_;
  Probe probe_;  // before listener_, which counts into it
  server::SmtpListener listener_;
};

}  // namespace mta::injection
