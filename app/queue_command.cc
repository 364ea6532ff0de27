// The admin API's command-line client: one HTTP/1.1 request through app/http_client.h (a
// blocking socket: this runs once per command, not on the engine), the answer's text body
// printed as it is. When the daemon is not running (nothing listens, or [http] has no fixed
// port), the read-only actions open the spool themselves; RocksDB's lock makes that fail
// cleanly if a daemon does hold it.
#include "app/queue_command.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "app/admin.h"
#include "app/config.h"
#include "app/http_client.h"
#include "app/queue_show.h"
#include "base/duration.h"
#include "engine/address.h"
#include "queue/query.h"
#include "queue/rocksdb_store.h"

namespace mta::app {
namespace {

constexpr std::string_view usage = R"(Usage: outpost queue ACTION [FILTERS] [OPTIONS]

Actions:
  summary        parts per destination, recipients per state
  count          the number of queued parts (one per message and destination)
  list           one line per part: id.part, destination, sender, recipients with their
                 state and attempts, and "quarantined" for a part the crash-loop breaker holds
                 (in flight at 3 crashes of the daemon: never tried until retried)
  show ID        every part of one message, with each recipient's status and last reply,
                 also once it is finished (delivered, bounced, suppressed, expired), for
                 [queue] history_retention (7 days by default)
  retry          try the selected parts now (a quarantined part too: it is released)
  delete         delete the selected parts without a DSN (needs a filter or --all)
  bounce         return the selected parts to their senders with a DSN (needs a filter or --all)
  suspend DEST   start no new deliveries to DEST (a domain, or "relay") until resumed, or for
                 --for D; in-flight ones finish
  resume DEST    deliver to DEST again at once

Filters (every one given must match):
  --id ID                 a message id as `list` prints it
  --destination DOMAIN    a destination (a recipient domain, or "relay")
  --sender ADDRESS        an envelope sender; "@domain" for a whole domain, "<>" for bounces
  --recipient ADDRESS     parts with this recipient

Options:
  --config FILE     the daemon's configuration: where its admin API listens ([http] listen)
                    and its key ([http] admin_key), and its spool
  --admin HOST:PORT the admin API's address, overriding the configuration
  --key KEY         the admin key, overriding the configuration
  --limit N         at most N parts for `list` (default 1000)
  --for D           with suspend: lift the suspension by itself after D (30m, 2h, 1d; a
                    bare number is seconds)
  --all             with delete or bounce: every part in the queue
  --json            print the API's JSON answer instead of text

The daemon answers every action. When none is reachable, summary, count, list and show read
the spool directly (RocksDB lets one process open it: the daemon must be stopped).
)";

struct Options {
  std::string action;
  std::string id;
  std::string config_path;
  std::string admin;
  std::string key;
  std::string limit;
  std::string destination;  // suspend, resume
  std::string for_seconds;
  bool all = false;
  bool json = false;
  queue::QueueFilter filter;
};

// The spool of a stopped daemon, for summary, count, list and show.
int read_spool(const Config& config, const Options& options) {
  auto store = queue::RocksDbStore::open(config.spool.path, {.sync = true});
  if (!store) {
    std::fprintf(stderr, "outpost queue: cannot open spool %s: %s\n", config.spool.path.c_str(),
                 store.error().message().c_str());
    return 1;
  }
  if (options.action == "show") {
    auto parts = queue::read_message_parts(**store, *options.filter.id);
    if (!parts) {
      std::fprintf(stderr, "outpost queue: %s\n", parts.error().message().c_str());
      return 1;
    }
    if (parts->empty()) {
      std::fprintf(stderr, "outpost queue: no such message in the queue or its history: %s\n",
                   options.id.c_str());
      return 1;
    }
    const std::string out =
        options.json ? message_json(*options.filter.id, *parts) + "\n" : message_text(*parts);
    std::fputs(out.c_str(), stdout);
    return 0;
  }
  queue::QueueSummary summary;
  auto scanned = (*store)->for_each_envelope([&](queue::Envelope&& envelope) {
    if (!queue::matches(options.filter, envelope)) return true;
    summary.add(envelope);
    if (options.action == "list") std::puts(queue_line(envelope).c_str());
    return true;
  });
  if (!scanned) {
    std::fprintf(stderr, "outpost queue: %s\n", scanned.error().message().c_str());
    return 1;
  }
  if (options.action == "count") {
    std::printf("%llu\n", static_cast<unsigned long long>(summary.total.parts));
  } else if (options.action == "summary") {
    std::fputs(summary_text(summary).c_str(), stdout);
  }
  return 0;
}

Result<Options> parse_args(std::span<const std::string_view> args) {
  Options o;
  auto bad = [](std::string text) {
    return unexpected(std::make_error_code(std::errc::invalid_argument), std::move(text));
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    const bool has_value = i + 1 < args.size();
    auto take = [&](std::string& into) { into = std::string(args[++i]); };
    if (arg == "--all") {
      o.all = true;
    } else if (arg == "--json") {
      o.json = true;
    } else if (has_value && arg == "--config") {
      take(o.config_path);
    } else if (has_value && arg == "--admin") {
      take(o.admin);
    } else if (has_value && arg == "--key") {
      take(o.key);
    } else if (has_value && arg == "--limit") {
      take(o.limit);
    } else if (has_value && arg == "--for") {
      take(o.for_seconds);
    } else if (has_value && arg == "--id") {
      take(o.id);
    } else if (has_value && arg == "--destination") {
      take(o.filter.destination);
    } else if (has_value && arg == "--sender") {
      take(o.filter.sender);
    } else if (has_value && arg == "--recipient") {
      take(o.filter.recipient);
    } else if (o.action.empty() && !arg.starts_with("-")) {
      o.action = arg;
    } else if (o.action == "show" && o.id.empty() && !arg.starts_with("-")) {
      o.id = arg;
    } else if ((o.action == "suspend" || o.action == "resume") && o.destination.empty() &&
               !arg.starts_with("-")) {
      o.destination = arg;
    } else {
      return bad("unknown argument " + std::string(arg));
    }
  }
  static constexpr std::string_view actions[] = {"summary", "count",  "list",    "show",  "retry",
                                                 "delete",  "bounce", "suspend", "resume"};
  if (std::find(std::begin(actions), std::end(actions), o.action) == std::end(actions)) {
    return bad(o.action.empty() ? "no action given" : "unknown action " + o.action);
  }
  if (o.action == "show" && o.id.empty()) return bad("show needs a message id");
  if ((o.action == "suspend" || o.action == "resume") && o.destination.empty()) {
    return bad(o.action + " needs a destination");
  }
  if (!o.for_seconds.empty() && o.action != "suspend") return bad("--for goes with suspend");
  if (!o.for_seconds.empty()) {  // the admin API takes whole seconds
    const auto lasting = parse_duration_option(o.for_seconds, std::chrono::seconds(1));
    if (!lasting || *lasting < std::chrono::seconds(1)) {
      return bad("--for takes a duration of 1s or more, e.g. 30m or 2h");
    }
    o.for_seconds = std::to_string(std::chrono::ceil<std::chrono::seconds>(*lasting).count());
  }
  if (!o.id.empty()) {
    auto id = queue::parse_message_id(o.id);
    if (!id) return bad("--id: " + id.error().detail);
    o.filter.id = *id;
  }
  return o;
}

}  // namespace

