// HttpBlaster: each shard owns a fixed set of connection slots. A slot keeps one keep-alive
// connection at a time and one request in flight on it: it claims the next `batch` message
// indexes from the counter all shards share (so a message count is met exactly; the last
// request may be smaller), writes the bulk POST, reads the answer with HttpResponseReader,
// and writes the next request as soon as the answer is in. A 429 or 503 pauses the slot for
// Retry-After (capped); an answer with Connection: close, or a lost connection, makes it
// reconnect; a failed connect retries after 100 ms, up to connect_attempts_max in a row.
#include "loadgen/http_blaster.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <optional>

#include "base/assert.h"
#include "base/concat.h"
#include "engine/connection.h"
#include "loadgen/errc.h"
#include "loadgen/http_response_reader.h"
#include "loadgen/random.h"
#include "proto/http/json.h"

namespace mta::loadgen {

struct HttpBlaster::Shared {
  std::atomic<std::uint64_t> next_index{0};
  std::atomic<std::size_t> slots_done{0};
  std::size_t slot_count = 0;
  std::uint64_t index_limit = UINT64_MAX;  // message_count, or no limit
  std::string tag;
  std::string head;  // the request head up to Content-Length's value, the same for every request
};

namespace {

// Live counters of one shard: written by that shard only (relaxed), read by anyone.
struct alignas(64) LiveCounters {
  std::atomic<std::uint64_t> begun{0};
  std::atomic<std::uint64_t> acknowledged{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> connections_open{0};
  std::atomic<std::int64_t> last_answer_ns{0};  // steady clock, of the latest answer

  static void bump(std::atomic<std::uint64_t>& counter, std::int64_t by = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + static_cast<std::uint64_t>(by),
                  std::memory_order_relaxed);
  }
};

// The text part: a first line with the {{n}} placeholder, then 72-letter lines to the size.
void append_text(std::uint64_t bytes, std::string& out) {
  constexpr std::string_view first = "Message {{n}} of an outpost bench blast.\n";
  constexpr std::string_view line =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghij\n";
  const std::size_t size = std::max<std::uint64_t>(bytes, first.size());
  out.append(first);
  while (out.size() + line.size() <= size) out.append(line);
  out.append(size - out.size(), 'x');
}

// How many `"id"` members a compact or pretty JSON answer holds: recipients' addresses are
// strings too, but never the two-letter string "id".
std::uint64_t count_ids(std::string_view body) {
  std::uint64_t count = 0;
  for (std::size_t at = body.find("\"id\""); at != std::string_view::npos;
       at = body.find("\"id\"", at + 4)) {
    ++count;
  }
  return count;
}

}  // namespace

std::string bulk_request_body(const HttpBlastOptions& options, std::string_view tag,
                              std::uint64_t first, std::size_t count, std::uint64_t text_bytes) {
  std::string text;
  text.reserve(text_bytes + 64);
  append_text(text_bytes, text);
  http::JsonWriter json;
  json.reserve(text.size() + 96 * count + 256);
  json.begin_object();
  json.key("from");
  json.value(options.from);
  json.key("subject");
  json.value(concat({"blast ", tag, " {{n}}"}));
  json.key("text");
  json.value(text);
  json.key("headers");
  json.begin_object();
  json.key("X-Blast-Tag");
  json.value(tag);
  json.end_object();
  json.key("recipients");
  json.begin_array();
  for (std::uint64_t index = first; index < first + count; ++index) {
    const std::string n = std::to_string(index);
    json.begin_object();
    json.key("to");
    json.value(concat({"r", n, "@", options.domains[index % options.domains.size()]}));
    json.key("substitutions");
    json.begin_object();
    json.key("n");
    json.value(n);
    json.end_object();
    json.end_object();
  }
  json.end_array();
  json.end_object();
  return json.take();
}

class HttpBlaster::ShardState {
 public:
  ShardState(engine::Shard& shard, const HttpBlastOptions& options, Shared& shared,
             std::size_t slot_count, std::uint64_t seed);
  ~ShardState();

