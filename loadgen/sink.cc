// Sink: each shard accepts on its own SO_REUSEPORT socket and runs one ServerSession per
// connection. RCPT verdicts come from the check_recipient hook; after DATA (or BDAT LAST) the
// session stops reading, draws the message's verdict, waits the added latency on a shard timer,
// answers, and resumes. Only counts are kept: a Message-ID is kept as a 64-bit hash. Each
// connection is a tls::Stream; with TLS on, every shard has its own ServerContext, all with the
// same session ticket keys so a client resumes whichever shard accepts it.
#include "loadgen/sink.h"

#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>

#include "base/assert.h"
#include "base/concat.h"
#include "engine/listener.h"
#include "loadgen/errc.h"
#include "loadgen/message.h"
#include "loadgen/random.h"
#include "loadgen/svg.h"
#include "loadgen/tls_report.h"
#include "proto/http/json.h"
#include "proto/smtp/server_session.h"
#include "tls/certificate.h"
#include "tls/context.h"
#include "tls/stream.h"

namespace mta::loadgen {

// Connection counts are the one figure that needs every shard at once (the most open at the
// same time), so they are shared atomics; connections open and close rarely next to messages.
struct Sink::Shared {
  std::atomic<std::uint64_t> connections_open{0};
  std::atomic<std::uint64_t> connections_max{0};
  std::atomic<std::uint64_t> connections_total{0};

  void opened() {
    const std::uint64_t now = connections_open.fetch_add(1, std::memory_order_relaxed) + 1;
    connections_total.fetch_add(1, std::memory_order_relaxed);
    std::uint64_t seen = connections_max.load(std::memory_order_relaxed);
    while (now > seen &&
           !connections_max.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
    }
  }
  void closed() { connections_open.fetch_sub(1, std::memory_order_relaxed); }
};

namespace {

// Written by one shard only (relaxed), read by anyone.
struct alignas(64) SinkCounters {
  std::atomic<std::uint64_t> messages{0};
  std::atomic<std::uint64_t> recipients{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> recipients_refused{0};
  std::atomic<std::int64_t> first_message_ns{0};  // steady clock; 0 = none yet
  std::atomic<std::int64_t> last_message_ns{0};

  static void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }
};

// FNV-1a, 64 bits: distinct ids stay distinct with probability 1 - n^2 / 2^65.
std::uint64_t hash_id(std::string_view id) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : id) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

}  // namespace

class Sink::ShardState {
 public:
  // `tls` is null unless options.starttls or options.implicit_tls.
  ShardState(engine::Shard& shard, const SinkOptions& options, Shared& shared, int listen_fd,
             std::unique_ptr<tls::ServerContext> tls, std::uint64_t seed)
      : shard_(shard),
        options_(options),
        shared_(shared),
        listen_fd_(listen_fd),
        random_(seed),
        tls_(std::move(tls)) {}
  ~ShardState() {
    if (listen_fd_ >= 0) ::close(listen_fd_);  // start() failed before begin()
  }

  void begin() {
    shard_.on_stop([this] { on_stop(); });
    const int fd = std::exchange(listen_fd_, -1);
    shard_.listen(
        fd, [this](int accepted, const engine::SocketAddress& /*peer*/) { on_accept(accepted); });
  }

  const SinkCounters& counters() const { return counters_; }
  void add_to(SinkReport& report, std::unordered_set<std::uint64_t>& ids) const {
    report.messages_without_id += messages_without_id_;
    report.messages_dkim_signed += messages_dkim_signed_;
    report.messages_bdat += messages_bdat_;
    report.rejected_temporary += rejected_temporary_;
    report.rejected_permanent += rejected_permanent_;
    report.disconnects += disconnects_;
    report.tls_sessions += tls_sessions_;
    report.tls_resumed += tls_resumed_;
    report.tls_failures += tls_failures_;
    report.recipients_refused_temporary += recipients_refused_temporary_;
    report.recipients_refused_permanent += recipients_refused_permanent_;
    for (const auto& [domain, count] : per_domain_) report.recipients_per_domain[domain] += count;
    for (const auto& [messages, count] : per_connection_) {
      report.messages_per_connection[messages] += count;
    }
    ids.insert(ids_.begin(), ids_.end());
  }

  class Session;

 private:
  friend class Session;