int queue_command(std::span<const std::string_view> args) {
  for (const auto arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage.data(), stdout);
      return 0;
    }
  }
  auto options = parse_args(args);
  if (!options) {
    std::fprintf(stderr, "outpost queue: %s\n%s", options.error().detail.c_str(), usage.data());
    return 2;
  }
  auto endpoint = admin_endpoint(options->config_path, options->admin, options->key);
  if (!endpoint) {
    report_config_error(endpoint.error());
    return exit_config_error;
  }
  const Config& config = endpoint->config;
  const std::string& key = endpoint->key;
  const bool read_only = options->action == "summary" || options->action == "count" ||
                         options->action == "list" || options->action == "show";
  if (endpoint->bad_address) {
    std::fprintf(stderr, "outpost queue: admin address \"%s\" is not a numeric host:port\n",
                 endpoint->admin.c_str());
    return 2;
  }
  if (!endpoint->address) {
    // No fixed admin address to reach the daemon at: only the spool is left.
    if (read_only) return read_spool(config, *options);
    std::fprintf(stderr, "outpost queue %s: needs the running daemon; give --admin HOST:PORT\n",
                 options->action.c_str());
    return 2;
  }
  const engine::SocketAddress& address = *endpoint->address;

  std::string target = "/api/v1/queue/";
  const std::string& action = options->action;
  target += action == "count" ? "summary" : action == "list" ? "messages" : action;
  if (action == "show") target = "/api/v1/queue/messages/" + percent_encode(options->id);
  if (action == "suspend" || action == "resume") {
    target = "/api/v1/destinations/" + percent_encode(options->destination) + "/" + action;
  }
  std::string query = options->json && action != "count" ? "format=json" : "format=text";
  const auto& f = options->filter;
  if (f.id && action != "show") query += "&id=" + percent_encode(options->id);
  if (!f.destination.empty()) query += "&destination=" + percent_encode(f.destination);
  if (!f.sender.empty()) query += "&sender=" + percent_encode(f.sender);
  if (!f.recipient.empty()) query += "&recipient=" + percent_encode(f.recipient);
  if (!options->limit.empty()) query += "&limit=" + percent_encode(options->limit);
  if (options->all) query += "&all=1";
  if (!options->for_seconds.empty()) query += "&for=" + percent_encode(options->for_seconds);
  target += "?" + query;

  HttpAnswer answer;
  std::string error;
  const Reach reach =
      admin_request(address, read_only ? "GET" : "POST", target, key, answer, error);
  if (reach == Reach::unreachable && read_only) {
    std::fprintf(stderr, "outpost queue: no daemon at %s; reading the spool\n",
                 address.to_string().c_str());
    return read_spool(config, *options);
  }
  if (reach != Reach::answered) {
    std::fprintf(stderr, "outpost queue: %s\n", error.c_str());
    return 1;
  }
  if (answer.status != 200) {
    std::fprintf(stderr, "outpost queue: %d %s", answer.status, answer.body.c_str());
    if (answer.status == 401 && key.empty()) {
      // The usual cause: run from another directory than the daemon, so the relative spool
      // path of the default configuration finds no admin.key.
      std::fprintf(stderr,
                   "outpost queue: no admin key: [http] admin_key is empty and %s/admin.key is "
                   "not readable from here; run where the daemon runs, or give --config or "
                   "--key\n",
                   config.spool.path.c_str());
    }
    return 1;
  }
  if (action == "count") {
    // The text summary's first line is "parts N".
    const auto line_end = answer.body.find('\n');
    std::printf("%s\n", answer.body.substr(6, line_end - 6).c_str());
    return 0;
  }
  std::fwrite(answer.body.data(), 1, answer.body.size(), stdout);
  return 0;
}

}  // namespace mta::app