  void begin();  // on the shard: open every slot's first connection
  LiveCounters& live() { return live_; }
  const LiveCounters& live() const { return live_; }
  HttpBlastReport& stats() { return stats_; }

  class Slot;

 private:
  friend class Slot;
  // The first index of the next request and its message count; nullopt when all are claimed.
  std::optional<std::pair<std::uint64_t, std::size_t>> claim();
  void slot_done() { shared_.slots_done.fetch_add(1, std::memory_order_relaxed); }
  void on_stop();

  engine::Shard& shard_;
  const HttpBlastOptions& options_;
  Shared& shared_;
  SplitMix64 random_;
  std::vector<std::unique_ptr<Slot>> slots_;
  LiveCounters live_;
  HttpBlastReport stats_;  // shard-only until the runtime has stopped
  bool stopping_ = false;
};

// One connection slot. Lives as long as its ShardState, so it outlives every connection it
// opens (the engine's rule for a ConnectionHandler). States: connecting -> sending (a request
// in flight) -> [pausing after a 429/503] -> sending ... -> closing -> closed, then open()
// again from a shard task, or done.
class HttpBlaster::ShardState::Slot final : public engine::ConnectionHandler {
 public:
  explicit Slot(ShardState& owner) : owner_(owner) {}

  void open() {
    reader_.emplace();
    connected_ = false;
    closing_ = false;
    in_flight_ = 0;
    owner_.shard_.hold();
    ++owner_.stats_.connections_opened;
    LiveCounters::bump(owner_.live_.connections_open);
    open_ = true;
    connection_ = &engine::Connection::connect(owner_.shard_, owner_.options_.target,
                                               owner_.options_.connect_timeout, *this);
  }

  // Between requests, waiting out a Retry-After.
  bool pausing() const { return pause_timer_ != 0; }

  // Stop: a pausing slot closes now; one with a request in flight closes after the answer.
  void stop() {
    if (pause_timer_ != 0) {
      owner_.shard_.cancel_timer(pause_timer_);
      pause_timer_ = 0;
      close();
    }
  }

  void on_connected(int error) override {
    if (error != 0) return;  // on_closed follows
    connected_ = true;
    failed_connects_ = 0;
    connection_->set_idle_timeout(owner_.options_.reply_timeout);
    send_next();
  }

  void on_data(Buffer& input) override {
    auto complete = reader_->feed(input.readable());
    input.consume(input.size());
    if (!complete) {
      fail_connection();
      return;
    }
    if (*complete) on_answer();
  }

  void on_closed(int /*error*/) override {
    open_ = false;
    connection_ = nullptr;
    if (pause_timer_ != 0) {
      owner_.shard_.cancel_timer(pause_timer_);
      pause_timer_ = 0;
    }
    LiveCounters::bump(owner_.live_.connections_open, -1);
    if (in_flight_ != 0) {
      // A body delimited by the end of the connection completes here; anything else is lost.
      auto complete = reader_->finish();
      if (complete && *complete) {
        on_answer();
      } else {
        ++owner_.stats_.connection_failures;
        lose_request();
      }
    }
    if (!connected_) {
      ++owner_.stats_.connect_failures;
      ++failed_connects_;
    }
    owner_.shard_.release();
    if (exhausted_ || owner_.stopping_ ||
        failed_connects_ >= owner_.options_.connect_attempts_max) {
      owner_.slot_done();
      return;
    }
    // Not from inside the closing connection's callback; after a failed connect, pause.
    const auto delay =
        connected_ ? Clock::Duration::zero() : Clock::Duration(std::chrono::milliseconds(100));
    owner_.shard_.schedule(delay, [this] {
      if (owner_.stopping_) {
        owner_.slot_done();
      } else {
        open();
      }
    });
  }

