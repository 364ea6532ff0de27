// `outpost run`: opens the spool, starts the shards, binds the listeners on every shard, wires
// injection to delivery, and runs until SIGTERM or SIGINT, then drains and returns.
#pragma once

#include "app/config.h"

namespace mta::app {

// Returns the process exit code: 0 after a clean drain, exit_config_error (2) when the config is
// refused (check_settings, reported as check_config reports it), 1 when start-up failed later
// (the spool, a socket). `config_path`: the file `config` came from, read again by a reload
// (SIGHUP, POST /api/v1/reload); empty: the embedded defaults, and a reload only reopens files.
int run_daemon(const Config& config, const std::string& config_path = "");

// `outpost run --check-config`: every check run_daemon makes before it opens the spool, binds a
// socket or sends mail, by the same function (check_settings). Prints "config ok" and returns
// 0, or prints the error as run_daemon would and returns exit_config_error.
int check_config(const Config& config);

}  // namespace mta::app