  void on_accept(int fd);
  void on_session_closed(std::uint64_t id, std::uint64_t accepted) {
    shared_.closed();
    ++per_connection_[accepted];
    shard_.defer([this, id] { sessions_.erase(id); });
  }
  void on_stop();
  std::optional<std::string> check_recipient(std::string_view recipient);
  void count_accepted(const smtp::MessageReceived& message);

  engine::Shard& shard_;
  const SinkOptions& options_;
  Shared& shared_;
  int listen_fd_;
  SplitMix64 random_;
  SinkCounters counters_;
  std::unique_ptr<tls::ServerContext> tls_;  // declared before sessions_: they use it
  std::unordered_map<std::uint64_t, std::unique_ptr<Session>> sessions_;
  std::uint64_t next_session_id_ = 1;
  std::uint64_t next_queue_id_ = 1;
  // Shard-only until the runtime has stopped.
  std::unordered_set<std::uint64_t> ids_;
  std::unordered_map<std::string, std::uint64_t> per_domain_;
  std::map<std::uint64_t, std::uint64_t> per_connection_;
  std::uint64_t messages_without_id_ = 0;
  std::uint64_t messages_dkim_signed_ = 0;
  std::uint64_t messages_bdat_ = 0;
  std::uint64_t rejected_temporary_ = 0;
  std::uint64_t rejected_permanent_ = 0;
  std::uint64_t disconnects_ = 0;
  std::uint64_t recipients_refused_temporary_ = 0;
  std::uint64_t recipients_refused_permanent_ = 0;
  std::uint64_t tls_sessions_ = 0;
  std::uint64_t tls_resumed_ = 0;
  std::uint64_t tls_failures_ = 0;
};

// One SMTP connection. Lives in ShardState::sessions_ from accept until its stream's
// on_closed; erased at the end of that loop turn. Holds the shard's drain gate meanwhile.
class Sink::ShardState::Session final : public tls::StreamHandler {
 public:
  Session(ShardState& owner, std::uint64_t id, int fd)
      : owner_(owner), id_(id), smtp_(server_options(owner)), stream_(*this) {
    smtp_.check_recipient = [this](std::string_view recipient) {
      return owner_.check_recipient(recipient);
    };
    owner_.shard_.hold();
    owner_.shared_.opened();
    stream_.adopt(owner_.shard_, fd);
    if (owner_.options_.implicit_tls) {
      // The greeting written below waits in the stream until the handshake is done.
      if (!stream_.start_tls_server(*owner_.tls_, owner_.options_.tls_handshake_timeout)) {
        ++owner_.tls_failures_;
        stream_.abort();
        return;
      }
    }
    stream_.set_idle_timeout(owner_.options_.idle_timeout);
    flush();
  }

  void on_tls_ready(const Result<void>& result) override {
    if (!result) {
      ++owner_.tls_failures_;
      return;  // the stream closes; on_closed follows
    }
    ++owner_.tls_sessions_;
    if (const tls::Info* info = stream_.tls_info(); info != nullptr && info->resumed) {
      ++owner_.tls_resumed_;
    }
    // Implicit TLS: the session was TLS from the start; STARTTLS: it starts over now.
    if (!smtp_.tls()) smtp_.tls_started();
    drive();
  }

  void on_data(Buffer& input) override {
    smtp_.on_bytes(input.readable());
    input.consume(input.size());
    drive();
    // A client that pipelines without reading our replies must not grow our output unbounded.
    if (open_ && !output_paused_ && stream_.output_pending() > 256 * 1024) {
      output_paused_ = true;
      stream_.pause_reading();
    }
  }

  void on_drained() override {
    if (open_ && output_paused_) {
      output_paused_ = false;
      if (!smtp_.awaiting_decision()) stream_.resume_reading();
    }
  }

  void on_closed(int /*error*/) override {
    open_ = false;
    owner_.shard_.cancel_timer(latency_timer_);
    owner_.shard_.release();
    owner_.on_session_closed(id_, accepted_);
  }

  // Stop requested: idle sessions are told 421 and closed; one awaiting its verdict finishes.
  void on_stop() {
    stopping_ = true;
    if (open_ && !smtp_.awaiting_decision()) {
      stream_.write(concat({"421 4.3.2 ", owner_.options_.hostname, " Service shutting down\r\n"}));
      stream_.close();
    }
  }

