#include "app/daemon/reload.h"

#include <utility>

#include "app/admin_key.h"
#include "app/daemon/daemon.h"
#include "base/log.h"
#include "dkim/config.h"

namespace mta::app {

Reloader::Reloader(const Config& config, std::string config_path, std::string spool_admin_key,
                   engine::Runtime& runtime, std::vector<ShardServices>& services,
                   metrics::LineLog* delivery_log)
    : config_(config),
      config_path_(std::move(config_path)),
      spool_admin_key_(std::move(spool_admin_key)),
      runtime_(runtime),
      services_(services),
      delivery_log_(delivery_log) {}

Result<std::string> Reloader::reload() {
  std::lock_guard lock(mutex_);
  Config fresh = config_;
  if (!config_path_.empty()) {
    auto loaded = load_config(config_path_);
    if (!loaded) return unexpected(loaded.error());
    fresh = std::move(loaded).value();
  }
  auto keys = dkim::load_signing_keys(fresh.dkim, fresh.locations);
  if (!keys) return unexpected(keys.error());
  const dkim::KeyRing* signing = nullptr;
  if (*keys) {
    reloaded_keys_.push_back(std::make_unique<dkim::KeyRing>(std::move(**keys)));
    signing = reloaded_keys_.back().get();
  }
  // A key taken out of the file falls back to the spool's (made now if the daemon started
  // with a configured one): the admin API never goes without a key.
  std::string admin_key = fresh.http.admin_key;
  if (admin_key.empty() && spool_admin_key_.empty()) {
    auto made = use_spool_admin_key(config_.spool.path);  // the spool in use
    if (!made) return unexpected(made.error().code, "admin key: " + made.error().message());
    spool_admin_key_ = std::move(made).value();
  }
  if (admin_key.empty()) admin_key = spool_admin_key_;
  log::set_level(fresh.log.level);
  if (delivery_log_ != nullptr) delivery_log_->reopen();
  post_to_shards(signing, admin_key);
  std::string what = "log level, admin key, " +
                     std::to_string(signing == nullptr ? 0 : signing->signers().size()) +
                     " DKIM keys, TLS certificate";
  if (delivery_log_ != nullptr) what += ", delivery log reopened";
  log::info("reload: " + what);
  return what;
}

void Reloader::post_to_shards(const dkim::KeyRing* signing, const std::string& admin_key) {
  for (std::uint32_t i = 0; i < runtime_.shard_count(); ++i) {
    (void)runtime_.post_from_outside(
        ShardId(i), [services = &services_, signing, key = admin_key](engine::Shard& on) {
          ShardServices& its = (*services)[on.id().value()];
          if (its.injector != nullptr) its.injector->set_signing(signing);
          if (its.admin != nullptr) its.admin->set_key(key);
          if (its.tls_server == nullptr) return;
          if (auto reloaded = its.tls_server->reload(); !reloaded) {
            log::error("tls: reload on shard " + std::to_string(on.id().value()) +
                       " failed, keeping the certificate in use: " + reloaded.error().message());
          }
        });
  }
}

}  // namespace mta::app