 private:
  void send_next() {
    if (!open_ || !connected_ || closing_) return;
    if (owner_.stopping_) {
      close();
      return;
    }
    const auto claimed = owner_.claim();
    if (!claimed) {
      exhausted_ = true;
      close();
      return;
    }
    const auto [first, count] = *claimed;
    const std::uint64_t text_bytes = owner_.options_.size.sample(owner_.random_);
    const std::string body =
        bulk_request_body(owner_.options_, owner_.shared_.tag, first, count, text_bytes);
    body_bytes_ = body.size();
    in_flight_ = count;
    started_at_ = owner_.shard_.clock().now();
    // write() copies into the connection's output buffer.
    connection_->write(
        concat({owner_.shared_.head, std::to_string(body.size()), "\r\n\r\n", body}));
    LiveCounters::bump(owner_.live_.begun, static_cast<std::int64_t>(count));
    LiveCounters::bump(owner_.live_.requests);
  }

  void on_answer() {
    const HttpResponse& response = reader_->response();
    const Clock::TimePoint now = owner_.shard_.clock().now();
    HttpBlastReport& stats = owner_.stats_;
    ++stats.status_codes[response.status];
    const auto count = static_cast<std::int64_t>(in_flight_);
    in_flight_ = 0;
    if (response.status == 202) {
      ++stats.requests_acknowledged;
      stats.ids_returned += count_ids(response.body);
      stats.bytes_sent += body_bytes_;
      stats.latency.record(now - started_at_);
      LiveCounters::bump(owner_.live_.acknowledged, count);
    } else {
      LiveCounters::bump(owner_.live_.rejected, count);
    }
    owner_.live_.last_answer_ns.store(now.time_since_epoch().count(), std::memory_order_relaxed);
    const bool server_closes = response.close;
    const Clock::Duration pause = retry_pause(response);
    if (!open_) return;  // the answer completed at the end of the connection
    if (server_closes) {
      ++stats.server_closes;
      close();
      return;
    }
    auto next = reader_->next();
    if (!next || *next) {
      // Bytes nobody asked for: an answer without a request is a broken server.
      ++stats.connection_failures;
      close();
      return;
    }
    if (pause > Clock::Duration::zero() && !owner_.stopping_) {
      pause_timer_ = owner_.shard_.schedule(pause, [this] {
        pause_timer_ = 0;
        send_next();
      });
      return;
    }
    send_next();
  }

  // 429 and 503 carry Retry-After (delay-seconds, RFC 9110 §10.2.3); a date or junk counts
  // as one second.
  Clock::Duration retry_pause(const HttpResponse& response) const {
    if (response.status != 429 && response.status != 503) return Clock::Duration::zero();
    Clock::Duration pause = std::chrono::seconds(1);
    if (const auto value = response.header("Retry-After")) {
      std::uint64_t seconds = 0;
      const auto [end, error] =
          std::from_chars(value->data(), value->data() + value->size(), seconds);
      if (error == std::errc{} && end == value->data() + value->size()) {
        pause = std::chrono::seconds(std::min<std::uint64_t>(seconds, 3600));
      }
    }
    return std::min(pause, owner_.options_.retry_after_max);
  }

  void lose_request() {
    LiveCounters::bump(owner_.live_.failed, static_cast<std::int64_t>(in_flight_));
    in_flight_ = 0;
  }

  void fail_connection() {
    ++owner_.stats_.connection_failures;
    lose_request();
    if (open_ && connection_ != nullptr) connection_->abort();
  }

  void close() {
    if (!open_ || closing_) return;
    closing_ = true;
    connection_->close();
  }