  // The verdict on the message held since MessageReceived, after the added latency.
  void decide() {
    latency_timer_ = 0;
    if (!open_) return;
    const DataVerdict verdict = verdict_;
    std::string reply;
    switch (verdict) {
      case DataVerdict::accept:
        ++accepted_;
        owner_.count_accepted(pending_);
        reply = concat({"250 2.0.0 Ok: queued as ", std::to_string(owner_.next_queue_id_++)});
        break;
      case DataVerdict::temporary:
        ++owner_.rejected_temporary_;
        reply = "451 4.3.0 Error: bench sink deferred this message";
        break;
      case DataVerdict::permanent:
        ++owner_.rejected_permanent_;
        reply = "554 5.6.0 Error: bench sink refused this message";
        break;
      case DataVerdict::disconnect:
        ++owner_.disconnects_;
        reply = concat({"421 4.3.2 ", owner_.options_.hostname, " bench sink closing connection"});
        break;
    }
    if (verdict != DataVerdict::accept) SinkCounters::bump(owner_.counters_.rejected);
    pending_ = {};
    smtp_.complete_message(reply);
    if (verdict == DataVerdict::disconnect) {
      flush();
      stream_.close();
      return;
    }
    if (!output_paused_) stream_.resume_reading();
    drive();
  }

 private:
  static smtp::ServerOptions server_options(const ShardState& owner) {
    const SinkOptions& options = owner.options_;
    smtp::ServerOptions server;
    server.hostname = options.hostname;
    server.pipelining = options.pipelining;
    server.chunking = options.chunking;
    server.starttls = options.starttls && owner.tls_ != nullptr;
    server.tls = options.implicit_tls;
    server.limits.recipients_max = 100000;
    // A DATA after every RCPT was refused by the mix is answered 554 and counts as a client
    // error; a load generator meets that thousands of times per connection.
    server.limits.errors_max = 1'000'000'000;
    return server;
  }

  void drive() {
    while (auto event = smtp_.next_event()) {
      if (auto* message = std::get_if<smtp::MessageReceived>(&*event)) {
        if (open_) stream_.pause_reading();
        pending_ = std::move(*message);
        verdict_ = owner_.options_.mix.choose_data(owner_.random_);
        // The verdict runs later (after the latency, or at the end of this loop turn so that
        // pipelined messages do not recurse), and finds the session by id: it may be gone.
        ShardState& owner = owner_;
        auto task = [&owner, id = id_] {
          if (auto found = owner.sessions_.find(id); found != owner.sessions_.end()) {
            found->second->decide();
          }
        };
        if (owner_.options_.latency > Clock::Duration::zero()) {
          latency_timer_ = owner_.shard_.schedule(owner_.options_.latency, std::move(task));
        } else {
          owner_.shard_.defer(std::move(task));
        }
        break;  // nothing more comes until the verdict
      } else if (std::holds_alternative<smtp::StartTlsRequested>(*event)) {
        flush();  // the 220 goes out in plaintext; what the client sent after STARTTLS is gone
        if (!open_) return;
        if (!stream_.start_tls_server(*owner_.tls_, owner_.options_.tls_handshake_timeout)) {
          ++owner_.tls_failures_;
          stream_.close();
        }
        return;  // on_tls_ready() resumes
      }
    }
    flush();
    if (open_ && smtp_.ended()) {
      stream_.close();
    } else if (open_ && stopping_ && !smtp_.awaiting_decision()) {
      on_stop();
    }
  }

  void flush() {
    if (open_) stream_.write_from(smtp_);
  }

  ShardState& owner_;
  const std::uint64_t id_;
  smtp::ServerSession smtp_;
  tls::Stream stream_;
  bool open_ = true;  // until on_closed
  smtp::MessageReceived pending_;
  DataVerdict verdict_ = DataVerdict::accept;
  engine::TimerId latency_timer_ = 0;
  std::uint64_t accepted_ = 0;
  bool output_paused_ = false;
  bool stopping_ = false;
};

void Sink::ShardState::on_accept(int fd) {
  if (shard_.stopping() || sessions_.size() >= options_.sessions_max) {
    static constexpr std::string_view busy = "421 4.3.2 Too many connections, try later\r\n";
    (void)!::write(fd, busy.data(), busy.size());  // best effort on a fresh socket
    ::close(fd);
    return;
  }
  const std::uint64_t id = next_session_id_++;
  sessions_.emplace(id, std::make_unique<Session>(*this, id, fd));
}

