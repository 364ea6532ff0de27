// The SMTP submission listener of one shard: accepts connections, drives a
// smtp::ServerSession per connection on the engine, splits each received message into one
// queue part per destination and makes it durable through the shard's group commit before
// it answers 250. What happens to a message after that is the caller's business (the
// `on_queued` callback; app/ hands each part to the shard that owns its destination).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dkim/keyring.h"
#include "engine/connection.h"
#include "engine/shard.h"
#include "injection/access.h"
#include "injection/committer.h"
#include "injection/probe.h"
#include "proto/smtp/server_session.h"
#include "queue/message_id.h"
#include "queue/store.h"
#include "tls/context.h"

namespace mta::injection {

struct SubmissionOptions {
  smtp::ServerOptions smtp;
  Clock::Duration max_age = std::chrono::hours(72);  // a part not delivered by then bounces
  Clock::Duration idle_timeout = std::chrono::minutes(5);
  std::size_t sessions_max = 10'000;          // per shard; more connections get 421 and are closed
  std::size_t output_bytes_max = 256 * 1024;  // unsent replies before reading pauses
  // DKIM keys ([[dkim]]): each message is signed once, here, before it is stored; the parts
  // and every retry send the stored, signed bytes. nullptr = no signing.
  const dkim::KeyRing* signing = nullptr;
  // The server certificate (the shard's own context): STARTTLS is offered when it is set and
  // smtp.starttls is on; implicit-TLS listeners need it. nullptr = no TLS.
  tls::ServerContext* tls = nullptr;
  Clock::Duration tls_handshake_timeout = std::chrono::seconds(30);
  // Relaying: a client from `trusted` may relay as it is; any other must AUTH first (with
  // `users`, smtp.auth_mechanisms offered), else RCPT gets 554 5.7.1. nullptr = none.
  const NetworkList* trusted = nullptr;
  const Users* users = nullptr;
  Clock::Duration auth_failure_delay = std::chrono::seconds(1);  // before each 535
};

// One per shard, created and used only on that shard's thread. Owns its sessions; each
// session holds the shard's drain gate while its connection is open, so a stop waits for
// messages in flight. On stop, idle sessions are told 421 and closed; sessions in the middle
// of a transaction finish it first.
class SubmissionListener {
 public:
  // The destination a recipient's part goes to (a domain, or the relay).
  using RouteFn = std::function<std::string(std::string_view recipient)>;
  // Runs on this shard once the message is durable, with one item per part.
  using QueuedFn = std::function<void(const std::vector<queue::ScheduledItem>& parts)>;

  SubmissionListener(engine::Shard& shard, Committer& committer, queue::MessageIdGenerator& ids,
                     SubmissionOptions options, RouteFn route, QueuedFn on_queued);
  SubmissionListener(const SubmissionListener&) = delete;
  SubmissionListener& operator=(const SubmissionListener&) = delete;
  ~SubmissionListener();

  // Starts accepting on `listen_fd` (a SO_REUSEPORT socket of this shard); takes ownership.
  // `implicit_tls`: the connection is TLS from its first byte (port 465 style).
  void listen(int listen_fd, bool implicit_tls = false);

  const Probe& probe() const { return probe_; }
  std::size_t sessions_open() const { return sessions_.size(); }

 private:
  class Session;
  friend class Session;

  void on_accept(int fd, bool implicit_tls, const engine::SocketAddress& peer);
  // A session's AUTH: checked on the shard's worker (password hashing is slow on purpose).
  void check_auth(std::uint64_t session_id, smtp::AuthRequested&& auth);
  void on_session_closed(std::uint64_t session_id);
  void on_stop();
  // Splits one received message into parts and hands it to the group commit; the session
  // `session_id` gets its reply when the batch is durable (or failed).
  void enqueue(std::uint64_t session_id, smtp::MessageReceived&& message);
  // Prepends the DKIM-Signature fields; the reply to send instead when it cannot.
  std::optional<std::string> sign(std::string& body, Clock::WallTime now);
  void on_committed(std::uint64_t session_id, MessageId id,
                    const std::vector<queue::ScheduledItem>& parts, const Result<void>& result);

  engine::Shard& shard_;
  Committer& committer_;
  queue::MessageIdGenerator& ids_;
  SubmissionOptions options_;
  RouteFn route_;
  QueuedFn on_queued_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Session>> sessions_;
  std::uint64_t next_session_id_ = 1;
  Probe probe_;
};

}  // namespace mta::injection
