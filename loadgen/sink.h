// Sink: the SMTP receiver behind `outpost bench sink`, on its own engine shards. Accepts
// every connection on one SO_REUSEPORT address per shard, answers with a configurable reply
// mix and added latency, keeps nothing but counts: messages, bytes, distinct Message-IDs,
// recipients per domain, connections (concurrent and in total), messages per connection and
// messages by BDAT. Optionally offers STARTTLS or speaks TLS from the first byte, and counts TLS
// sessions.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "engine/address.h"
#include "engine/runtime.h"
#include "loadgen/reply_mix.h"
#include "loadgen/series.h"

namespace mta::loadgen {

struct SinkOptions {
  engine::SocketAddress listen;  // port 0 picks a free port (see Sink::address())
  std::uint32_t shards = 1;
  ReplyMix mix;
  Clock::Duration latency{};  // waited before answering each message's DATA
  bool pipelining = true;     // advertise PIPELINING
  // Advertise CHUNKING (BDAT, RFC 3030). Off by default, so that the sink offers what
  // Postfix's smtp-sink does and clients that would use BDAT are compared on DATA.
  bool chunking = false;
  bool starttls = false;      // offer STARTTLS (RFC 3207)
  bool implicit_tls = false;  // TLS from the first byte instead (port 465 style)
  // PEM files for either; both empty = a self-signed certificate for `hostname`, generated
  // at start() into a temporary directory that is removed once loaded.
  std::string cert_file;
  std::string key_file;
  Clock::Duration tls_handshake_timeout = std::chrono::seconds(30);
  std::uint64_t seed = 1;  // reply mix draws
  std::string hostname = "sink.bench.outpost";
  std::size_t sessions_max = 20000;  // per shard; more connections get 421
  Clock::Duration idle_timeout = std::chrono::minutes(5);
};

// Counters readable from any thread while the sink runs.
struct SinkTotals {
  std::uint64_t messages = 0;            // accepted (250 after DATA)
  std::uint64_t recipients = 0;          // of accepted messages
  std::uint64_t bytes = 0;               // of accepted messages, as received (unstuffed)
  std::uint64_t rejected = 0;            // messages answered 4xx, 5xx or 421 after DATA
  std::uint64_t recipients_refused = 0;  // recipients answered 450 or 550 at RCPT
  std::uint64_t connections_open = 0;
};

struct SinkReport {
  std::chrono::nanoseconds elapsed{};        // start to stop
  std::chrono::nanoseconds first_message{};  // since start; 0 when no message arrived
  std::chrono::nanoseconds last_message{};
  SinkTotals totals;
  std::uint64_t distinct_message_ids = 0;
  std::uint64_t messages_without_id = 0;
  std::uint64_t messages_dkim_signed = 0;          // with at least one DKIM-Signature field
  std::uint64_t messages_bdat = 0;                 // received by BDAT (the rest by DATA)
  std::uint64_t rejected_temporary = 0;            // 451 after DATA
  std::uint64_t rejected_permanent = 0;            // 554 after DATA
  std::uint64_t disconnects = 0;                   // 421 after DATA, connection closed
  std::uint64_t recipients_refused_temporary = 0;  // 450 at RCPT
  std::uint64_t recipients_refused_permanent = 0;  // 550 at RCPT
  std::map<std::string, std::uint64_t> recipients_per_domain;  // of accepted messages
  std::uint64_t connections_total = 0;
  std::uint64_t connections_max = 0;  // most open at once
  std::uint64_t tls_sessions = 0;     // handshakes completed
  std::uint64_t tls_resumed = 0;      // of them, abbreviated (a session ticket or id)
  std::uint64_t tls_failures = 0;     // handshakes that failed or timed out
  std::map<std::uint64_t, std::uint64_t> messages_per_connection;  // accepted -> connections
  std::vector<SecondSample> series;                                // filled by run_sink

  // Accepted messages per second between the first and the last one (the sink's window).
  double messages_per_second() const;
};

// Lifecycle: start() -> address() for the clients -> totals() while running -> stop() once.
class Sink {
 public:
  explicit Sink(SinkOptions options);  // use start()
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;
  ~Sink();
  static Result<std::unique_ptr<Sink>> start(SinkOptions options);

  const engine::SocketAddress& address() const { return address_; }
  SinkTotals totals() const;
  // Closes the listeners, answers idle sessions 421, lets messages in flight finish, and
  // merges the shards' counts.
  SinkReport stop();

  struct Shared;
  class ShardState;

 private:
  SinkOptions options_;
  engine::SocketAddress address_;
  std::unique_ptr<Shared> shared_;
  std::unique_ptr<engine::Runtime> runtime_;
  std::vector<std::unique_ptr<ShardState>> shards_;
  Clock::TimePoint started_{};
  bool stopped_ = false;
};

struct SinkRunOptions {
  Clock::Duration duration{};      // 0 = no limit
  std::uint64_t messages_max = 0;  // stop once this many were accepted; 0 = no limit
  // Stop when no message was accepted for this long, once one was (a relay has drained
  // what it acknowledged); 0 = never.
  Clock::Duration idle_stop{};
  bool progress = false;  // a live line on stderr
  std::string csv_path;   // per-second series; "" = none
  std::string svg_path;   // throughput plot; "" = none
};

// The whole `outpost bench sink` run: start, print "sink listening on ADDRESS" on stderr,
// sample every second, stop at the duration, the message count, idleness, SIGINT or SIGTERM, then
// write the CSV and SVG. Blocks SIGINT/SIGTERM in the calling thread.
Result<SinkReport> run_sink(const SinkOptions& options, const SinkRunOptions& run);

std::string format_text(const SinkReport& report);
// The live line run_sink redraws on stderr each second: `second`'s rates, then the run's
// totals named as format_text names them ("messages: N accepted, N rejected after DATA
// recipients: N refused at RCPT").
std::string progress_line(const SecondSample& second, const SinkTotals& totals);
std::string format_json(const SinkReport& report, const SinkOptions& options);

}  // namespace mta::loadgen