void Sink::ShardState::on_stop() {
  for (auto& [id, session] : sessions_) session->on_stop();
}

std::optional<std::string> Sink::ShardState::check_recipient(std::string_view recipient) {
  switch (options_.mix.choose_rcpt(random_)) {
    case RcptVerdict::accept:
      return std::nullopt;
    case RcptVerdict::temporary:
      ++recipients_refused_temporary_;
      SinkCounters::bump(counters_.recipients_refused);
      return concat({"450 4.2.1 <", recipient, ">: bench sink: mailbox busy"});
    case RcptVerdict::permanent:
      ++recipients_refused_permanent_;
      SinkCounters::bump(counters_.recipients_refused);
      return concat({"550 5.1.1 <", recipient, ">: bench sink: user unknown"});
  }
  return std::nullopt;
}

void Sink::ShardState::count_accepted(const smtp::MessageReceived& message) {
  if (auto id = find_message_id(message.body)) {
    ids_.insert(hash_id(*id));
  } else {
    ++messages_without_id_;
  }
  if (find_header(message.body, "dkim-signature")) ++messages_dkim_signed_;
  if (message.chunked) ++messages_bdat_;
  for (const auto& recipient : message.recipients) ++per_domain_[recipient_domain(recipient)];
  const std::int64_t now = shard_.clock().now().time_since_epoch().count();
  if (counters_.first_message_ns.load(std::memory_order_relaxed) == 0) {
    counters_.first_message_ns.store(now, std::memory_order_relaxed);
  }
  counters_.last_message_ns.store(now, std::memory_order_relaxed);
  SinkCounters::bump(counters_.recipients, message.recipients.size());
  SinkCounters::bump(counters_.bytes, message.body.size());
  SinkCounters::bump(counters_.messages);  // last: a reader that sees it sees the rest
}

double SinkReport::messages_per_second() const {
  const double window = std::chrono::duration<double>(last_message - first_message).count();
  if (totals.messages < 2 || window <= 0) return 0;
  return static_cast<double>(totals.messages - 1) / window;
}

Sink::Sink(SinkOptions options) : options_(std::move(options)) {}

namespace {

// Removes a directory tree when it goes out of scope (the self-signed key's temporary home).
class RemoveOnExit {
 public:
  explicit RemoveOnExit(std::string path) : path_(std::move(path)) {}
  RemoveOnExit(const RemoveOnExit&) = delete;
  RemoveOnExit& operator=(const RemoveOnExit&) = delete;
  ~RemoveOnExit() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }

 private:
  std::string path_;
};

// One ServerContext per shard from the same files, all with the first one's ticket keys.
// Without files, a self-signed certificate for the host name, made in a temporary directory
// that is gone when this returns (the contexts hold the key in memory).
Result<std::vector<std::unique_ptr<tls::ServerContext>>> server_contexts(
    const SinkOptions& options) {
  if (options.cert_file.empty() != options.key_file.empty()) {
    return unexpected(Errc::invalid_argument, "give both a certificate and a key, or neither");
  }
  std::string cert_file = options.cert_file, key_file = options.key_file;
  std::string temp_dir;
  if (cert_file.empty()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "outpost-sink-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return unexpected(std::error_code(errno, std::generic_category()), "mkdtemp " + pattern);
    }
    temp_dir = pattern;
    cert_file = temp_dir + "/cert.pem";
    key_file = temp_dir + "/key.pem";
  }
  const RemoveOnExit cleanup(temp_dir);
  if (!temp_dir.empty()) {
    if (auto made = tls::generate_self_signed(options.hostname, cert_file, key_file); !made) {
      return unexpected(made.error());
    }
  }
  std::vector<std::unique_ptr<tls::ServerContext>> contexts;
  std::string ticket_keys;
  for (std::uint32_t i = 0; i < options.shards; ++i) {
    auto context = tls::ServerContext::load(cert_file, key_file);
    if (!context) return unexpected(context.error());
    if (i == 0) {
      ticket_keys = (*context)->ticket_keys();
    } else if (auto keys = (*context)->set_ticket_keys(ticket_keys); !keys) {
      return unexpected(keys.error());
    }
    contexts.push_back(std::move(context).value());
  }
  return contexts;
}

}  // namespace