  ShardState& owner_;
  engine::Connection* connection_ = nullptr;  // from open() to on_closed()
  std::optional<HttpResponseReader> reader_;
  std::uint64_t body_bytes_ = 0;
  std::size_t in_flight_ = 0;  // messages in the request awaiting its answer
  Clock::TimePoint started_at_{};
  engine::TimerId pause_timer_ = 0;
  std::uint32_t failed_connects_ = 0;
  bool open_ = false;
  bool connected_ = false;
  bool closing_ = false;
  bool exhausted_ = false;
};

HttpBlaster::ShardState::ShardState(engine::Shard& shard, const HttpBlastOptions& options,
                                    Shared& shared, std::size_t slot_count, std::uint64_t seed)
    : shard_(shard), options_(options), shared_(shared), random_(seed) {
  for (std::size_t i = 0; i < slot_count; ++i) slots_.push_back(std::make_unique<Slot>(*this));
}

HttpBlaster::ShardState::~ShardState() = default;

void HttpBlaster::ShardState::begin() {
  shard_.on_stop([this] { on_stop(); });
  for (auto& slot : slots_) slot->open();
}

std::optional<std::pair<std::uint64_t, std::size_t>> HttpBlaster::ShardState::claim() {
  const std::uint64_t batch = options_.batch;
  const std::uint64_t first = shared_.next_index.fetch_add(batch, std::memory_order_relaxed);
  if (first >= shared_.index_limit) return std::nullopt;
  return std::pair{first, static_cast<std::size_t>(std::min(batch, shared_.index_limit - first))};
}

void HttpBlaster::ShardState::on_stop() {
  stopping_ = true;
  for (auto& slot : slots_) slot->stop();
}

double HttpBlastReport::acknowledged_per_second() const {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  return seconds > 0 ? static_cast<double>(totals.acknowledged) / seconds : 0;
}

double HttpBlastReport::requests_per_second() const {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  return seconds > 0 ? static_cast<double>(requests_acknowledged) / seconds : 0;
}

HttpBlaster::HttpBlaster(HttpBlastOptions options) : options_(std::move(options)) {}

HttpBlaster::~HttpBlaster() {
  if (runtime_ != nullptr && !stopped_) (void)stop();
}

Result<std::unique_ptr<HttpBlaster>> HttpBlaster::start(HttpBlastOptions options) {
  if (options.connections == 0 || options.domains.empty() || options.shards == 0) {
    return unexpected(Errc::invalid_argument, "connections, domains and shards must be at least 1");
  }
  if (options.batch == 0 || options.batch > 10'000) {
    return unexpected(Errc::invalid_argument, "the batch must be 1 to 10000 recipients");
  }
  if (options.message_count == 0 && options.duration == Clock::Duration::zero()) {
    return unexpected(Errc::invalid_argument, "give a message count or a duration");
  }
  const auto bad_field = [](std::string_view text) {
    return text.find_first_of("\r\n") != std::string_view::npos;
  };
  if (bad_field(options.host) || bad_field(options.path) || bad_field(options.api_key) ||
      options.path.empty() || options.path.front() != '/') {
    return unexpected(Errc::invalid_argument, "host, path or key unfit for an HTTP request");
  }
  options.shards =
      static_cast<std::uint32_t>(std::min<std::size_t>(options.shards, options.connections));
  auto blaster = std::make_unique<HttpBlaster>(std::move(options));
  const HttpBlastOptions& opts = blaster->options_;
  blaster->shared_ = std::make_unique<Shared>();
  Shared& shared = *blaster->shared_;
  shared.slot_count = opts.connections;
  shared.index_limit = opts.message_count == 0 ? UINT64_MAX : opts.message_count;
  if (opts.tag.empty()) {
    char tag[48];
    std::snprintf(tag, sizeof tag, "%llx.%d",
                  static_cast<unsigned long long>(
                      std::chrono::system_clock::now().time_since_epoch().count()),
                  static_cast<int>(::getpid()));
    shared.tag = tag;
  } else {
    shared.tag = opts.tag;
  }
  shared.head = concat({"POST ", opts.path, " HTTP/1.1\r\nHost: ", opts.host,
                        "\r\nContent-Type: application/json\r\n"});
  if (!opts.api_key.empty())
    shared.head += concat({"Authorization: Bearer ", opts.api_key, "\r\n"});
  shared.head += "Content-Length: ";

  engine::RuntimeOptions runtime_options;
  runtime_options.shard_count = opts.shards;
  runtime_options.pin_threads = false;  // the blaster shares the machine with what it measures
  runtime_options.drain_timeout = opts.reply_timeout;
  blaster->runtime_ = std::make_unique<engine::Runtime>(runtime_options);
  for (std::uint32_t i = 0; i < opts.shards; ++i) {
    const std::size_t slots =
        opts.connections / opts.shards + (i < opts.connections % opts.shards ? 1 : 0);
    blaster->shards_.push_back(std::make_unique<ShardState>(
        blaster->runtime_->shard(ShardId(i)), opts, shared, slots, opts.seed * 1000003 + i));
  }
  blaster->started_ = std::chrono::steady_clock::now();
  HttpBlaster* self = blaster.get();
  auto started = blaster->runtime_->start(
      [self](engine::Shard& shard) { self->shards_[shard.id().value()]->begin(); });
  if (!started) {
    blaster->runtime_.reset();  // no thread runs: nothing to wait for
    return unexpected(started.error());
  }
  return blaster;
}

HttpBlastTotals HttpBlaster::totals() const {
  HttpBlastTotals sum;
  for (const auto& shard : shards_) {
    const LiveCounters& live = shard->live();
    sum.begun += live.begun.load(std::memory_order_relaxed);
    sum.acknowledged += live.acknowledged.load(std::memory_order_relaxed);
    sum.rejected += live.rejected.load(std::memory_order_relaxed);
    sum.failed += live.failed.load(std::memory_order_relaxed);
    sum.requests += live.requests.load(std::memory_order_relaxed);
    sum.connections_open += live.connections_open.load(std::memory_order_relaxed);
  }
  return sum;
}

bool HttpBlaster::done() const {
  return shared_->slots_done.load(std::memory_order_relaxed) >= shared_->slot_count;
}

HttpBlastReport HttpBlaster::stop() {
  MTA_ASSERT(!stopped_);
  stopped_ = true;
  runtime_->request_stop();
  runtime_->wait();
  HttpBlastReport report;
  report.totals = totals();
  std::int64_t last_answer = 0;
  for (const auto& shard : shards_) {
    const HttpBlastReport& part = shard->stats();
    report.requests_acknowledged += part.requests_acknowledged;
    report.ids_returned += part.ids_returned;
    report.bytes_sent += part.bytes_sent;
    for (const auto& [code, count] : part.status_codes) report.status_codes[code] += count;
    report.connections_opened += part.connections_opened;
    report.connect_failures += part.connect_failures;
    report.connection_failures += part.connection_failures;
    report.server_closes += part.server_closes;
    report.latency.merge(part.latency);
    last_answer =
        std::max(last_answer, shard->live().last_answer_ns.load(std::memory_order_relaxed));
  }
  report.totals.connections_open = 0;
  const auto end = Clock::TimePoint(Clock::Duration(last_answer));
  report.elapsed = last_answer == 0 ? Clock::Duration::zero() : end - started_;
  return report;
}

namespace {

double ms(std::chrono::nanoseconds value) {
  return std::chrono::duration<double, std::milli>(value).count();
}

bool stop_signal_within(std::chrono::milliseconds wait) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  const timespec timeout{.tv_sec = 0, .tv_nsec = static_cast<long>(wait.count()) * 1'000'000};
  return ::sigtimedwait(&set, nullptr, &timeout) > 0;
}

unsigned long long ull(std::uint64_t value) { return static_cast<unsigned long long>(value); }

}  // namespace

