// The bounce intake's SMTP listener ([bounce] listen, on the mailbox shard): server/'s SMTP
// listener with the intake's policy plugged in. It takes mail for the bounce domain only, from
// anyone, without AUTH, within each client's IntakeLimiter budget, and answers each message
// with what storing it in the mailbox gave.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/shard.h"
#include "mailbox/intake.h"
#include "mailbox/intake_limit.h"
#include "server/probe.h"
#include "server/smtp_listener.h"

namespace mta::mailbox {

// The SMTP answer for what storing a message in the mailbox gave: stored is durable (250).
server::MessageOutcome outcome_of(StoreResult&& stored);

struct BounceListenerOptions {
  // Connection limits, deadlines and TLS; the SASL mechanisms are dropped (no logins here).
  server::SmtpOptions listener;
  std::string bounce_domain;  // RCPT takes this domain only; any other gets 550 5.7.1
};

// Counters of the intake's SMTP side; the limiter counts its own refusals.
struct BounceListenerProbe : server::ListenerProbe {
  std::uint64_t relay_denied = 0;                // RCPT refused 550 5.7.1: not the bounce domain
  std::uint64_t bare_line_endings_repaired = 0;  // lone LF or CR made CRLF
};

// The reply refusing `recipient` when it is not in `domain` (case-insensitive), else nullopt.
std::optional<std::string> refuse_other_domain(std::string_view recipient, std::string_view domain);

// One, on the mailbox shard, used only there.
class BounceListener final : public server::SmtpHandler {
 public:
  // Stores one received message in the mailbox (the intake) and says how it went, at once.
  using StoreFn = std::function<server::MessageOutcome(std::string_view mail_from,
                                                       const std::vector<std::string>& recipients,
                                                       std::string_view body)>;

  // `limits` must outlive the listener.
  BounceListener(engine::Shard& shard, IntakeLimiter& limits, BounceListenerOptions options,
                 StoreFn store);
  // Stores into `intake` (which must outlive the listener), on this shard's wall clock.
  BounceListener(engine::Shard& shard, IntakeLimiter& limits, BounceListenerOptions options,
                 BounceIntake& intake);
  BounceListener(const BounceListener&) = delete;
  BounceListener& operator=(const BounceListener&) = delete;
  ~BounceListener() override;

  // Starts accepting on `listen_fd` (this listener owns it). implicit_tls needs listener.tls.
  void listen(int listen_fd, bool implicit_tls = false) {
    listener_.listen(listen_fd, implicit_tls);
  }
  const BounceListenerProbe& probe() const { return probe_; }
  std::size_t sessions_open() const { return listener_.sessions_open(); }

  // server::SmtpHandler: the client's budget at MAIL, the bounce domain at RCPT, the store.
  std::optional<std::string> check_sender(const server::SmtpClient& client) override;
  std::optional<std::string> check_recipient(const server::SmtpClient& client,
                                             std::string_view recipient) override;
  void on_auth(const server::SmtpClient& client, smtp::AuthRequested&& auth,
               AuthDone done) override;
  void on_message(const server::SmtpClient& client, smtp::MessageReceived&& message,
                  MessageDone done) override;

 private:
  engine::Shard& shard_;
  IntakeLimiter& limits_;
  const std::string bounce_domain_;
  StoreFn store_;
  BounceListenerProbe probe_;  // before listener_, which counts into it
  server::SmtpListener listener_;
};

}  // namespace mta::mailbox