Sink::~Sink() {
  if (runtime_ != nullptr && !stopped_) (void)stop();
}

Result<std::unique_ptr<Sink>> Sink::start(SinkOptions options) {
  if (options.shards == 0) return unexpected(Errc::invalid_argument, "shards must be at least 1");
  auto sink = std::make_unique<Sink>(std::move(options));
  const SinkOptions& opts = sink->options_;
  sink->shared_ = std::make_unique<Shared>();
  std::vector<std::unique_ptr<tls::ServerContext>> tls_contexts;
  if (opts.starttls || opts.implicit_tls) {
    auto contexts = server_contexts(opts);
    if (!contexts) return unexpected(contexts.error());
    tls_contexts = std::move(contexts).value();
  }

  // One socket per shard on the same port: the first one picks the port when it is 0.
  std::vector<int> fds;
  const auto close_all = [&fds] {
    for (int fd : fds) ::close(fd);
  };
  for (std::uint32_t i = 0; i < opts.shards; ++i) {
    auto fd = engine::open_listen_socket(i == 0 ? opts.listen : sink->address_);
    if (!fd) {
      close_all();
      return unexpected(fd.error());
    }
    fds.push_back(*fd);
    if (i == 0) {
      auto bound = engine::local_address(*fd);
      if (!bound) {
        close_all();
        return unexpected(bound.error());
      }
      sink->address_ = *bound;
    }
  }

  engine::RuntimeOptions runtime_options;
  runtime_options.shard_count = opts.shards;
  runtime_options.pin_threads = false;  // the sink shares the machine with what it measures
  runtime_options.drain_timeout = std::chrono::seconds(10);
  sink->runtime_ = std::make_unique<engine::Runtime>(runtime_options);
  for (std::uint32_t i = 0; i < opts.shards; ++i) {
    sink->shards_.push_back(std::make_unique<ShardState>(
        sink->runtime_->shard(ShardId(i)), opts, *sink->shared_, fds[i],
        tls_contexts.empty() ? nullptr : std::move(tls_contexts[i]), opts.seed * 1000003 + i));
  }
  sink->started_ = std::chrono::steady_clock::now();
  Sink* self = sink.get();
  auto started = sink->runtime_->start(
      [self](engine::Shard& shard) { self->shards_[shard.id().value()]->begin(); });
  if (!started) {
    sink->runtime_.reset();
    return unexpected(started.error());
  }
  return sink;
}

SinkTotals Sink::totals() const {
  SinkTotals sum;
  for (const auto& shard : shards_) {
    const SinkCounters& c = shard->counters();
    sum.messages += c.messages.load(std::memory_order_relaxed);
    sum.recipients += c.recipients.load(std::memory_order_relaxed);
    sum.bytes += c.bytes.load(std::memory_order_relaxed);
    sum.rejected += c.rejected.load(std::memory_order_relaxed);
    sum.recipients_refused += c.recipients_refused.load(std::memory_order_relaxed);
  }
  sum.connections_open = shared_->connections_open.load(std::memory_order_relaxed);
  return sum;
}

SinkReport Sink::stop() {
  MTA_ASSERT(!stopped_);
  stopped_ = true;
  runtime_->request_stop();
  runtime_->wait();
  const auto stopped_at = std::chrono::steady_clock::now();
  SinkReport report;
  report.elapsed = stopped_at - started_;
  report.totals = totals();
  std::unordered_set<std::uint64_t> ids;
  std::int64_t first = 0, last = 0;
  for (const auto& shard : shards_) {
    shard->add_to(report, ids);
    const std::int64_t shard_first = shard->counters().first_message_ns.load();
    if (shard_first != 0 && (first == 0 || shard_first < first)) first = shard_first;
    last = std::max(last, shard->counters().last_message_ns.load());
  }
  report.distinct_message_ids = ids.size();
  report.connections_total = shared_->connections_total.load();
  report.connections_max = shared_->connections_max.load();
  const auto since_start = [this](std::int64_t at) {
    return at == 0 ? std::chrono::nanoseconds(0) : Clock::TimePoint(Clock::Duration(at)) - started_;
  };
  report.first_message = since_start(first);
  report.last_message = since_start(last);
  return report;
}

