// `outpost bench blast|sink|plot`: the command line over loadgen/'s load generator and sink.
// Parses options into BlastOptions / SinkOptions, runs, and prints the summary as text or
// JSON on stdout. Everything measured lives in loadgen/; this file only reads arguments.
// Exit codes: 0 ok, 1 the run failed (nothing listening, a file not written), 2 usage.
#include "app/bench_command.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "app/http_client.h"
#include "base/concat.h"
#include "dkim/crypto.h"
#include "loadgen/blaster.h"
#include "loadgen/http_blaster.h"
#include "loadgen/series.h"
#include "loadgen/sink.h"
#include "loadgen/svg.h"
#include "loadgen/units.h"

namespace mta::app {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

constexpr std::string_view bench_usage = R"(Usage: outpost bench blast|sink|plot [OPTIONS]

  blast   SMTP load generator: many connections, pipelined transactions, a summary of
          acknowledged messages/s, reply codes and latency percentiles
  sink    SMTP receiver that counts (messages, distinct Message-IDs, recipients per
          domain, connections) with a configurable reply mix and added latency
  plot    render a sink's per-second CSV as an SVG throughput plot

`outpost bench COMMAND --help` describes each command.
)";

constexpr std::string_view blast_usage =
    R"(Usage: outpost bench blast --to HOST:PORT (--count N | --duration D) [OPTIONS]
       outpost bench blast --http URL --key KEY [--batch N] (--count N | --duration D) [OPTIONS]

Sends generated messages to an SMTP server as fast as it acknowledges them, then prints
messages/s acknowledged, reply-code counts and latency percentiles (MAIL to final reply).
With --http, POSTs bulk requests to the HTTP injection API instead (POST /v1/messages, one
message per recipient, one request in flight per keep-alive connection) and reports
messages/s acknowledged (202s), statuses and latency per request.
Live progress goes to stderr when it is a terminal.
  --to ADDRESS                  numeric address of the server, e.g. 127.0.0.1:2525
  --http URL                    or: the injection API's base URL, http://HOST:PORT[/PREFIX]
  --key KEY                     with --http: the API key (default: $OUTPOST_API_KEY)
  --batch N                     with --http: recipients (messages) per request, 1..10000
                                (default 100)
  --count N                     messages to send (claimed across all connections)
  --duration D                  or: send until D has passed (20s, 2m); both: first wins
  --connections N               concurrent connections (default 16)
  --shards N                    the blaster's reactor threads (default 1)
  --no-pipelining               one command at a time even if PIPELINING is offered
  --starttls                    STARTTLS when the server offers it (certificate not
                                verified; sessions resumed per target)
  --implicit-tls                or: TLS from the first byte (a port-465-style listener)
  --auth USER:PASSWORD          AUTH PLAIN after EHLO (and TLS) on every connection
  --messages-per-connection N   QUIT and reconnect after N messages (default 0: never)
  --size SPEC                   message size: 4k, 1k-100k (uniform) or 4k:70,32k:25,1M:5
                                (weighted); headers included (default 4k); with --http the
                                text part's size (the daemon adds the header)
  --recipients N                recipients per message (default 1)
  --domains N                   recipient domains d0.bench.test .. d<N-1>.bench.test
                                (default 1)
  --domain-list A,B,...         or: these recipient domains
  --from ADDRESS                envelope sender and From (default blast@bench.outpost)
  --tag TEXT                    in every Message-ID (default: time and pid)
  --seed N                      size draws (default 1)
  --connect-timeout D           (default 10s)
  --reply-timeout D             (default 60s)
  --progress | --no-progress    force the live line on or off
  --json                        print the summary as JSON
)";

constexpr std::string_view sink_usage = R"(Usage: outpost bench sink [--listen HOST:PORT] [OPTIONS]

