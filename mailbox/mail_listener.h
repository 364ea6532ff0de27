// MailListener and MailConnection: what the IMAP and POP3 listeners of the mailbox shard share
// beyond server/'s line-protocol life cycle (accept, limits, deadlines, TLS, back-pressure):
// logins. They are checked on the shard's worker behind the node's throttle; a failed one is
// answered after Logins::failure_delay, and reading waits meanwhile.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/limits.h"
#include "engine/shard.h"
#include "mailbox/logins.h"
#include "server/line_listener.h"
#include "server/probe.h"
#include "tls/context.h"

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

// The connection and TLS counters are server/'s.
struct MailListenerProbe : server::ListenerProbe {
  std::uint64_t logins = 0;
  std::uint64_t login_failures = 0;
  std::uint64_t login_refused = 0;  // the address was locked out: nothing checked
};

class MailListener;

// One connection; a subclass holds the protocol session and implements the hooks.
class MailConnection : public server::LineConnection {
 public:
  MailConnection(MailListener& owner, std::uint64_t id);
  ~MailConnection() override = default;

  // The mail store changed (IMAP: untagged updates to idling sessions).
  virtual void on_store_changed() {}
  void login_checked(bool ok);

 protected:
  virtual void answer_login(bool ok) = 0;  // the session's complete_auth()
  // The client's address is locked out: the session's temporary refusal (IMAP "NO
  // [UNAVAILABLE]", POP3 "-ERR [SYS/TEMP]").
  virtual void refuse_login() = 0;

  // Checks a password on the worker; answer_login() follows, after the delay when wrong, or
  // refuse_login() (after the base delay, unchecked) when the client's address is locked out. A
  // control character in either fails it without a check.
  void check_login(const std::string& user, const std::string& password);
  // A login decided here (APOP, a refused authzid), with the same throttle and log.
  void report_login(const std::string& user, bool ok);

  MailListener& owner_;

 private:
  // Starts an attempt in the throttle: false (and refuse_login()) when locked out.
  bool begin_login(std::optional<AuthThrottle::Attempt>& attempt);
  // The verdict on a login: logged and delayed when wrong.
  void finish_login(std::optional<AuthThrottle::Attempt> attempt, const std::string& user, bool ok);
};

// One per protocol, on the mailbox shard, used only there.
class MailListener : public server::LineListener {
 public:
  // `refusal`: how the protocol starts a goodbye ("* BYE ", "-ERR [SYS/TEMP] "), followed by
  // the reason (too many connections, a timeout) and CRLF.
  MailListener(engine::Shard& shard, const Logins& logins, MailListenerOptions options,
               std::string name, std::string refusal);
  ~MailListener() override;

  const MailListenerProbe& probe() const { return probe_; }

 protected:
  // `implicit_tls`: the session starts as TLS (its greeting waits for the handshake).
  virtual std::unique_ptr<MailConnection> make_connection(std::uint64_t id, bool implicit_tls) = 0;
  void for_each_connection(const std::function<void(MailConnection&)>& visit);

  const Logins& logins_;
  MailListenerOptions options_;

 private:
  friend class MailConnection;
  std::unique_ptr<server::LineConnection> open_connection(std::uint64_t id,
                                                          bool implicit_tls) final;
  MailConnection* find_mail(std::uint64_t id);

  MailListenerProbe probe_;  // counted into by server::LineListener, which only stores it
};

}  // namespace mta::mailbox
