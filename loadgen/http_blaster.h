// HttpBlaster: the HTTP mode of `outpost bench blast` (--http URL). Keeps `connections`
// HTTP/1.1 keep-alive connections to an injection API (POST /v1/messages, see
// injection/openapi.yaml) spread over its own engine shards, each POSTing bulk requests of
// `batch` recipients back to back, one request in flight per connection, until the message
// count or the duration is reached. Counts acknowledged messages (202s times the request's
// recipients), other statuses, and each acknowledged request's latency.
#pragma once

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
#include "loadgen/histogram.h"
#include "loadgen/size_distribution.h"

namespace mta::loadgen {

struct HttpBlastOptions {
  engine::SocketAddress target;  // numeric; the caller resolves the URL's host
  std::string host;              // the Host field, e.g. "127.0.0.1:8025"
  std::string path = "/v1/messages";
  std::string api_key;  // sent as `Authorization: Bearer <key>`; empty = none
  std::uint32_t shards = 1;
  std::size_t connections = 16;  // spread over the shards
  std::size_t batch = 1;         // recipients (so messages) per request, 1..10,000
  // Each message's text part. The daemon adds its header (about 300 bytes), so the queued
  // message is a little larger than the --size the SMTP blast would send.
  SizeDistribution size;
  std::vector<std::string> domains = {"bench.test"};  // recipients rotate through these
  std::string from = "blast@bench.outpost";
  std::uint64_t message_count = 0;  // 0 = until duration (one of the two is required)
  Clock::Duration duration{};       // 0 = until message_count
  std::uint64_t seed = 1;           // sizes
  std::string tag;                  // in every subject and X-Blast-Tag; empty = time and pid
  Clock::Duration connect_timeout = std::chrono::seconds(10);
  Clock::Duration reply_timeout = std::chrono::seconds(60);  // per request
  // After a 429 or 503, the connection waits Retry-After seconds, at most this long.
  Clock::Duration retry_after_max = std::chrono::seconds(1);
  std::uint32_t connect_attempts_max = 5;  // failed connects in a row before a slot gives up
};

// Counters readable from any thread while the blast runs (messages, not requests).
struct HttpBlastTotals {
  std::uint64_t begun = 0;         // messages in requests sent
  std::uint64_t acknowledged = 0;  // in requests answered 202
  std::uint64_t rejected = 0;      // in requests answered otherwise
  std::uint64_t failed = 0;        // in requests lost with the connection
  std::uint64_t requests = 0;      // requests sent
  std::uint64_t connections_open = 0;
};

struct HttpBlastReport {
  std::chrono::nanoseconds elapsed{};  // start to the last answer
  HttpBlastTotals totals;
  std::uint64_t requests_acknowledged = 0;    // 202s
  std::uint64_t ids_returned = 0;             // "id" members in the 202 bodies
  std::uint64_t bytes_sent = 0;               // request bodies answered 202
  std::map<int, std::uint64_t> status_codes;  // per request
  std::uint64_t connections_opened = 0;
  std::uint64_t connect_failures = 0;
  std::uint64_t connection_failures = 0;  // lost mid-request, timed out, unreadable answer
  std::uint64_t server_closes = 0;        // answers with Connection: close (then reconnect)
  LatencyHistogram latency;               // request written to answer read; 202s only

  double acknowledged_per_second() const;
  double requests_per_second() const;
};

// Lifecycle: start() -> done() polled (or a duration elapses) -> stop() once. The shards are
// the blaster's own Runtime; totals() and done() may be called from any thread meanwhile.
// stop() lets every request in flight finish (up to reply_timeout), then merges the shards.
class HttpBlaster {
 public:
  explicit HttpBlaster(HttpBlastOptions options);  // use start()
  HttpBlaster(const HttpBlaster&) = delete;
  HttpBlaster& operator=(const HttpBlaster&) = delete;
  ~HttpBlaster();
  static Result<std::unique_ptr<HttpBlaster>> start(HttpBlastOptions options);

  HttpBlastTotals totals() const;
  bool done() const;  // every connection slot has finished its work
  HttpBlastReport stop();

  struct Shared;  // state the shards share: the next message index, finished slots
  class ShardState;

 private:
  HttpBlastOptions options_;
  std::unique_ptr<Shared> shared_;
  std::unique_ptr<engine::Runtime> runtime_;
  std::vector<std::unique_ptr<ShardState>> shards_;  // indexed by shard id
  Clock::TimePoint started_{};
  bool stopped_ = false;
};

// The bulk request for messages [first, first + count): the template (subject, text of
// `text_bytes`, X-Blast-Tag header) and one recipient per message, r<n>@<domain>, with the
// substitution n = the message index. Exposed for tests.
std::string bulk_request_body(const HttpBlastOptions& options, std::string_view tag,
                              std::uint64_t first, std::size_t count, std::uint64_t text_bytes);

// The whole `outpost bench blast --http` run: start, live progress on stderr when
// `progress`, stop at the count, the duration, SIGINT or SIGTERM. Blocks SIGINT/SIGTERM in
// the calling thread.
Result<HttpBlastReport> run_http_blast(const HttpBlastOptions& options, bool progress);

std::string format_text(const HttpBlastReport& report);
std::string format_json(const HttpBlastReport& report, const HttpBlastOptions& options);

}  // namespace mta::loadgen