Accepts SMTP on every shard and counts what arrives, until SIGINT/SIGTERM, --duration,
--messages or --idle-stop. Prints "sink listening on ADDRESS" on stderr at start, rates live on stderr
when it is a terminal, and a summary on stdout at the end.
  --listen ADDRESS      numeric address, port 0 picks one (default 127.0.0.1:2500)
  --shards N            reactor threads (default 1)
  --reply-mix SPEC      percentages: rcpt4xx=10,rcpt5xx=1,data4xx=2,data5xx=1,disconnect=1
                        (450 / 550 at RCPT; 451 / 554 / 421-and-close after DATA)
  --latency D           wait D before answering each message's DATA (e.g. 50ms)
  --no-pipelining       do not advertise PIPELINING
  --starttls            offer STARTTLS
  --implicit-tls        or: TLS from the first byte (port 465 style)
  --cert FILE           PEM certificate chain for either; with --key
  --key FILE            PEM private key; neither given = a self-signed certificate for
                        --hostname, made in a temporary directory at start
  --chunking            advertise CHUNKING (BDAT, RFC 3030); off by default, as smtp-sink
  --no-chunking         do not (the default)
  --duration D          stop after D
  --messages N          stop once N messages were accepted
  --idle-stop D         stop once no message arrived for D (after the first one)
  --csv FILE            write the per-second series as CSV
  --svg FILE            write the per-second series as an SVG plot
  --hostname NAME       greeting and reply host name (default sink.bench.outpost)
  --seed N              reply-mix draws (default 1)
  --progress | --no-progress
  --json                print the summary as JSON
)";

constexpr std::string_view plot_usage =
    R"(Usage: outpost bench plot --csv FILE --svg FILE [--title TEXT]

Renders a per-second CSV written by `outpost bench sink --csv` as an SVG plot.
)";

// Walks "--name value" pairs; each handler returns false on a bad value.
class Args {
 public:
  explicit Args(std::span<const std::string_view> args) : args_(args) {}
  bool done() const { return at_ >= args_.size(); }
  std::string_view next() { return args_[at_++]; }
  bool value(std::string_view& out) {
    if (done()) return false;
    out = next();
    return true;
  }

 private:
  std::span<const std::string_view> args_;
  std::size_t at_ = 0;
};

int usage_error(std::string_view command, const std::string& message, std::string_view usage) {
  std::fprintf(stderr, "outpost bench %.*s: %s\n%.*s", static_cast<int>(command.size()),
               command.data(), message.c_str(), static_cast<int>(usage.size()), usage.data());
  return exit_usage;
}

