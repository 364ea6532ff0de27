// ConnectionDriver: what one delivery connection decides, apart from its socket. It drives an
// smtp::ClientSession with the connection's events (connected, server bytes, TLS handshake
// result, idle timer, closed) and acts through two small interfaces: a Transport (its side of
// the socket: write, STARTTLS, close) and a ConnectionOwner (the destination it delivers for:
// the next part, each part's outcome). The Dispatcher's connections implement both over a
// tls::Stream; connection_fuzz.cc implements them with a script, so the whole connection,
// driver and session, is fuzzed without a ring.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/buffer.h"
#include "base/clock.h"
#include "base/result.h"
#include "delivery/outcome.h"
#include "delivery/probe.h"
#include "proto/smtp/client_session.h"
#include "queue/envelope.h"
#include "queue/store.h"
#include "tls/session.h"

namespace mta::delivery {

// STARTTLS toward a destination. opportunistic: when offered, whatever the certificate; a failed
// handshake is retried in plaintext (that address, for tls_fallback_period). required: no TLS,
// no delivery (deferred, 4.7.10). verify: required, and the chain must verify and name the MX
// host (4.7.5 otherwise).
enum class TlsPolicy { none, opportunistic, required, verify };
std::string_view to_string(TlsPolicy policy);
std::optional<TlsPolicy> parse_tls_policy(std::string_view text);

// The connection's own side. Calls never re-enter the driver: what they cause comes later, as
// another event (start_tls: on_tls_ready; close: on_closed; the idle timer: on_idle_timeout).
class Transport {
 public:
  virtual ~Transport() = default;
  // Ignored once closed (tls::Stream buffers, encrypts when TLS is on).
  virtual void write(std::string_view bytes) = 0;
  // The server said 220 to STARTTLS: start the handshake. An error: it cannot start (no TLS
  // context), and the driver closes.
  virtual Result<void> start_tls() = 0;
  virtual void close() = 0;
  virtual const tls::Info* tls_info() const = 0;  // nullptr: plaintext
  // One idle timer per connection: arming replaces it; it fires on_idle_timeout().
  virtual void arm_idle_timer(Clock::Duration after) = 0;
  virtual void cancel_idle_timer() = 0;
};

class ConnectionDriver;

// The destination the connection delivers for (a Dispatcher), told each outcome once.
class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  // The connection should QUIT rather than take a part: the destination is stopping, this
  // connection sent `sent` messages (its cap), or more connections are open than allowed.
  virtual bool should_quit(std::size_t sent) = 0;
  // Starts the next due part on `driver` (driver.start()), or false when none may go now.
  virtual bool assign(ConnectionDriver& driver) = 0;
  virtual void on_ready(std::size_t address_index) = 0;
  // A part's transaction ended with the server's replies.
  virtual void on_transaction(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                              const smtp::TransactionResult& result, const Hop& hop) = 0;
  // A part's attempt ended without them (the connection failed or closed, the session refused
  // the transaction): `reason` is an enhanced code and text; `permanent`: bounce, not defer.
  virtual void on_failure(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                          const std::string& reason, const Hop& hop, bool permanent) = 0;
  // A reply that may match a response rule (suspend, throttle).
  virtual void react(const smtp::Reply& reply) = 0;
  // The connection closed before its session was ready; `hop`: the host and address it was
  // to, for the outcomes of the parts that wait on it; `tls_fallback`: an opportunistic
  // handshake failed, so the address is tried again in plaintext rather than counted failed.
  virtual void on_connection_failed(std::size_t address_index, const std::string& reason,
                                    const Hop& hop, bool tls_fallback) = 0;
};

struct ConnectionSettings {
  std::size_t address_index = 0;
  std::string address;  // "192.0.2.1:25", for outcomes and failure texts
  std::string name;     // the MX host name, or empty
  std::string source;   // the local address sent from, or empty
  TlsPolicy tls = TlsPolicy::opportunistic;
  Clock::Duration idle_timeout = std::chrono::seconds(10);
  smtp::ClientOptions session;
};

// Lifecycle: made when the connection is dialled; events in the order a tls::Stream gives
// them (on_connected, then any of on_data / on_tls_ready / on_idle_timeout, on_closed last
// and once); the owner may call take_next(), start() (from assign) and quit() in between.
// One shard, one thread; no event re-enters another.
//
// A part goes out only when the session is ready for it (ClientSession's contract): after
// every event of a read has been acted on, never on an event alone.
class ConnectionDriver {
 public:
  ConnectionDriver(ConnectionSettings settings, Transport& transport, ConnectionOwner& owner,
                   Probe& probe);
  ConnectionDriver(const ConnectionDriver&) = delete;
  ConnectionDriver& operator=(const ConnectionDriver&) = delete;

  // Ready for a part now: the session's own state has the last word (a 421 that came with the
  // last reply has failed it before any event said so).
  bool idle() const {
    return ready_ && !busy_ && !quitting_ && !closing_ && session_.ready_for_transaction();
  }
  bool ready() const { return ready_; }
  bool busy() const { return busy_; }
  bool carries(queue::PartKey key) const {
    return busy_ && envelope_.id == key.message && envelope_.part == key.part;
  }
  // The part in a transaction now, or nullptr (the console's per-destination view).
  const queue::Envelope* in_flight() const { return busy_ ? &envelope_ : nullptr; }
  const ConnectionSettings& settings() const { return settings_; }

  // Events.
  void on_connected(int error);  // 0 or -errno
  // Consumes all of `input` before acting on it: acting may close the stream, and an engine
  // connection closed from inside its on_data reuses the input buffer at once.
  void on_data(Buffer& input);
  void on_tls_ready(const Result<void>& result);
  void on_idle_timeout();
  void on_closed(int error);  // the last event

  // Takes the next due part, or goes idle (and QUITs after idle_timeout).
  void take_next();
  // Sends the part (true), or settles it (false): an address with a line break (the injection
  // path lets none in) bounces; a session no longer ready defers it.
  bool start(queue::Envelope&& envelope, std::vector<std::size_t>&& tried, const std::string& body);
  void quit();

 private:
  void drive();
  void flush();
  void close();
  bool policy_met(const smtp::SessionReady& ready);
  void react_to(const smtp::TransactionResult& result);
  Hop hop() const;
  std::string describe() const;

  const ConnectionSettings settings_;
  Transport& transport_;
  ConnectionOwner& owner_;
  Probe& probe_;
  smtp::ClientSession session_;
  queue::Envelope envelope_;
  std::vector<std::size_t> tried_;
  std::string failure_;
  std::size_t sent_ = 0;
  bool open_ = false;     // connected, on_closed not yet
  bool closing_ = false;  // close() asked: nothing more is written
  bool ready_ = false;
  bool busy_ = false;
  bool quitting_ = false;
  bool tls_requested_ = false;  // start_tls() succeeded, on_tls_ready not yet
  bool tls_fallback_ = false;
};

}  // namespace mta::delivery
