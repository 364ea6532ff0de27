// Phase: open what is on disk (the spool, the crash-loop breaker, the admin key, the bounce
// mailbox, the bounce keys) and the server certificate (the configured one, checked by
// read_settings, or a self-signed one kept in the spool).
#include <chrono>
#include <filesystem>

#include "app/admin_key.h"
#include "app/daemon/daemon.h"
#include "base/log.h"
#include "tls/certificate.h"

namespace mta::app {
namespace {

// With no [tls] certificate configured, a self-signed one for the host name, made at the first
// start in <spool>/tls/ and kept.
Result<std::pair<std::string, std::string>> self_signed_certificate(const Config& config) {
  const std::string dir = config.spool.path + "/tls";
  std::pair<std::string, std::string> paths{dir + "/cert.pem", dir + "/key.pem"};
  std::error_code ec;
  if (std::filesystem::exists(paths.first, ec) && std::filesystem::exists(paths.second, ec)) {
    return paths;
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) return unexpected(ec, "create " + dir);
  if (auto made = tls::generate_self_signed(config.node.hostname, paths.first, paths.second);
      !made) {
    return unexpected(made.error());
  }
  log::info("tls: no [tls] certificate configured; made a self-signed one for " +
            config.node.hostname + " in " + dir);
  return paths;
}

// The spool and its crash-loop breaker, and the admin key: with no [http] admin_key, the
// spool's, for the admin API never answers without a key.
bool open_spool(const Config& config, Stores& stores) {
  auto store = queue::RocksDbStore::open(
      config.spool.path,
      {.sync = config.spool.sync, .sync_dispositions = config.spool.sync_dispositions});
  if (!store) {
    log::error("cannot open spool " + config.spool.path + ": " + store.error().message());
    return false;
  }
  stores.spool = std::move(store).value();
  auto breaker = start_crash_breaker(config.spool.path, *stores.spool);
  if (!breaker) {
    log::error("queue: crash-loop breaker: " + breaker.error().message());
    return false;
  }
  stores.breaker = std::move(breaker).value();
  if (config.http.admin_key.empty()) {
    auto made = use_spool_admin_key(config.spool.path);
    if (!made) {
      log::error("admin key: " + made.error().message());
      return false;
    }
    stores.spool_admin_key = std::move(made).value();
  }
  return true;
}

// The bounce mailbox, and the keys that tag VERP return paths and X-Outpost-Ref (a bounce
// suppresses only when one of them verifies it; read once: a rotation takes effect at the
// next start).
bool open_mailbox(const Config& config, Stores& stores) {
  auto mail_store = mailbox::MailStore::open(
      config.spool.path + "/mailbox",
      {.sync = config.spool.sync,
       .quota_bytes = config.mailbox.quota_bytes,
       .retention = std::chrono::duration_cast<std::chrono::seconds>(config.mailbox.retention)});
  if (!mail_store) {
    log::error("cannot open the bounce mailbox in " + config.spool.path +
               "/mailbox: " + mail_store.error().message());
    return false;
  }
  stores.mail = std::move(mail_store).value();
  const std::string bounce_key_file =
      config.bounce.key_file.empty() ? config.spool.path + "/bounce-keys" : config.bounce.key_file;
  auto bounce_keys =
      queue::BounceKeys::open(bounce_key_file,
                              std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count(),
                              std::chrono::duration_cast<std::chrono::seconds>(
                                  config.queue.retry.max_age + config.bounce.key_grace)
                                  .count());
  if (!bounce_keys) {
    log::error("bounce keys: " + bounce_keys.error().message());
    return false;
  }
  stores.bounce_keys.emplace(std::move(bounce_keys).value());
  return true;
}

// The server certificate, loaded once (the configured one by read_settings) to refuse a bad
// one before anything listens and to give every shard the same session ticket keys (a client
// resumes on whichever shard accepts it).
bool use_certificate(const Config& config, const Settings& settings, Stores& stores) {
  if (settings.configured_tls != nullptr) {
    stores.certificate = {config.tls.certificate, config.tls.key};
    stores.ticket_keys = settings.configured_tls->ticket_keys();
    return true;
  }
  auto certificate = self_signed_certificate(config);
  if (!certificate) {
    log::error("tls: " + certificate.error().message());
    return false;
  }
  stores.certificate = *certificate;
  auto first_tls = tls::ServerContext::load(certificate->first, certificate->second);
  if (!first_tls) {
    log::error("tls: " + first_tls.error().message());
    return false;
  }
  stores.ticket_keys = (*first_tls)->ticket_keys();
  return true;
}

}  // namespace

bool Daemon::open_stores() {
  stores_ = std::make_unique<Stores>();
  return open_spool(config_, *stores_) && open_mailbox(config_, *stores_) &&
         use_certificate(config_, *settings_, *stores_);
}

}  // namespace mta::app