namespace {

bool stop_signal_within(std::chrono::milliseconds wait) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  const timespec timeout{.tv_sec = 0, .tv_nsec = static_cast<long>(wait.count()) * 1'000'000};
  return ::sigtimedwait(&set, nullptr, &timeout) > 0;
}

SecondSample sample_between(const SinkTotals& before, const SinkTotals& now, std::uint64_t second) {
  return SecondSample{.second = second,
                      .messages = now.messages - before.messages,
                      .recipients = now.recipients - before.recipients,
                      .bytes = now.bytes - before.bytes,
                      .rejected = now.rejected - before.rejected,
                      .connections = now.connections_open};
}

}  // namespace

Result<SinkReport> run_sink(const SinkOptions& options, const SinkRunOptions& run) {
  engine::Runtime::block_stop_signals();
  auto sink = Sink::start(options);
  if (!sink) return unexpected(sink.error());
  std::fprintf(stderr, "sink listening on %s\n", (*sink)->address().to_string().c_str());
  std::fflush(stderr);
  const auto began = std::chrono::steady_clock::now();
  std::vector<SecondSample> series;
  SinkTotals previous;
  std::uint64_t seen_messages = 0;
  auto last_change = began;
  while (true) {
    if (stop_signal_within(std::chrono::milliseconds(10))) break;
    const auto now = std::chrono::steady_clock::now();
    const SinkTotals totals = (*sink)->totals();
    if (run.messages_max != 0 && totals.messages >= run.messages_max) break;
    if (run.duration != Clock::Duration::zero() && now - began >= run.duration) break;
    if (totals.messages != seen_messages) {
      seen_messages = totals.messages;
      last_change = now;
    } else if (run.idle_stop != Clock::Duration::zero() && seen_messages != 0 &&
               now - last_change >= run.idle_stop) {
      break;
    }
    if (now - began >= std::chrono::seconds(series.size() + 1)) {
      series.push_back(sample_between(previous, totals, series.size() + 1));
      previous = totals;
      if (run.progress) {
        std::fprintf(stderr, "\r\033[K%s", progress_line(series.back(), totals).c_str());
      }
    }
  }
  if (run.progress) std::fputs("\n", stderr);
  SinkReport report = (*sink)->stop();
  // The last, partial second, when anything happened in it.
  const SinkTotals totals = report.totals;
  if (totals.messages != previous.messages || totals.rejected != previous.rejected) {
    series.push_back(sample_between(previous, totals, series.size() + 1));
  }
  report.series = std::move(series);
  if (!run.csv_path.empty()) {
    if (auto written = write_file(run.csv_path, to_csv(report.series)); !written) {
      return unexpected(written.error());
    }
  }
  if (!run.svg_path.empty()) {
    const std::string title =
        "outpost bench sink: accepted per second (" + (*sink)->address().to_string() + ")";
    if (auto written = write_file(run.svg_path, render_throughput_svg(report.series, title));
        !written) {
      return unexpected(written.error());
    }
  }
  return report;
}

// The live line and the summary name the same counts (SinkTotals) with the same words:
// messages accepted, messages rejected after DATA, recipients refused at RCPT.
std::string progress_line(const SecondSample& second, const SinkTotals& totals) {
  char line[256];
  const auto u = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
  std::snprintf(line, sizeof line,
                "%4llus  %llu messages/s  %llu recipients/s  messages: %llu accepted, %llu "
                "rejected after DATA  recipients: %llu refused at RCPT  connections: %llu open",
                u(second.second), u(second.messages), u(second.recipients), u(totals.messages),
                u(totals.rejected), u(totals.recipients_refused), u(totals.connections_open));
  return line;
}

