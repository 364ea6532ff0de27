// The suppression list's command-line client: list, show, add and remove through the admin API
// (/api/v1/suppressions), printing the API's text (or JSON) answer. With no daemon listening
// it opens <spool>/mailbox itself; RocksDB's lock makes that fail cleanly if a daemon holds it.
#include "app/suppression_command.h"

#include <chrono>
#include <cstdio>
#include <string>

#include "app/admin.h"
#include "app/config.h"
#include "app/http_client.h"
#include "engine/address.h"
#include "mailbox/store.h"

namespace mta::app {
namespace {

constexpr std::string_view usage = R"(Usage: outpost suppression ACTION [OPTIONS]

The recipients Outpost will not mail: hard bounces and complaints the bounce mailbox received,
and addresses added by hand. Delivery marks their recipients "suppressed" instead of trying.

Actions:
  list              every entry: address, category, date added, reason
  show ADDRESS      one entry (exit status 1 when the address is not listed)
  add ADDRESS       suppress ADDRESS (--reason TEXT, --category NAME; default "manual")
  remove ADDRESS    mail ADDRESS again

Options:
  --filter TEXT     list: only addresses containing TEXT
  --limit N         list: at most N entries (default 1000)
  --config FILE     the daemon's configuration: its admin API ([http] listen, admin_key) and
                    its spool
  --admin HOST:PORT the admin API's address, overriding the configuration
  --key KEY         the admin key, overriding the configuration
  --json            print the API's JSON answer instead of text
)";

struct Options {
  std::string action;
  std::string address;
  std::string filter;
  std::string limit;
  std::string reason;
  std::string category = "manual";
  std::string config_path;
  std::string admin;
  std::string key;
  bool json = false;
};

Result<Options> parse_args(std::span<const std::string_view> args) {
  Options o;
  auto bad = [](std::string text) {
    return unexpected(std::make_error_code(std::errc::invalid_argument), std::move(text));
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    const bool has_value = i + 1 < args.size();
    auto take = [&](std::string& into) { into = std::string(args[++i]); };
    if (arg == "--json") {
      o.json = true;
    } else if (has_value && arg == "--config") {
      take(o.config_path);
    } else if (has_value && arg == "--admin") {
      take(o.admin);
    } else if (has_value && arg == "--key") {
      take(o.key);
    } else if (has_value && arg == "--filter") {
      take(o.filter);
    } else if (has_value && arg == "--limit") {
      take(o.limit);
    } else if (has_value && arg == "--reason") {
      take(o.reason);
    } else if (has_value && arg == "--category") {
      take(o.category);
    } else if (o.action.empty() && !arg.starts_with("-")) {
      o.action = arg;
    } else if (o.address.empty() && o.action != "list" && !arg.starts_with("-")) {
      o.address = arg;
    } else {
      return bad("unknown argument " + std::string(arg));
    }
  }
  if (o.action != "list" && o.action != "show" && o.action != "add" && o.action != "remove") {
    return bad(o.action.empty() ? "no action given" : "unknown action " + o.action);
  }
  if (o.action != "list" && o.address.find('@') == std::string::npos) {
    return bad(o.action + " needs an address (local@domain)");
  }
  return o;
}

// No daemon: the mailbox database directly.
int offline(const Config& config, const Options& o) {
  auto store = mailbox::MailStore::open(config.spool.path + "/mailbox", {.sync = true});
  if (!store) {
    std::fprintf(stderr, "outpost suppression: cannot open %s/mailbox: %s\n",
                 config.spool.path.c_str(), store.error().message().c_str());
    return 1;
  }
  mailbox::Suppressions& list = (*store)->suppressions();
  if (o.action == "list") {
    std::size_t limit = o.limit.empty() ? 1000 : std::stoul(o.limit);
    for (const auto& entry : list.list(o.filter, limit)) {
      std::puts(suppression_line(entry).c_str());
    }
    return 0;
  }
  if (o.action == "show") {
    auto entry = list.find(o.address);
    if (!entry) {
      std::fprintf(stderr, "outpost suppression: %s is not suppressed\n", o.address.c_str());
      return 1;
    }
    std::puts(suppression_line(*entry).c_str());
    return 0;
  }
  if (o.action == "remove") {
    auto removed = list.remove(o.address);
    if (!removed) {
      std::fprintf(stderr, "outpost suppression: %s\n", removed.error().message().c_str());
      return 1;
    }
    if (!*removed) {
      std::fprintf(stderr, "outpost suppression: %s is not suppressed\n", o.address.c_str());
      return 1;
    }
    std::printf("removed %s\n", o.address.c_str());
    return 0;
  }
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  if (auto added = list.add(
          {.address = o.address, .category = o.category, .reason = o.reason, .added_at = now});
      !added) {
    std::fprintf(stderr, "outpost suppression: %s\n", added.error().message().c_str());
    return 1;
  }
  std::printf("suppressed %s\n", o.address.c_str());
  return 0;
}

}  // namespace

int suppression_command(std::span<const std::string_view> args) {
  for (const auto arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage.data(), stdout);
      return 0;
    }
  }
  auto options = parse_args(args);
  if (!options) {
    std::fprintf(stderr, "outpost suppression: %s\n%s", options.error().detail.c_str(),
                 usage.data());
    return 2;
  }
  if (!options->limit.empty() &&
      options->limit.find_first_not_of("0123456789") != std::string::npos) {
    std::fprintf(stderr, "outpost suppression: --limit must be a number\n");
    return 2;
  }
  auto endpoint = admin_endpoint(options->config_path, options->admin, options->key);
  if (!endpoint) {
    report_config_error(endpoint.error());
    return exit_config_error;
  }
  if (endpoint->bad_address) {
    std::fprintf(stderr, "outpost suppression: admin address \"%s\" is not a numeric host:port\n",
                 endpoint->admin.c_str());
    return 2;
  }
  if (!endpoint->address) return offline(endpoint->config, *options);
  const engine::SocketAddress& address = *endpoint->address;

  const std::string& action = options->action;
  std::string target = "/api/v1/suppressions";
  if (action != "list") target += "/" + percent_encode(options->address);
  target += options->json ? "?format=json" : "?format=text";
  if (!options->filter.empty()) target += "&q=" + percent_encode(options->filter);
  if (!options->limit.empty()) target += "&limit=" + options->limit;
  if (action == "add") {
    target += "&category=" + percent_encode(options->category);
    if (!options->reason.empty()) target += "&reason=" + percent_encode(options->reason);
  }
  const std::string_view method = action == "add" ? "PUT" : action == "remove" ? "DELETE" : "GET";
  HttpAnswer answer;
  std::string error;
  const Reach reach = admin_request(address, method, target, endpoint->key, answer, error);
  if (reach == Reach::unreachable) {
    std::fprintf(stderr, "outpost suppression: no daemon at %s; using the spool\n",
                 address.to_string().c_str());
    return offline(endpoint->config, *options);
  }
  if (reach != Reach::answered) {
    std::fprintf(stderr, "outpost suppression: %s\n", error.c_str());
    return 1;
  }
  if (answer.status != 200) {
    std::fprintf(stderr, "outpost suppression: %d %s", answer.status, answer.body.c_str());
    return 1;
  }
  std::fwrite(answer.body.data(), 1, answer.body.size(), stdout);
  return 0;
}

}  // namespace mta::app
