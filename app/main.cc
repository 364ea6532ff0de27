// The `outpost` command line: one binary, one subcommand per job (ARCHITECTURE.md).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "app/bench_command.h"
#include "app/config.h"
#include "app/daemon.h"
#include "app/dkim_command.h"
#include "app/dns_command.h"
#include "app/inject_command.h"
#include "app/passwd_command.h"
#include "app/queue_command.h"
#include "app/suppression_command.h"
#include "queue/bounce_keys.h"

namespace {

constexpr std::string_view usage = R"(outpost — high-throughput outbound MTA

Usage: outpost COMMAND [OPTIONS]

Commands:
  run      run the daemon (SMTP submission, durable queue, delivery)
  queue    inspect and steer the queue (summary, list, show, retry, delete, bounce)
  suppression  the recipients never mailed again (list, show, add, remove)
  dkim     keygen, sign, verify
  dns      show what delivery would resolve
  bench    load generator and sink
  inject   send a message file or stdin through the HTTP injection API
  bounce-keys  rotate the keys that tag VERP return paths and X-Outpost-Ref
  passwd   read a password (twice, without echo, on a terminal), print its hash for
           [[submission.user]]; --api-key makes an HTTP API key for [[http.api_key]]

`outpost COMMAND --help` describes each command.
)";

constexpr std::string_view run_usage = R"(Usage: outpost run [--config FILE] [--log-level LEVEL]

Runs the daemon until SIGTERM or SIGINT, then stops accepting, drains sessions and
deliveries in flight, and exits 0. Without --config every key takes its default: SMTP
submission on 127.0.0.1:2525, spool under ./var/spool. See deploy/outpost.toml for every key.

Options:
  --config FILE       TOML configuration file
  --log-level LEVEL   debug, info, warning or error (overrides [log] level)
  --check-config      parse the configuration, report errors, and exit
)";

// Loads the config named by --config (or the defaults); shared by the subcommands.
mta::Result<mta::app::Config> config_from(const std::string& path) {
  return path.empty() ? mta::Result<mta::app::Config>(mta::app::Config{})
                      : mta::app::load_config(path);
}

int run_command(int argc, char** argv) {
  std::string config_path;
  std::string log_level;
  bool check_only = false;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(run_usage.data(), stdout);
      return 0;
    }
    if ((arg == "--config" || arg == "--log-level") && i + 1 < argc) {
      (arg == "--config" ? config_path : log_level) = argv[++i];
    } else if (arg == "--check-config") {
      check_only = true;
    } else {
      std::fprintf(stderr, "outpost run: unknown argument %s\n%s", argv[i], run_usage.data());
      return 2;
    }
  }
  auto config = config_from(config_path);
  if (!config) {
    std::fprintf(stderr, "outpost: config: %s\n", config.error().message().c_str());
    return 2;
  }
  if (!log_level.empty() && !mta::log::parse_level(log_level, config->log.level)) {
    std::fprintf(stderr, "outpost: --log-level must be debug, info, warning or error\n");
    return 2;
  }
  if (check_only) {
    std::puts("config ok");
    return 0;
  }
  return mta::app::run_daemon(*config, config_path);
}

constexpr std::string_view bounce_keys_usage = R"(Usage: outpost bounce-keys rotate [--config FILE]

Adds a new key to the bounce key file ([bounce] key_file, default <spool.path>/bounce-keys):
the daemon signs VERP return paths and X-Outpost-Ref with it from its next start, and the keys
before it still verify bounces for [queue] max_age plus [bounce] key_grace after that start.
Prints the new key's id.
)";

// `outpost bounce-keys rotate`: the file is only read at start, so this may run beside a daemon.
int bounce_keys_command(const std::vector<std::string_view>& args) {
  std::string config_path;
  bool rotate = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "rotate") {
      rotate = true;
    } else if (args[i] == "--config" && i + 1 < args.size()) {
      config_path = std::string(args[++i]);
    } else if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(bounce_keys_usage.data(), stdout);
      return 0;
    } else {
      std::fprintf(stderr, "outpost bounce-keys: unknown argument %.*s\n%s",
                   static_cast<int>(args[i].size()), args[i].data(), bounce_keys_usage.data());
      return 2;
    }
  }
  if (!rotate) {
    std::fputs(bounce_keys_usage.data(), stderr);
    return 2;
  }
  auto config = config_from(config_path);
  if (!config) {
    std::fprintf(stderr, "outpost: config: %s\n", config.error().message().c_str());
    return 2;
  }
  const std::string path = config->bounce.key_file.empty() ? config->spool.path + "/bounce-keys"
                                                           : config->bounce.key_file;
  auto key =
      mta::queue::BounceKeys::rotate(path, std::chrono::duration_cast<std::chrono::seconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
  if (!key) {
    std::fprintf(stderr, "outpost bounce-keys: %s\n", key.error().message().c_str());
    return 1;
  }
  std::printf("added bounce key %u to %s; it signs from the daemon's next start\n",
              static_cast<unsigned>(key->id), path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    std::fputs(usage.data(), argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string_view command = argv[1];
  if (command == "run") return run_command(argc, argv);
  if (command == "queue") {
    const std::vector<std::string_view> args(argv + 2, argv + argc);
    return mta::app::queue_command(args);
  }
  if (command == "dkim") {
    const std::vector<std::string_view> args(argv + 2, argv + argc);
    return mta::app::dkim_command(args);
  }
  const std::vector<std::string_view> args(argv + 2, argv + argc);
  if (command == "dns") return mta::app::dns_command(args);
  if (command == "suppression") return mta::app::suppression_command(args);
  if (command == "bench") return mta::app::bench_command(args);
  if (command == "inject") return mta::app::inject_command(args);
  if (command == "bounce-keys") return bounce_keys_command(args);
  if (command == "passwd") return mta::app::passwd_command(args);
  std::fprintf(stderr, "outpost: unknown command %s\n%s", argv[1], usage.data());
  return 2;
}
