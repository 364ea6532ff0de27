// Blaster: each shard owns a fixed set of connection slots. A slot keeps one SMTP client
// connection at a time: it claims the next message index from the counter all shards share
// (so a message count is met exactly and fast connections send more), builds that message,
// and begins the transaction as soon as the previous one ended. After
// messages_per_connection it QUITs and opens a new connection; a failed connect retries after
// 100 ms, up to connect_attempts_max times in a row. Each connection is a tls::Stream: plain,
// upgraded by STARTTLS, or TLS from the start, with the shard's ClientContext (its session
// cache lets a slot's next connection resume).
#include "loadgen/blaster.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <optional>
#include <variant>

#include "base/assert.h"
#include "base/concat.h"
#include "loadgen/errc.h"
#include "loadgen/message.h"
#include "loadgen/random.h"
#include "loadgen/tls_report.h"
#include "proto/http/json.h"
#include "proto/smtp/client_session.h"
#include "tls/context.h"
#include "tls/stream.h"

namespace mta::loadgen {

struct Blaster::Shared {
  std::atomic<std::uint64_t> next_index{0};
  std::atomic<std::size_t> slots_done{0};
  std::size_t slot_count = 0;
  std::uint64_t index_limit = UINT64_MAX;  // message_count, or no limit
  std::string tag;
  std::string date;  // RFC 5322 date of the run's start, in every message
};

namespace {

// Live counters of one shard: written by that shard only (relaxed), read by anyone.
struct alignas(64) LiveCounters {
  std::atomic<std::uint64_t> begun{0};
  std::atomic<std::uint64_t> acknowledged{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> connections_open{0};
  std::atomic<std::int64_t> last_final_ns{0};  // steady clock, of the latest final reply

  static void bump(std::atomic<std::uint64_t>& counter, std::int64_t by = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + static_cast<std::uint64_t>(by),
                  std::memory_order_relaxed);
  }
};

std::string rfc5322_date(Clock::WallTime now) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[64];
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S +0000", &utc);
  return text;
}

}  // namespace

class Blaster::ShardState {
 public:
  // `tls` is null unless options.tls is not BlastTls::none.
  ShardState(engine::Shard& shard, const BlastOptions& options, Shared& shared,
             std::unique_ptr<tls::ClientContext> tls, std::size_t slot_count, std::uint64_t seed);
  ~ShardState();

  void begin();  // on the shard: open every slot's first connection
  LiveCounters& live() { return live_; }
  const LiveCounters& live() const { return live_; }
  BlastReport& stats() { return stats_; }

  class Slot;

 private:
  friend class Slot;
  std::optional<std::uint64_t> claim();
  void slot_done() { shared_.slots_done.fetch_add(1, std::memory_order_relaxed); }
  void on_stop();

  engine::Shard& shard_;
  const BlastOptions& options_;
  Shared& shared_;
  SplitMix64 random_;
  std::unique_ptr<tls::ClientContext> tls_;  // declared before slots_: their sessions use it
  std::string tls_cache_key_;                // the target address
  std::vector<std::unique_ptr<Slot>> slots_;
  LiveCounters live_;
  BlastReport stats_;  // shard-only until the runtime has stopped
  std::string message_;
  bool stopping_ = false;
};

// One connection slot. Lives as long as its ShardState; connections come and go under it, one
// at a time, each through a fresh tls::Stream. A Stream must outlive its connection: the old
// one is replaced only in open(), which runs from a shard task after its on_closed returned.
class Blaster::ShardState::Slot final : public tls::StreamHandler {
 public:
  explicit Slot(ShardState& owner) : owner_(owner) {}

  void open() {
    session_.emplace(smtp::ClientOptions{.helo_name = owner_.options_.helo_name,
                                         .reply_limits = {},
                                         .use_pipelining = owner_.options_.pipelining,
                                         .starttls = owner_.options_.tls == BlastTls::starttls,
                                         .auth_plain = owner_.options_.auth_plain});
    ready_ = false;
    in_transaction_ = false;
    quitting_ = false;
    sent_here_ = 0;
    owner_.shard_.hold();
    ++owner_.stats_.connections_opened;
    LiveCounters::bump(owner_.live_.connections_open);
    open_ = true;
    stream_.emplace(*this);
    stream_->connect(owner_.shard_, owner_.options_.target, owner_.options_.connect_timeout);
  }

  bool idle() const { return open_ && ready_ && !in_transaction_ && !quitting_; }
  void quit() {
    if (!open_ || quitting_) return;
    quitting_ = true;
    session_->quit();
    flush();
  }

