// The `outpost` command line: one binary, one subcommand per job (ARCHITECTURE.md).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
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
#include "app/version.h"
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
  version  the version, git revision, build type and TLS library (also --version)

`outpost COMMAND --help` describes each command.
)";

constexpr std::string_view run_usage =
    R"(Usage: outpost run [--config FILE] [--log-level LEVEL] [--check-config]

Runs the daemon until SIGTERM or SIGINT, then stops accepting, drains sessions and
deliveries in flight, and exits 0. Without --config every key takes its default: SMTP
submission on 127.0.0.1:2525, spool under ./var/spool. See deploy/outpost.toml for every key.

Options:
  --config FILE       TOML configuration file
  --log-level LEVEL   debug, info, notice, warning or error (overrides [log] level)
  --check-config      run every check `run` makes before it opens the spool, binds a socket
                      or sends mail (the file's keys and types, listen addresses, key,
                      certificate and rules files, the relay), print "config ok", and exit

Exit status: 0 after a clean stop (or "config ok"); 2 when the command line or the
configuration is refused, with one line "outpost: FILE:LINE: KEY: problem" on stderr, the
same for `run` and `run --check-config`; 1 when start-up failed after the configuration was
accepted (the spool cannot be opened, an address is in use).
)";

// Loads the config named by --config (or the defaults); shared by the subcommands.
mta::Result<mta::app::Config> config_from(const std::string& path) {
  return path.empty() ? mta::Result<mta::app::Config>(mta::app::Config{})
                      : mta::app::load_config(path);
}

// An option that takes a value, at argv[i]: the value (moving i past it), or nullopt with the
// error printed when there is none.
std::optional<std::string> option_value(int argc, char** argv, int& i, std::string_view what) {
  if (i + 1 >= argc || std::string_view(argv[i + 1]).starts_with("--")) {
    std::fprintf(stderr, "outpost run: %s needs %.*s\n", argv[i], static_cast<int>(what.size()),
                 what.data());
    return std::nullopt;
  }
  return std::string(argv[++i]);
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
    if (arg == "--config" || arg == "--log-level") {
      auto value = option_value(argc, argv, i, arg == "--config" ? "a file" : "a level");
      if (!value) return mta::app::exit_config_error;
      (arg == "--config" ? config_path : log_level) = std::move(*value);
    } else if (arg == "--check-config") {
      check_only = true;
    } else {
      std::fprintf(stderr, "outpost run: unknown argument %s\n%s", argv[i], run_usage.data());
      return mta::app::exit_config_error;
    }
  }
  auto config = config_from(config_path);
  if (!config) {
    mta::app::report_config_error(config.error());
    return mta::app::exit_config_error;
  }
  if (!log_level.empty() && !mta::log::parse_level(log_level, config->log.level)) {
    std::fprintf(stderr,
                 "outpost: --log-level must be debug, info, notice, warning or error, not %s\n",
                 log_level.c_str());
    return mta::app::exit_config_error;
  }
  if (check_only) return mta::app::check_config(*config);
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
    mta::app::report_config_error(config.error());
    return mta::app::exit_config_error;
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
  if (command == "--version" || command == "version") {
    std::fputs(mta::app::version_text().c_str(), stdout);
    return 0;
  }
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
