// Blaster: the SMTP load generator behind `outpost bench blast`. Opens `connections` SMTP
// client connections spread over its own engine shards, each sending generated messages
// (sizes from a SizeDistribution, recipients spread over the given domains) back to back,
// PIPELINING when the server offers it, until the message count or the duration is reached.
// Optionally over TLS: STARTTLS when offered, or TLS from the first byte (port 465 style).
// Records every reply code and each message's latency (begin of MAIL to the final reply).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "engine/address.h"
#include "engine/runtime.h"
#include "loadgen/histogram.h"
#include "loadgen/size_distribution.h"

namespace mta::loadgen {

// How messages are injected. Only SMTP exists (TLS is BlastTls, beside it); AUTH and HTTP
// injection join here when Outpost has them (each is a different Slot transport in blaster.cc).
enum class BlastProtocol { smtp };

// TLS toward the target. The certificate is never verified (tls::Verify::none): the blaster
// measures the cost of encryption, not the target's PKI. Sessions are resumed per target
// (the cache key is the target address), per blaster shard.
enum class BlastTls {
  none,
  starttls,  // STARTTLS when the server advertises it, else plaintext
  implicit,  // TLS from the first byte (a port-465-style listener)
};
std::string_view to_string(BlastTls tls);  // "none", "starttls", "implicit"

struct BlastOptions {
  engine::SocketAddress target;
  BlastProtocol protocol = BlastProtocol::smtp;
  BlastTls tls = BlastTls::none;
  // Base64 SASL PLAIN response ("\0user\0password"): AUTH PLAIN after EHLO (and TLS); a
  // rejected AUTH fails the connection. Empty = no AUTH.
  std::string auth_plain;
  std::uint32_t shards = 1;      // the blaster's own reactor threads
  std::size_t connections = 16;  // concurrent SMTP connections, spread over the shards
  bool pipelining = true;        // pipeline MAIL/RCPT/DATA when the server offers PIPELINING
  std::uint64_t messages_per_connection = 0;  // then QUIT and reconnect; 0 = no limit
  SizeDistribution size;                      // whole message, headers included
  std::size_t recipients_per_message = 1;
  std::vector<std::string> domains = {"bench.test"};  // recipients rotate through these
  std::string mail_from = "blast@bench.outpost";
  std::uint64_t message_count = 0;  // 0 = until duration (one of the two is required)
  Clock::Duration duration{};       // 0 = until message_count
  std::uint64_t seed = 1;           // sizes
  std::string tag;                  // in every Message-ID; empty = derived from time and pid
  std::string helo_name = "blast.bench.outpost";
  Clock::Duration connect_timeout = std::chrono::seconds(10);  // and the TLS handshake's
  Clock::Duration reply_timeout = std::chrono::seconds(60);
  // A connection slot gives up after this many failed connects in a row (target down).
  std::uint32_t connect_attempts_max = 5;
};

// Counters readable from any thread while the blast runs.
struct BlastTotals {
  std::uint64_t begun = 0;         // transactions started
  std::uint64_t acknowledged = 0;  // final reply 2xx
  std::uint64_t rejected = 0;      // final reply 4xx/5xx (or every recipient refused)
  std::uint64_t failed = 0;        // lost with the connection (421, reset, timeout)
  std::uint64_t connections_open = 0;
};

struct BlastReport {
  std::chrono::nanoseconds elapsed{};  // start to the last final reply
  BlastTotals totals;
  std::uint64_t recipients_accepted = 0;
  std::uint64_t recipients_rejected = 0;
  std::uint64_t bytes_acknowledged = 0;
  std::map<int, std::uint64_t> message_codes;    // the reply that decided each message
  std::map<int, std::uint64_t> recipient_codes;  // every RCPT reply
  std::uint64_t connections_opened = 0;
  std::uint64_t connect_failures = 0;
  std::uint64_t session_failures = 0;  // 421, unparsable replies, lost connections
  std::uint64_t tls_sessions = 0;      // handshakes completed
  std::uint64_t tls_resumed = 0;       // of them, abbreviated (a cached session or ticket)
  std::uint64_t tls_failures = 0;      // handshakes that failed or timed out
  LatencyHistogram latency;            // acknowledged messages only

  double acknowledged_per_second() const;
};

// Lifecycle: start() -> done() polled (or a duration elapses) -> stop() once. The shards are
// the blaster's own Runtime; totals() and done() may be called from any thread meanwhile.
class Blaster {
 public:
  explicit Blaster(BlastOptions options);  // use start()
  Blaster(const Blaster&) = delete;
  Blaster& operator=(const Blaster&) = delete;
  ~Blaster();
  static Result<std::unique_ptr<Blaster>> start(BlastOptions options);

  BlastTotals totals() const;
  bool done() const;  // every connection slot has finished its work
  // Asks every connection to finish its transaction and QUIT, waits, and merges the shards.
  BlastReport stop();

  struct Shared;  // state the shards share: the next message index, finished slots
  class ShardState;

 private:
  BlastOptions options_;
  std::unique_ptr<Shared> shared_;
  std::unique_ptr<engine::Runtime> runtime_;
  std::vector<std::unique_ptr<ShardState>> shards_;  // indexed by shard id
  Clock::TimePoint started_{};
  bool stopped_ = false;
};

// The whole `outpost bench blast` run: start, live progress on stderr when `progress`, stop
// at the count, the duration, SIGINT or SIGTERM. Blocks SIGINT/SIGTERM in the calling thread.
Result<BlastReport> run_blast(const BlastOptions& options, bool progress);

std::string format_text(const BlastReport& report);
std::string format_json(const BlastReport& report, const BlastOptions& options);

}  // namespace mta::loadgen