  void on_connected(int error) override {
    if (error != 0) return;  // on_closed follows
    stream_->set_idle_timeout(owner_.options_.reply_timeout);
    if (owner_.options_.tls == BlastTls::implicit) start_tls();
  }

  void on_data(Buffer& input) override {
    (void)session_->on_bytes(input.readable());  // a failure arrives as SessionFailed
    input.consume(input.size());
    drive();
  }

  void on_tls_ready(const Result<void>& result) override {
    if (!result) {
      ++owner_.stats_.tls_failures;
      return;  // the stream closes; on_closed follows
    }
    ++owner_.stats_.tls_sessions;
    if (const tls::Info* info = stream_->tls_info(); info != nullptr && info->resumed) {
      ++owner_.stats_.tls_resumed;
    }
    // STARTTLS: the session says EHLO again; implicit TLS: the greeting is still to come.
    if (owner_.options_.tls == BlastTls::starttls) session_->tls_started();
    drive();
  }

  void on_closed(int /*error*/) override {
    open_ = false;
    LiveCounters::bump(owner_.live_.connections_open, -1);
    if (in_transaction_) lose_transaction(0);
    if (ready_) {
      failed_connects_ = 0;
    } else {
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
        ready_ ? Clock::Duration::zero() : Clock::Duration(std::chrono::milliseconds(100));
    owner_.shard_.schedule(delay, [this] {
      if (owner_.stopping_) {
        owner_.slot_done();
      } else {
        open();
      }
    });
  }

 private:
  void start_tls() {
    // No SNI: the target is a numeric address. The certificate is not verified.
    auto started = stream_->start_tls_client(*owner_.tls_, "", owner_.tls_cache_key_,
                                             owner_.options_.connect_timeout);
    if (!started) {
      ++owner_.stats_.tls_failures;
      stream_->close();
    }
  }

  void drive() {
    while (auto event = session_->next_event()) {
      if (std::holds_alternative<smtp::SessionReady>(*event)) {
        ready_ = true;
        next();
      } else if (std::holds_alternative<smtp::StartTlsAccepted>(*event)) {
        flush();  // what is still unsent goes out in plaintext, before the ClientHello
        start_tls();
        return;  // on_tls_ready() resumes
      } else if (auto* recipient = std::get_if<smtp::RecipientResult>(&*event)) {
        ++owner_.stats_.recipient_codes[recipient->reply.code];
        if (recipient->reply.positive()) {
          ++owner_.stats_.recipients_accepted;
        } else {
          ++owner_.stats_.recipients_rejected;
        }
      } else if (auto* result = std::get_if<smtp::TransactionResult>(&*event)) {
        finish_transaction(*result);
        next();
      } else if (auto* failed = std::get_if<smtp::SessionFailed>(&*event)) {
        ++owner_.stats_.session_failures;
        if (in_transaction_) lose_transaction(failed->reply.code);
        if (open_) stream_->close();
        return;
      } else if (std::holds_alternative<smtp::SessionClosed>(*event)) {
        if (open_) stream_->close();
        return;
      }
    }
    flush();
  }

  void next() {
    // A failure may be queued right behind the last result (a 421 in the same read).
    if (!open_ || quitting_ || !session_->ready_for_transaction()) return;
    const std::uint64_t per_connection = owner_.options_.messages_per_connection;
    if (owner_.stopping_ || (per_connection != 0 && sent_here_ >= per_connection)) {
      quit();
      return;
    }
    const auto index = owner_.claim();
    if (!index) {
      exhausted_ = true;
      quit();
      return;
    }
    const BlastOptions& options = owner_.options_;
    const std::size_t count = options.recipients_per_message;
    smtp::Envelope envelope{.mail_from = options.mail_from, .recipients = {}};
    envelope.recipients.reserve(count);
    for (std::size_t r = 0; r < count; ++r) {
      const std::string& domain = options.domains[(*index * count + r) % options.domains.size()];
      envelope.recipients.push_back(
          concat({"r", std::to_string(r), ".", std::to_string(*index), "@", domain}));
    }
    message_bytes_ = options.size.sample(owner_.random_);
    build_message(MessageSpec{.index = *index,
                              .tag = owner_.shared_.tag,
                              .from = options.mail_from,
                              .to = envelope.recipients.front(),
                              .date = owner_.shared_.date,
                              .size_bytes = message_bytes_},
                  owner_.message_);
    message_bytes_ = owner_.message_.size();
    // Ready (checked above), and the generated addresses hold no line break.
    const Result<void> begun = session_->begin_transaction(envelope, owner_.message_);
    MTA_ASSERT(begun.has_value());
    in_transaction_ = true;
    started_at_ = owner_.shard_.clock().now();
    LiveCounters::bump(owner_.live_.begun);
  }

  void finish_transaction(const smtp::TransactionResult& result) {
    in_transaction_ = false;
    ++sent_here_;
    ++owner_.stats_.message_codes[result.reply.code];
    const Clock::TimePoint now = owner_.shard_.clock().now();
    if (result.delivered) {
      owner_.stats_.latency.record(now - started_at_);
      owner_.stats_.bytes_acknowledged += message_bytes_;
      LiveCounters::bump(owner_.live_.acknowledged);
    } else {
      LiveCounters::bump(owner_.live_.rejected);
    }
    owner_.live_.last_final_ns.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  }

  // The connection ended in the middle of a message: it is neither acknowledged nor refused.
  void lose_transaction(int code) {
    in_transaction_ = false;
    if (code != 0) ++owner_.stats_.message_codes[code];
    LiveCounters::bump(owner_.live_.failed);
  }

  void flush() {
    if (open_) stream_->write_from(*session_);
  }

  ShardState& owner_;
  std::optional<smtp::ClientSession> session_;
  std::optional<tls::Stream> stream_;  // the current connection's, kept until the next open()
  bool open_ = false;                  // from open() to on_closed()
  Clock::TimePoint started_at_{};
  std::uint64_t message_bytes_ = 0;
  std::uint64_t sent_here_ = 0;
  std::uint32_t failed_connects_ = 0;
  bool ready_ = false;
  bool in_transaction_ = false;
  bool quitting_ = false;
  bool exhausted_ = false;
};

Blaster::ShardState::ShardState(engine::Shard& shard, const BlastOptions& options, Shared& shared,
                                std::unique_ptr<tls::ClientContext> tls, std::size_t slot_count,
                                std::uint64_t seed)
    : shard_(shard),
      options_(options),
      shared_(shared),
      random_(seed),
      tls_(std::move(tls)),
      tls_cache_key_(options.target.to_string()) {
  MTA_ASSERT((tls_ != nullptr) == (options.tls != BlastTls::none));
  for (std::size_t i = 0; i < slot_count; ++i) slots_.push_back(std::make_unique<Slot>(*this));
}

Blaster::ShardState::~ShardState() = default;

void Blaster::ShardState::begin() {
  shard_.on_stop([this] { on_stop(); });
  for (auto& slot : slots_) slot->open();
}

std::optional<std::uint64_t> Blaster::ShardState::claim() {
  const std::uint64_t index = shared_.next_index.fetch_add(1, std::memory_order_relaxed);
  if (index >= shared_.index_limit) return std::nullopt;
  return index;
}

void Blaster::ShardState::on_stop() {
  stopping_ = true;
  for (auto& slot : slots_) {
    if (slot->idle()) slot->quit();
  }
}

std::string_view to_string(BlastTls tls) {
  switch (tls) {
    case BlastTls::none:
      return "none";
    case BlastTls::starttls:
      return "starttls";
    case BlastTls::implicit:
      return "implicit";
  }
  return "none";
}

double BlastReport::acknowledged_per_second() const {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  return seconds > 0 ? static_cast<double>(totals.acknowledged) / seconds : 0;
}

Blaster::Blaster(BlastOptions options) : options_(std::move(options)) {}

Blaster::~Blaster() {
  if (runtime_ != nullptr && !stopped_) (void)stop();
}

Result<std::unique_ptr<Blaster>> Blaster::start(BlastOptions options) {
  if (options.connections == 0 || options.recipients_per_message == 0 || options.domains.empty() ||
      options.shards == 0) {
    return unexpected(Errc::invalid_argument,
                      "connections, recipients, domains and shards must be at least 1");
  }
  if (options.message_count == 0 && options.duration == Clock::Duration::zero()) {
    return unexpected(Errc::invalid_argument, "give a message count or a duration");
  }
  options.shards =
      static_cast<std::uint32_t>(std::min<std::size_t>(options.shards, options.connections));
  auto blaster = std::make_unique<Blaster>(std::move(options));
  const BlastOptions& opts = blaster->options_;
  blaster->shared_ = std::make_unique<Shared>();
  Shared& shared = *blaster->shared_;
  shared.slot_count = opts.connections;
  shared.index_limit = opts.message_count == 0 ? UINT64_MAX : opts.message_count;
  const Clock::WallTime wall = std::chrono::system_clock::now();
  shared.date = rfc5322_date(wall);
  if (opts.tag.empty()) {
    char tag[48];
    std::snprintf(tag, sizeof tag, "%llx.%d",
                  static_cast<unsigned long long>(wall.time_since_epoch().count()),
                  static_cast<int>(::getpid()));
    shared.tag = tag;
  } else {
    shared.tag = opts.tag;
  }

  engine::RuntimeOptions runtime_options;
  runtime_options.shard_count = opts.shards;
  runtime_options.pin_threads = false;  // the blaster shares the machine with what it measures
  runtime_options.drain_timeout = opts.reply_timeout;
  blaster->runtime_ = std::make_unique<engine::Runtime>(runtime_options);
  for (std::uint32_t i = 0; i < opts.shards; ++i) {
    const std::size_t slots =
        opts.connections / opts.shards + (i < opts.connections % opts.shards ? 1 : 0);
    // One TLS client context per shard: contexts and their session caches are not shared.
    std::unique_ptr<tls::ClientContext> tls_context;
    if (opts.tls != BlastTls::none) {
      auto created = tls::ClientContext::create(tls::ClientOptions{.verify = tls::Verify::none});
      if (!created) return unexpected(created.error());
      tls_context = std::move(created).value();
    }
    blaster->shards_.push_back(std::make_unique<ShardState>(blaster->runtime_->shard(ShardId(i)),
                                                            opts, shared, std::move(tls_context),
                                                            slots, opts.seed * 1000003 + i));
  }
  blaster->started_ = std::chrono::steady_clock::now();
  Blaster* self = blaster.get();
  auto started = blaster->runtime_->start(
      [self](engine::Shard& shard) { self->shards_[shard.id().value()]->begin(); });
  if (!started) {
    blaster->runtime_.reset();  // no thread runs: nothing to wait for
    return unexpected(started.error());
  }
  return blaster;
}

BlastTotals Blaster::totals() const {
  BlastTotals sum;
  for (const auto& shard : shards_) {
    const LiveCounters& live = shard->live();
    sum.begun += live.begun.load(std::memory_order_relaxed);
    sum.acknowledged += live.acknowledged.load(std::memory_order_relaxed);
    sum.rejected += live.rejected.load(std::memory_order_relaxed);
    sum.failed += live.failed.load(std::memory_order_relaxed);
    sum.connections_open += live.connections_open.load(std::memory_order_relaxed);
  }
  return sum;
}

bool Blaster::done() const {
  return shared_->slots_done.load(std::memory_order_relaxed) >= shared_->slot_count;
}

BlastReport Blaster::stop() {
  MTA_ASSERT(!stopped_);
  stopped_ = true;
  runtime_->request_stop();
  runtime_->wait();
  BlastReport report;
  report.totals = totals();
  std::int64_t last_final = 0;
  for (const auto& shard : shards_) {
    const BlastReport& part = shard->stats();
    report.recipients_accepted += part.recipients_accepted;
    report.recipients_rejected += part.recipients_rejected;
    report.bytes_acknowledged += part.bytes_acknowledged;
    for (const auto& [code, count] : part.message_codes) report.message_codes[code] += count;
    for (const auto& [code, count] : part.recipient_codes) report.recipient_codes[code] += count;
    report.connections_opened += part.connections_opened;
    report.connect_failures += part.connect_failures;
    report.session_failures += part.session_failures;
    report.tls_sessions += part.tls_sessions;
    report.tls_resumed += part.tls_resumed;
    report.tls_failures += part.tls_failures;
    report.latency.merge(part.latency);
    last_final = std::max(last_final, shard->live().last_final_ns.load(std::memory_order_relaxed));
  }
  report.totals.connections_open = 0;
  const auto end = Clock::TimePoint(Clock::Duration(last_final));
  report.elapsed = last_final == 0 ? Clock::Duration::zero() : end - started_;
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

}  // namespace

Result<BlastReport> run_blast(const BlastOptions& options, bool progress) {
  engine::Runtime::block_stop_signals();
  auto blaster = Blaster::start(options);
  if (!blaster) return unexpected(blaster.error());
  const auto began = std::chrono::steady_clock::now();
  auto next_progress = began + std::chrono::seconds(1);
  BlastTotals previous;
  while (!(*blaster)->done()) {
    if (stop_signal_within(std::chrono::milliseconds(20))) break;
    const auto now = std::chrono::steady_clock::now();
    if (options.duration != Clock::Duration::zero() && now - began >= options.duration) break;
    if (progress && now >= next_progress) {
      const BlastTotals totals = (*blaster)->totals();
      std::fprintf(stderr,
                   "\r\033[K%6.1fs  acknowledged %llu  %llu/s  rejected %llu  failed %llu  "
                   "connections %llu",
                   std::chrono::duration<double>(now - began).count(),
                   static_cast<unsigned long long>(totals.acknowledged),
                   static_cast<unsigned long long>(totals.acknowledged - previous.acknowledged),
                   static_cast<unsigned long long>(totals.rejected),
                   static_cast<unsigned long long>(totals.failed),
                   static_cast<unsigned long long>(totals.connections_open));
      previous = totals;
      next_progress += std::chrono::seconds(1);
    }
  }
  if (progress) std::fputs("\n", stderr);
  return (*blaster)->stop();
}

std::string format_text(const BlastReport& report) {
  std::string out;
  char line[256];
  const auto& t = report.totals;
  std::snprintf(
      line, sizeof line,
      "messages: %llu acknowledged, %llu rejected, %llu failed (of %llu begun)\n",
      static_cast<unsigned long long>(t.acknowledged), static_cast<unsigned long long>(t.rejected),
      static_cast<unsigned long long>(t.failed), static_cast<unsigned long long>(t.begun));
  out += line;
  std::snprintf(line, sizeof line, "rate: %.0f messages/s acknowledged over %.2f s\n",
                report.acknowledged_per_second(),
                std::chrono::duration<double>(report.elapsed).count());
  out += line;
  std::snprintf(line, sizeof line, "recipients: %llu accepted, %llu rejected\n",
                static_cast<unsigned long long>(report.recipients_accepted),
                static_cast<unsigned long long>(report.recipients_rejected));
  out += line;
  std::snprintf(line, sizeof line, "latency (ms): p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n",
                ms(report.latency.percentile(0.5)), ms(report.latency.percentile(0.9)),
                ms(report.latency.percentile(0.99)), ms(report.latency.max()));
  out += line;
  const auto codes = [&out](std::string_view name, const std::map<int, std::uint64_t>& map) {
    out += name;
    for (const auto& [code, count] : map) {
      out += concat({" ", std::to_string(code), "=", std::to_string(count)});
    }
    out += '\n';
  };
  codes("message replies:", report.message_codes);
  codes("recipient replies:", report.recipient_codes);
  std::snprintf(line, sizeof line,
                "connections: %llu opened, %llu connect failures, %llu session failures\n",
                static_cast<unsigned long long>(report.connections_opened),
                static_cast<unsigned long long>(report.connect_failures),
                static_cast<unsigned long long>(report.session_failures));
  out += line;
  out += tls_summary_line(report.tls_sessions, report.tls_resumed, report.tls_failures);
  return out;
}

std::string format_json(const BlastReport& report, const BlastOptions& options) {
  http::JsonWriter json;
  json.begin_object();
  json.key("tool");
  json.value("blast");
  json.key("target");
  json.value(options.target.to_string());
  json.key("connections");
  json.value(options.connections);
  json.key("shards");
  json.value(options.shards);
  json.key("pipelining");
  json.value(options.pipelining);
  json.key("tls");
  json.value(to_string(options.tls));
  json.key("size");
  json.value(options.size.spec());
  json.key("recipients_per_message");
  json.value(options.recipients_per_message);
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
  json.key("bytes_acknowledged");
  json.value(report.bytes_acknowledged);
  json.key("recipients_accepted");
  json.value(report.recipients_accepted);
  json.key("recipients_rejected");
  json.value(report.recipients_rejected);
  const auto codes = [&json](std::string_view name, const std::map<int, std::uint64_t>& map) {
    json.key(name);
    json.begin_object();
    for (const auto& [code, count] : map) {
      json.key(std::to_string(code));
      json.value(count);
    }
    json.end_object();
  };
  codes("message_codes", report.message_codes);
  codes("recipient_codes", report.recipient_codes);
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
  json.key("session_failures");
  json.value(report.session_failures);
  write_tls_json(json, report.tls_sessions, report.tls_resumed, report.tls_failures);
  json.end_object();
  return json.take() + "\n";
}

}  // namespace mta::loadgen