Result<HttpBlastReport> run_http_blast(const HttpBlastOptions& options, bool progress) {
  engine::Runtime::block_stop_signals();
  auto blaster = HttpBlaster::start(options);
  if (!blaster) return unexpected(blaster.error());
  const auto began = std::chrono::steady_clock::now();
  auto next_progress = began + std::chrono::seconds(1);
  HttpBlastTotals previous;
  while (!(*blaster)->done()) {
    if (stop_signal_within(std::chrono::milliseconds(20))) break;
    const auto now = std::chrono::steady_clock::now();
    if (options.duration != Clock::Duration::zero() && now - began >= options.duration) break;
    if (progress && now >= next_progress) {
      const HttpBlastTotals totals = (*blaster)->totals();
      std::fprintf(stderr,
                   "\r\033[K%6.1fs  acknowledged %llu  %llu/s  requests %llu  rejected %llu  "
                   "failed %llu  connections %llu",
                   std::chrono::duration<double>(now - began).count(), ull(totals.acknowledged),
                   ull(totals.acknowledged - previous.acknowledged), ull(totals.requests),
                   ull(totals.rejected), ull(totals.failed), ull(totals.connections_open));
      previous = totals;
      next_progress += std::chrono::seconds(1);
    }
  }
  if (progress) std::fputs("\n", stderr);
  return (*blaster)->stop();
}