template <typename T>
bool take(const Result<T>& parsed, T& out, std::string& error) {
  if (!parsed) {
    error = parsed.error().message();
    return false;
  }
  out = *parsed;
  return true;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    if (comma != 0) out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

// `blast --http URL`: the options the SMTP blast shares (connections, shards, size, domains,
// sender, count, duration, tag, seed, timeouts) carried over into HttpBlastOptions.
int http_blast(const loadgen::BlastOptions& smtp, std::string_view url_text, std::string key,
               std::uint64_t batch, bool json, bool progress) {
  auto url = parse_http_url(url_text);
  if (!url) return usage_error("blast", url.error().detail, blast_usage);
  if (key.empty()) {
    const char* env = std::getenv("OUTPOST_API_KEY");
    if (env != nullptr) key = env;
  }
  if (key.empty()) {
    return usage_error("blast", "--http needs --key (or OUTPOST_API_KEY)", blast_usage);
  }
  auto address = resolve(*url);
  if (!address) {
    std::fprintf(stderr, "outpost bench blast: %s\n", address.error().detail.c_str());
    return exit_failed;
  }
  loadgen::HttpBlastOptions options;
  options.target = *address;
  options.host = url->authority;
  options.path = url->path + "/v1/messages";
  options.api_key = std::move(key);
  options.shards = smtp.shards;
  options.connections = smtp.connections;
  options.batch = batch;
  options.size = smtp.size;
  options.domains = smtp.domains;
  options.from = smtp.mail_from;
  options.message_count = smtp.message_count;
  options.duration = smtp.duration;
  options.seed = smtp.seed;
  options.tag = smtp.tag;
  options.connect_timeout = smtp.connect_timeout;
  options.reply_timeout = smtp.reply_timeout;
  auto report = loadgen::run_http_blast(options, progress);
  if (!report) {
    std::fprintf(stderr, "outpost bench blast: %s\n", report.error().message().c_str());
    return exit_failed;
  }
  const std::string out =
      json ? loadgen::format_json(*report, options) : loadgen::format_text(*report);
  std::fputs(out.c_str(), stdout);
  return exit_ok;
}

int blast(std::span<const std::string_view> words) {
  loadgen::BlastOptions options;
  bool json = false;
  bool progress = ::isatty(STDERR_FILENO) == 1;
  bool have_target = false;
  std::uint64_t domain_count = 1;
  std::vector<std::string> domain_list;
  std::string http_url;  // --http: the injection API instead of SMTP
  std::string api_key;
  std::uint64_t batch = 100;
  std::string_view smtp_only;  // an SMTP-only option given, refused with --http
  Args args(words);
  while (!args.done()) {
    const std::string_view arg = args.next();
    std::string_view value;
    std::string error;
    std::uint64_t number = 0;
    std::chrono::nanoseconds duration{};
    bool ok = true;
    if (arg == "--help" || arg == "-h") {
      std::fputs(blast_usage.data(), stdout);
      return exit_ok;
    } else if (arg == "--json") {
      json = true;
    } else if (arg == "--progress" || arg == "--no-progress") {
      progress = arg == "--progress";
    } else if (arg == "--no-pipelining") {
      options.pipelining = false;
      smtp_only = arg;
    } else if (arg == "--starttls") {
      options.tls = loadgen::BlastTls::starttls;
      smtp_only = arg;
    } else if (arg == "--implicit-tls") {
      options.tls = loadgen::BlastTls::implicit;
      smtp_only = arg;
    } else if (!args.value(value)) {
      return usage_error("blast", concat({"missing or unknown option ", arg}), blast_usage);
    } else if (arg == "--http") {
      http_url = std::string(value);
    } else if (arg == "--key") {
      api_key = std::string(value);
    } else if (arg == "--batch") {
      ok = take(loadgen::parse_count(value), batch, error) && batch >= 1 && batch <= 10'000;
    } else if (arg == "--auth") {
      smtp_only = arg;
      const std::size_t colon = value.find(':');
      if (colon == std::string::npos || colon == 0) {
        return usage_error("blast", "--auth takes USER:PASSWORD", blast_usage);
      }
      std::string plain(1, '\0');
      plain.append(value.substr(0, colon)).push_back('\0');
      plain.append(value.substr(colon + 1));
      options.auth_plain = dkim::base64_encode(plain);
    } else if (arg == "--to") {
      auto target = engine::SocketAddress::parse(value);
      ok = take(target, options.target, error);
      have_target = ok;
    } else if (arg == "--count") {
      ok = take(loadgen::parse_count(value), options.message_count, error);
    } else if (arg == "--duration") {
      ok = take(loadgen::parse_duration(value), duration, error);
      options.duration = duration;
    } else if (arg == "--connections") {
      ok = take(loadgen::parse_count(value), number, error) && number >= 1 && number <= 100000;
      options.connections = number;
    } else if (arg == "--shards") {
      ok = take(loadgen::parse_count(value), number, error) && number >= 1 && number <= 256;
      options.shards = static_cast<std::uint32_t>(number);
    } else if (arg == "--messages-per-connection") {
      ok = take(loadgen::parse_count(value), options.messages_per_connection, error);
      smtp_only = arg;
    } else if (arg == "--size") {
      ok = take(loadgen::SizeDistribution::parse(value), options.size, error);
    } else if (arg == "--recipients") {
      ok = take(loadgen::parse_count(value), number, error) && number >= 1 && number <= 1000;
      options.recipients_per_message = number;
      smtp_only = arg;
    } else if (arg == "--domains") {
      ok = take(loadgen::parse_count(value), domain_count, error) && domain_count >= 1 &&
           domain_count <= 1'000'000;
    } else if (arg == "--domain-list") {
      domain_list = split_list(value);
      ok = !domain_list.empty();
    } else if (arg == "--from") {
      options.mail_from = std::string(value);
    } else if (arg == "--tag") {
      options.tag = std::string(value);
    } else if (arg == "--seed") {
      ok = take(loadgen::parse_count(value), options.seed, error);
    } else if (arg == "--connect-timeout") {
      ok = take(loadgen::parse_duration(value), duration, error);
      options.connect_timeout = duration;
    } else if (arg == "--reply-timeout") {
      ok = take(loadgen::parse_duration(value), duration, error);
      options.reply_timeout = duration;
    } else {
      return usage_error("blast", concat({"unknown option ", arg}), blast_usage);
    }
    if (!ok) {
      return usage_error("blast",
                         concat({"bad value for ", arg, ": ", value, error.empty() ? "" : " (",
                                 error, error.empty() ? "" : ")"}),
                         blast_usage);
    }
  }
  if (!http_url.empty()) {
    if (have_target) return usage_error("blast", "--to or --http, not both", blast_usage);
    if (!smtp_only.empty()) {
      return usage_error(
          "blast", concat({smtp_only, " is for SMTP; --http sends one recipient per message"}),
          blast_usage);
    }
  } else if (!api_key.empty() || batch != 100) {
    return usage_error("blast", "--key and --batch go with --http", blast_usage);
  }
  if (!have_target && http_url.empty()) {
    return usage_error("blast", "--to (or --http) is required", blast_usage);
  }
  if (options.message_count == 0 && options.duration == Clock::Duration::zero()) {
    return usage_error("blast", "give --count or --duration", blast_usage);
  }
  if (!domain_list.empty()) {
    options.domains = std::move(domain_list);
  } else {
    options.domains.clear();
    for (std::uint64_t i = 0; i < domain_count; ++i) {
      options.domains.push_back(concat({"d", std::to_string(i), ".bench.test"}));
    }
  }
  if (!http_url.empty()) return http_blast(options, http_url, api_key, batch, json, progress);
  auto report = loadgen::run_blast(options, progress);
  if (!report) {
    std::fprintf(stderr, "outpost bench blast: %s\n", report.error().message().c_str());
    return exit_failed;
  }
  const std::string out =
      json ? loadgen::format_json(*report, options) : loadgen::format_text(*report);
  std::fputs(out.c_str(), stdout);
  return exit_ok;
}

int sink(std::span<const std::string_view> words) {
  loadgen::SinkOptions options;
  options.listen = engine::SocketAddress::parse("127.0.0.1:2500").value();
  loadgen::SinkRunOptions run;
  run.progress = ::isatty(STDERR_FILENO) == 1;
  bool json = false;
  Args args(words);
  while (!args.done()) {
    const std::string_view arg = args.next();
    std::string_view value;
    std::string error;
    std::uint64_t number = 0;
    std::chrono::nanoseconds duration{};
    bool ok = true;
    if (arg == "--help" || arg == "-h") {
      std::fputs(sink_usage.data(), stdout);
      return exit_ok;
    } else if (arg == "--json") {
      json = true;
    } else if (arg == "--progress" || arg == "--no-progress") {
      run.progress = arg == "--progress";
    } else if (arg == "--no-pipelining") {
      options.pipelining = false;
    } else if (arg == "--no-chunking" || arg == "--chunking") {
      options.chunking = arg == "--chunking";
    } else if (arg == "--starttls") {
      options.starttls = true;
    } else if (arg == "--implicit-tls") {
      options.implicit_tls = true;
    } else if (!args.value(value)) {
      return usage_error("sink", concat({"missing or unknown option ", arg}), sink_usage);
    } else if (arg == "--listen") {
      ok = take(engine::SocketAddress::parse(value), options.listen, error);
    } else if (arg == "--shards") {
      ok = take(loadgen::parse_count(value), number, error) && number >= 1 && number <= 256;
      options.shards = static_cast<std::uint32_t>(number);
    } else if (arg == "--reply-mix") {
      ok = take(loadgen::ReplyMix::parse(value), options.mix, error);
    } else if (arg == "--latency") {
      ok = take(loadgen::parse_duration(value), duration, error);
      options.latency = duration;
    } else if (arg == "--duration") {
      ok = take(loadgen::parse_duration(value), duration, error);
      run.duration = duration;
    } else if (arg == "--messages") {
      ok = take(loadgen::parse_count(value), run.messages_max, error);
    } else if (arg == "--idle-stop") {
      ok = take(loadgen::parse_duration(value), duration, error);
      run.idle_stop = duration;
    } else if (arg == "--cert") {
      options.cert_file = std::string(value);
    } else if (arg == "--key") {
      options.key_file = std::string(value);
    } else if (arg == "--csv") {
      run.csv_path = std::string(value);
    } else if (arg == "--svg") {
      run.svg_path = std::string(value);
    } else if (arg == "--hostname") {
      options.hostname = std::string(value);
      ok =
          !options.hostname.empty() && options.hostname.find_first_of(" \r\n") == std::string::npos;
    } else if (arg == "--seed") {
      ok = take(loadgen::parse_count(value), options.seed, error);
    } else {
      return usage_error("sink", concat({"unknown option ", arg}), sink_usage);
    }
    if (!ok) {
      return usage_error("sink",
                         concat({"bad value for ", arg, ": ", value, error.empty() ? "" : " (",
                                 error, error.empty() ? "" : ")"}),
                         sink_usage);
    }
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return usage_error("sink", "--cert and --key go together", sink_usage);
  }
  if (!options.cert_file.empty() && !options.starttls && !options.implicit_tls) {
    return usage_error("sink", "--cert and --key need --starttls or --implicit-tls", sink_usage);
  }
  if (options.starttls && options.implicit_tls) {
    return usage_error("sink", "--starttls or --implicit-tls, not both", sink_usage);
  }
  auto report = loadgen::run_sink(options, run);
  if (!report) {
    std::fprintf(stderr, "outpost bench sink: %s\n", report.error().message().c_str());
    return exit_failed;
  }
  const std::string out =
      json ? loadgen::format_json(*report, options) : loadgen::format_text(*report);
  std::fputs(out.c_str(), stdout);
  return exit_ok;
}

int plot(std::span<const std::string_view> words) {
  std::string csv_path, svg_path, title = "outpost bench sink: accepted per second";
  Args args(words);
  while (!args.done()) {
    const std::string_view arg = args.next();
    std::string_view value;
    if (arg == "--help" || arg == "-h") {
      std::fputs(plot_usage.data(), stdout);
      return exit_ok;
    }
    if (!args.value(value)) return usage_error("plot", "missing value", plot_usage);
    if (arg == "--csv") {
      csv_path = std::string(value);
    } else if (arg == "--svg") {
      svg_path = std::string(value);
    } else if (arg == "--title") {
      title = std::string(value);
    } else {
      return usage_error("plot", concat({"unknown option ", arg}), plot_usage);
    }
  }
  if (csv_path.empty() || svg_path.empty()) {
    return usage_error("plot", "--csv and --svg are required", plot_usage);
  }
  auto text = loadgen::read_file(csv_path);
  if (!text) {
    std::fprintf(stderr, "outpost bench plot: %s\n", text.error().message().c_str());
    return exit_failed;
  }
  auto samples = loadgen::parse_csv(*text);
  if (!samples) {
    std::fprintf(stderr, "outpost bench plot: %s: %s\n", csv_path.c_str(),
                 samples.error().message().c_str());
    return exit_failed;
  }
  if (auto written = loadgen::write_file(svg_path, loadgen::render_throughput_svg(*samples, title));
      !written) {
    std::fprintf(stderr, "outpost bench plot: %s\n", written.error().message().c_str());
    return exit_failed;
  }
  return exit_ok;
}

}  // namespace

int bench_command(std::span<const std::string_view> args) {
  if (args.empty()) {
    std::fputs(bench_usage.data(), stderr);
    return exit_usage;
  }
  const std::string_view command = args.front();
  const auto rest = args.subspan(1);
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(bench_usage.data(), stdout);
    return exit_ok;
  }
  if (command == "blast") return blast(rest);
  if (command == "sink") return sink(rest);
  if (command == "plot") return plot(rest);
  std::fprintf(stderr, "outpost bench: unknown command %.*s\n%s", static_cast<int>(command.size()),
               command.data(), bench_usage.data());
  return exit_usage;
}

}  // namespace mta::app