std::string format_text(const SinkReport& report) {
  std::string out;
  char line[256];
  const auto u = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
  std::snprintf(line, sizeof line,
                "messages: %llu accepted (%llu by BDAT), %llu distinct Message-IDs, "
                "%llu DKIM-signed, %llu rejected after DATA (451 %llu, 554 %llu, 421 %llu)\n",
                u(report.totals.messages), u(report.messages_bdat), u(report.distinct_message_ids),
                u(report.messages_dkim_signed), u(report.totals.rejected),
                u(report.rejected_temporary), u(report.rejected_permanent), u(report.disconnects));
  out += line;
  std::snprintf(line, sizeof line,
                "rate: %.0f messages/s between the first and last message (%.2f s); run %.2f s\n",
                report.messages_per_second(),
                std::chrono::duration<double>(report.last_message - report.first_message).count(),
                std::chrono::duration<double>(report.elapsed).count());
  out += line;
  std::snprintf(line, sizeof line,
                "recipients: %llu accepted in %zu domains, %llu refused at RCPT (450 %llu, "
                "550 %llu)\n",
                u(report.totals.recipients), report.recipients_per_domain.size(),
                u(report.totals.recipients_refused), u(report.recipients_refused_temporary),
                u(report.recipients_refused_permanent));
  out += line;
  std::snprintf(line, sizeof line, "bytes: %llu accepted\n", u(report.totals.bytes));
  out += line;
  std::uint64_t connections = 0, messages = 0, most = 0;
  for (const auto& [count, conns] : report.messages_per_connection) {
    connections += conns;
    messages += count * conns;
    most = std::max(most, count);
  }
  std::snprintf(
      line, sizeof line,
      "connections: %llu in total, %llu at most at once, %.1f messages per "
      "connection (max %llu)\n",
      u(report.connections_total), u(report.connections_max),
      connections == 0 ? 0.0 : static_cast<double>(messages) / static_cast<double>(connections),
      u(most));
  out += line;
  out += tls_summary_line(report.tls_sessions, report.tls_resumed, report.tls_failures);
  return out;
}

std::string format_json(const SinkReport& report, const SinkOptions& options) {
  http::JsonWriter json;
  json.begin_object();
  json.key("tool");
  json.value("sink");
  json.key("listen");
  json.value(options.listen.to_string());
  json.key("shards");
  json.value(options.shards);
  json.key("reply_mix");
  json.value(options.mix.to_string());
  json.key("latency_ms");
  json.value(std::chrono::duration<double, std::milli>(options.latency).count());
  json.key("pipelining");
  json.value(options.pipelining);
  json.key("chunking");
  json.value(options.chunking);
  json.key("tls");
  json.value(options.implicit_tls ? "implicit" : options.starttls ? "starttls" : "none");
  json.key("elapsed_seconds");
  json.value(std::chrono::duration<double>(report.elapsed).count());
  json.key("first_message_seconds");
  json.value(std::chrono::duration<double>(report.first_message).count());
  json.key("last_message_seconds");
  json.value(std::chrono::duration<double>(report.last_message).count());
  json.key("messages");
  json.value(report.totals.messages);
  json.key("messages_per_second");
  json.value(report.messages_per_second());
  json.key("distinct_message_ids");
  json.value(report.distinct_message_ids);
  json.key("messages_without_id");
  json.value(report.messages_without_id);
  json.key("messages_dkim_signed");
  json.value(report.messages_dkim_signed);
  json.key("messages_bdat");
  json.value(report.messages_bdat);
  json.key("recipients");
  json.value(report.totals.recipients);
  json.key("bytes");
  json.value(report.totals.bytes);
  json.key("rejected");
  json.begin_object();
  json.key("451");
  json.value(report.rejected_temporary);
  json.key("554");
  json.value(report.rejected_permanent);
  json.key("421");
  json.value(report.disconnects);
  json.end_object();
  json.key("recipients_refused");
  json.begin_object();
  json.key("450");
  json.value(report.recipients_refused_temporary);
  json.key("550");
  json.value(report.recipients_refused_permanent);
  json.end_object();
  json.key("recipients_per_domain");
  json.begin_object();
  for (const auto& [domain, count] : report.recipients_per_domain) {
    json.key(domain);
    json.value(count);
  }
  json.end_object();
  json.key("connections_total");
  json.value(report.connections_total);
  json.key("connections_max");
  json.value(report.connections_max);
  write_tls_json(json, report.tls_sessions, report.tls_resumed, report.tls_failures);
  json.key("messages_per_connection");
  json.begin_object();
  for (const auto& [messages, count] : report.messages_per_connection) {
    json.key(std::to_string(messages));
    json.value(count);
  }
  json.end_object();
  json.key("per_second");
  json.begin_array();
  for (const auto& s : report.series) {
    json.begin_array();
    json.value(s.second);
    json.value(s.messages);
    json.value(s.recipients);
    json.value(s.bytes);
    json.value(s.rejected);
    json.value(s.connections);
    json.end_array();
  }
  json.end_array();
  json.end_object();
  return json.take() + "\n";
}

}  // namespace mta::loadgen