std::string format_text(const HttpBlastReport& report) {
  std::string out;
  char line[256];
  const auto& t = report.totals;
  std::snprintf(line, sizeof line,
                "messages: %llu acknowledged, %llu rejected, %llu failed (of %llu begun)\n",
                ull(t.acknowledged), ull(t.rejected), ull(t.failed), ull(t.begun));
  out += line;
  std::snprintf(line, sizeof line,
                "rate: %.0f messages/s acknowledged, %.0f requests/s, over %.2f s\n",
                report.acknowledged_per_second(), report.requests_per_second(),
                std::chrono::duration<double>(report.elapsed).count());
  out += line;
  std::snprintf(line, sizeof line, "requests: %llu sent, %llu answered 202 (%llu ids returned)\n",
                ull(t.requests), ull(report.requests_acknowledged), ull(report.ids_returned));
  out += line;
  std::snprintf(line, sizeof line,
                "latency per request (ms): p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n",
                ms(report.latency.percentile(0.5)), ms(report.latency.percentile(0.9)),
                ms(report.latency.percentile(0.99)), ms(report.latency.max()));
  out += line;
  out += "statuses:";
  for (const auto& [code, count] : report.status_codes) {
    out += concat({" ", std::to_string(code), "=", std::to_string(count)});
  }
  out += '\n';
  std::snprintf(line, sizeof line,
                "connections: %llu opened, %llu connect failures, %llu lost or broken, %llu "
                "closed by the server\n",
                ull(report.connections_opened), ull(report.connect_failures),
                ull(report.connection_failures), ull(report.server_closes));
  out += line;
  return out;
}

std::string format_json(const HttpBlastReport& report, const HttpBlastOptions& options) {
  http::JsonWriter json;
  json.begin_object();
  json.key("tool");
  json.value("blast");
  json.key("protocol");
  json.value("http");
  json.key("target");
  json.value(options.target.to_string());
  json.key("path");
  json.value(options.path);
  json.key("connections");
  json.value(options.connections);
  json.key("shards");
  json.value(options.shards);
  json.key("batch");
  json.value(options.batch);
  json.key("size");
  json.value(options.size.spec());
  json.key("domains");
  json.value(options.domains.size());
  json.key("elapsed_seconds");
  json.value(std::chrono::duration<double>(report.elapsed).count());
  json.key("messages_begun");
  json.value(report.totals.begun);
  json.key("messages_acknowledged");
  json.value(report.totals.acknowledged);
  json.key("messages_rejected");
  json.value(report.totals.rejected);
  json.key("messages_failed");
  json.value(report.totals.failed);
  json.key("acknowledged_per_second");
  json.value(report.acknowledged_per_second());
  json.key("requests_sent");
  json.value(report.totals.requests);
  json.key("requests_acknowledged");
  json.value(report.requests_acknowledged);
  json.key("requests_per_second");
  json.value(report.requests_per_second());
  json.key("ids_returned");
  json.value(report.ids_returned);
  json.key("bytes_sent");
  json.value(report.bytes_sent);
  json.key("status_codes");
  json.begin_object();
  for (const auto& [code, count] : report.status_codes) {
    json.key(std::to_string(code));
    json.value(count);
  }
  json.end_object();
  json.key("latency_ms");
  json.begin_object();
  json.key("p50");
  json.value(ms(report.latency.percentile(0.5)));
  json.key("p90");
  json.value(ms(report.latency.percentile(0.9)));
  json.key("p99");
  json.value(ms(report.latency.percentile(0.99)));
  json.key("max");
  json.value(ms(report.latency.max()));
  json.key("mean");
  json.value(ms(report.latency.mean()));
  json.end_object();
  json.key("connections_opened");
  json.value(report.connections_opened);
  json.key("connect_failures");
  json.value(report.connect_failures);
  json.key("connection_failures");
  json.value(report.connection_failures);
  json.key("server_closes");
  json.value(report.server_closes);
  json.end_object();
  return json.take() + "\n";
}

}  // namespace mta::loadgen
