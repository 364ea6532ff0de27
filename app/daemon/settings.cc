// Phase: what the config says for the data path, each section converted by its module: trusted
// networks, users and tenant defaults (injection), DKIM keys (dkim), the relay, TLS policies,
// sources, shaping, tenants' caps and response rules (delivery).
#include "app/daemon/daemon.h"
#include "base/log.h"
#include "dkim/config.h"
#include "injection/config.h"

namespace mta::app {
namespace {

// Trusted networks, submission users, and what [[tenant]] gives intake: its messages' class and
// pool when they name none. (Delivery, which owns [[tenant]], may not be seen by injection.)
bool read_access(const Config& config, Settings& settings) {
  auto trusted = injection::NetworkList::parse(config.submission.trusted_networks);
  if (!trusted) {
    log::error("submission.trusted_networks: " + trusted.error().message());
    return false;
  }
  settings.trusted = std::move(trusted).value();
  settings.users = injection::load_users(config.submission.users);
  for (const auto& tenant : config.delivery.tenants) {
    settings.tenant_defaults[tenant.name] = {
        .traffic_class = queue::parse_traffic_class(tenant.traffic_class)
                             .value_or(queue::TrafficClass::transactional),
        .source_pool = tenant.source_pool};
  }
  return true;
}

bool read_signing(const Config& config, Settings& settings) {
  auto signing = dkim::load_signing_keys(config.dkim);
  if (!signing) {
    log::error("dkim: " + signing.error().message());
    return false;
  }
  settings.signing = std::move(signing).value();
  if (settings.signing) {
    log::info("dkim: signing with " + std::to_string(settings.signing->signers().size()) + " keys");
  }
  return true;
}

}  // namespace

bool Daemon::read_settings() {
  settings_ = std::make_unique<Settings>();
  if (!read_access(config_, *settings_) || !read_signing(config_, *settings_)) return false;
  auto delivery = delivery::load_delivery_settings(
      config_.delivery, delivery::OtherSections{.hostname = config_.node.hostname,
                                                .tls = config_.tls,
                                                .queue = config_.queue,
                                                .cluster = config_.cluster,
                                                .dns = config_.dns});
  if (!delivery) return false;
  settings_->delivery = std::move(delivery).value();
  return true;
}

}  // namespace mta::app
