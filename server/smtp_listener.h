// The SMTP listener skeleton of one shard: server::LineListener (accept, per-shard and
// per-address caps, deadlines, STARTTLS or implicit TLS, the output cap) driving one
// smtp::ServerSession per connection, and draining on stop.
// What a server takes, from whom and what becomes of a message is its SmtpHandler's business:
// submission (injection/) and the bounce intake (mailbox/) plug in here.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/strong_id.h"
#include "engine/limits.h"
#include "engine/shard.h"
#include "proto/smtp/server_session.h"
#include "server/line_listener.h"
#include "server/probe.h"
#include "tls/context.h"

namespace mta::server {

struct SmtpOptions {
  // The session's options as the handler wants them; starttls is dropped without `tls`.
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
  std::string name = "submission";  // the listener's name in log lines
};

// How a received message went; smtp_reply() says what the client is told.
struct MessageOutcome {
  enum class Status {
    queued,   // durable: 250
    refused,  // permanent: 554 5.6.0 with the detail
    failed,   // temporary, nothing stored: 451 4.3.0 with the detail
    no_space  // temporary, the disk is full: 452 4.3.1
  };
  Status status = Status::queued;
  std::optional<MessageId> queued_as;  // queued: "queued as <id>"; none: the detail, if any
  std::string detail;
};

// The reply line (without CRLF) for a message's outcome.
std::string smtp_reply(const MessageOutcome& outcome);

// The verdict on an AUTH: the user it logged in as, nullopt for wrong credentials (535), or
// locked_out (454 4.7.0: the client's address is over its budget, nothing was checked).
struct AuthVerdict {
  std::optional<std::string> user;
  bool locked_out = false;
};

// One client as its handler sees it during a call (references into the live session).
struct SmtpClient {
  const engine::SocketAddress& peer;
  const std::string& ip;  // the address without the port
  const smtp::ServerSession& session;
  const std::string& tls_details;  // "TLSv1.3 <cipher>" once a handshake is done, else empty
};

// The protocol's half, called on the listener's shard. The Done callbacks may run later (on
// the same shard); one for a client that has gone is harmless.
class SmtpHandler {
 public:
  using MessageDone = std::function<void(const MessageOutcome& outcome)>;
  using AuthDone = std::function<void(AuthVerdict verdict)>;

  virtual ~SmtpHandler() = default;
  // At MAIL and at each RCPT: a reply line refuses (the session's check_sender and
  // check_recipient hooks).
  virtual std::optional<std::string> check_sender(const SmtpClient& client) = 0;
  virtual std::optional<std::string> check_recipient(const SmtpClient& client,
                                                     std::string_view recipient) = 0;
  // AUTH gathered its responses (only when smtp.auth_mechanisms offers any). Reading pauses
  // until `done`.
  virtual void on_auth(const SmtpClient& client, smtp::AuthRequested&& auth, AuthDone done) = 0;
  // A message was received. Reading pauses until `done`.
  virtual void on_message(const SmtpClient& client, smtp::MessageReceived&& message,
                          MessageDone done) = 0;
};

// One per shard, created and used only on that shard's thread: server::LineListener's life
// cycle with an smtp::ServerSession per connection. Each session holds the shard's drain gate
// while its connection is open, so a stop waits for messages in flight. On stop, idle sessions
// are told 421 and closed; sessions in the middle of a transaction finish it first. `handler`
// and `probe` must outlive the listener.
class SmtpListener final : public LineListener {
 public:
  SmtpListener(engine::Shard& shard, SmtpOptions options, SmtpHandler& handler,
               ListenerProbe& probe);
  ~SmtpListener() override;

 private:
  class Session;
  friend class Session;

  std::unique_ptr<LineConnection> open_connection(std::uint64_t id, bool implicit_tls) override;
  std::string refusal_line(engine::Admission::Verdict verdict) const override;
  std::string goodbye_line(engine::Deadlines::Kind kind) const override;
  Session* find_session(std::uint64_t session_id);
  // The handler's callbacks: they find the session again by id, which may have gone.
  SmtpHandler::AuthDone auth_done(std::uint64_t session_id);
  SmtpHandler::MessageDone message_done(std::uint64_t session_id);

  const SmtpOptions options_;
  SmtpHandler& handler_;
};

}  // namespace mta::server
