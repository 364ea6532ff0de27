// A reload (SIGHUP or POST /api/v1/reload), from any thread: reads the config file again and
// applies what can change while running (log level, admin key, DKIM keys, the TLS
// certificate, the delivery log's file); listeners, shards, the spool and the rest keep what
// they started with until a restart. A bad file changes nothing.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "app/config.h"
#include "app/daemon/shard_services.h"
#include "base/result.h"
#include "dkim/keyring.h"
#include "engine/runtime.h"
#include "metrics/line_log.h"

namespace mta::app {

class Reloader {
 public:
  // `spool_admin_key`: the spool's key in use (empty when the config named one); a reload that
  // takes the configured key away makes it then.
  Reloader(const Config& config, std::string config_path, std::string spool_admin_key,
           engine::Runtime& runtime, std::vector<ShardServices>& services,
           metrics::LineLog* delivery_log);

  // What was reloaded, or why nothing was.
  Result<std::string> reload();

 private:
  // Gives every shard the new keys and reloads its certificate.
  void post_to_shards(const dkim::KeyRing* signing, const std::string& admin_key);

  const Config& config_;
  const std::string config_path_;
  std::string spool_admin_key_;
  engine::Runtime& runtime_;
  std::vector<ShardServices>& services_;
  metrics::LineLog* delivery_log_;
  std::mutex mutex_;
  // Keys a reload loaded: each stays alive for the daemon's life, since a shard may still be
  // signing with the one before until the reload reaches it.
  std::deque<std::unique_ptr<dkim::KeyRing>> reloaded_keys_;
};

}  // namespace mta::app
