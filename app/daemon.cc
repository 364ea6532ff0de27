// `outpost run`. Every shard accepts on every submission address (SO_REUSEPORT) and group-
// commits what it accepts; each domain is owned by one shard, chosen by hash, and parts
// accepted on the others are handed to it by delivery::Router, by key only (the body stays in
// the spool). The domain hands what is due to the pool of its MX host set, owned by the shard
// its name hashes to. The phases that build all this are in app/daemon/ (daemon.h lists them).
#include "app/daemon.h"

#include <cstdio>

#include "app/daemon/daemon.h"
#include "base/log.h"

namespace mta::app {

Daemon::Daemon(const Config& config, std::string config_path)
    : config_(config), config_path_(std::move(config_path)) {}

Daemon::~Daemon() = default;

int Daemon::run() {
  log::set_level(config_.log.level);
  for (const auto& section : config_.ignored_sections) {
    log::warning("config section [" + section + "] is not used by this build yet");
  }
  if (!read_settings()) return exit_config_error;
  if (!open_stores()) return 1;
  runtime_ = std::make_unique<engine::Runtime>(engine::RuntimeOptions{
      .shard_count = config_.node.shards, .drain_timeout = config_.delivery.drain_timeout});
  shard_count_ = runtime_->shard_count();
  if (!open_listeners() || !start_reporting() || !open_node_listeners()) return 1;
  access_ = std::make_unique<Access>(config_);
  if (!start_shards()) return 1;
  return serve_until_signal();
}

bool Daemon::start_shards() {
  services_.resize(shard_count_);
  suppressed_ = [mail =
                     stores_->mail.get()](std::string_view address) -> std::optional<std::string> {
    auto entry = mail->suppressions().find(address);
    if (!entry) return std::nullopt;
    return entry->category;
  };
  reloader_ = std::make_unique<Reloader>(config_, config_path_, stores_->spool_admin_key, *runtime_,
                                         services_, reporting_->delivery_log.get());
  own_dsns_ = std::make_unique<mailbox::OwnDsns>(mailbox_shard);
  router_ = std::make_unique<delivery::Router>(
      delivery::RouterOptions{.shard_count = shard_count_, .pools = !settings_->relayed()});
  recovering_ = shard_count_;
  auto started = runtime_->start([this](engine::Shard& shard) { start_shard(shard); });
  if (!started) {
    log::error("cannot start shards: " + started.error().message());
    return false;
  }
  return true;
}

// Runs until SIGTERM or SIGINT (SIGHUP: a reload; a failed one keeps everything in use), then
// drains.
int Daemon::serve_until_signal() {
  log::info("outpost running: " + std::to_string(shard_count_) + " shards, spool " +
            config_.spool.path + (config_.spool.sync ? "" : " (durability none)") +
            (settings_->relayed() ? ", relay " + settings_->delivery.relay_text : ""));
  const int signal_number = runtime_->run_until_signal([this] {
    log::info("SIGHUP: reloading");
    if (auto reloaded = reloader_->reload(); !reloaded) {
      log::error("reload failed, keeping what is in use: " + reloaded.error().message());
    }
  });
  log::info("stopped on signal " + std::to_string(signal_number) + ", queue kept in " +
            config_.spool.path);
  services_.clear();
  // A clean stop: attempts the drain cut short were not crashes.
  stores_->breaker.table->clear_all();
  return 0;
}

int check_config(const Config& config) {
  log::set_level(config.log.level);
  auto settings = check_settings(config);
  if (!settings) {
    report_config_error(settings.error());
    return exit_config_error;
  }
  std::puts("config ok");
  return 0;
}

int run_daemon(const Config& config, const std::string& config_path) {
  // First of all: a SIGTERM that arrives while starting (say, right after the listeners are
  // logged) waits for run_until_signal() and stops the daemon cleanly instead of killing it.
  engine::Runtime::block_stop_signals();
  Daemon daemon(config, config_path);
  return daemon.run();
}

}  // namespace mta::app
