// Phase: what the config says, checked and converted by the module that owns each part, before
// anything is opened: the listen addresses (engine), trusted networks, users and tenant
// defaults (injection), DKIM keys (dkim), the TLS certificate and CA file (tls), the bounce
// rules (mailbox), the response rules, relay, sources, shaping and tenants' caps (delivery), the
// DNS servers (dns). `run --check-config` runs exactly this, so it refuses what `run` refuses.
// Every error names the file, line and key through Config::locations.
#include "app/daemon/daemon.h"
#include "base/log.h"
#include "dkim/config.h"
#include "dns/ares_resolver.h"
#include "injection/config.h"
#include "tls/errc.h"

namespace mta::app {
namespace {

// Each address of one listening key ("submission.listen"), parsed.
Result<void> read_addresses(const Config& config, const std::string& key,
                            const std::vector<std::string>& texts,
                            std::vector<engine::SocketAddress>& out) {
  for (const std::string& text : texts) {
    auto address = engine::SocketAddress::parse(text);
    if (!address) {
      return config.locations.error(
          key, "\"" + text +
                   "\" is not a numeric address and port (\"127.0.0.1:2525\", \"[::1]:2525\", "
                   "\"0.0.0.0:25\")");
    }
    out.push_back(*address);
  }
  return {};
}

Result<void> read_listen(const Config& config, ListenAddresses& out) {
  const struct {
    const char* key;
    const std::vector<std::string>& texts;
    std::vector<engine::SocketAddress>& into;
  } keys[] = {{"submission.listen", config.submission.listen, out.submission},
              {"submission.tls_listen", config.submission.tls_listen, out.submission_tls},
              {"metrics.listen", config.metrics.listen, out.metrics},
              {"http.listen", config.http.listen, out.http},
              {"bounce.listen", config.bounce.listen, out.bounce},
              {"pop3.listen", config.pop3.listen, out.pop3},
              {"pop3.tls_listen", config.pop3.tls_listen, out.pop3_tls},
              {"imap.listen", config.imap.listen, out.imap},
              {"imap.tls_listen", config.imap.tls_listen, out.imap_tls}};
  for (const auto& one : keys) CONFIG_TRY(read_addresses(config, one.key, one.texts, one.into));
  return {};
}

// Trusted networks, submission users, and what [[tenant]] gives intake: its messages' class and
// pool when they name none. (Delivery, which owns [[tenant]], may not be seen by injection.)
Result<void> read_access(const Config& config, Settings& settings) {
  auto trusted = injection::NetworkList::parse(config.submission.trusted_networks);
  if (!trusted) {
    return config.locations.error("submission.trusted_networks", trusted.error().detail);
  }
  settings.trusted = std::move(trusted).value();
  settings.users = injection::load_users(config.submission.users);
  for (const auto& tenant : config.delivery.tenants) {
    settings.tenant_defaults[tenant.name] = {
        .traffic_class = queue::parse_traffic_class(tenant.traffic_class)
                             .value_or(queue::TrafficClass::transactional),
        .source_pool = tenant.source_pool};
  }
  return {};
}

Result<void> read_signing(const Config& config, Settings& settings) {
  auto signing = dkim::load_signing_keys(config.dkim, config.locations);
  if (!signing) return unexpected(signing.error());
  settings.signing = std::move(signing).value();
  if (settings.signing) {
    log::info("dkim: signing with " + std::to_string(settings.signing->signers().size()) + " keys");
  }
  return {};
}

// The configured server certificate, loaded once here to refuse a bad one before anything
// listens, and the CA file of verified delivery.
Result<void> read_tls(const Config& config, Settings& settings) {
  if (!config.tls.certificate.empty()) {
    auto loaded = tls::ServerContext::load(config.tls.certificate, config.tls.key);
    if (!loaded) {
      const bool key = loaded.error().code == tls::Errc::bad_key;
      return config.locations.error(key ? "tls.key" : "tls.certificate", loaded.error().detail);
    }
    settings.configured_tls = std::move(loaded).value();
  }
  settings.verify_options = tls::ClientOptions{.verify = tls::Verify::chain_and_name,
                                               .ca_file = config.delivery.tls_ca_file};
  if (auto verifying = tls::ClientContext::create(settings.verify_options); !verifying) {
    return config.locations.error("delivery.tls_ca_file", verifying.error().detail);
  }
  return {};
}

// A rules file named by `key`, read and parsed by `parse`; "" keeps the built-in rules.
template <typename Rules, typename Parse>
Result<std::optional<Rules>> read_rules(const Config& config, const std::string& key,
                                        const std::string& path, Parse parse) {
  if (path.empty()) return std::optional<Rules>();
  auto text = read_file(path);
  if (!text) {
    return config.locations.error(key, text.error().detail + ": " + text.error().code.message());
  }
  auto parsed = parse(*text);
  if (!parsed) return config.locations.error(key, path + ": " + parsed.error().detail);
  return std::optional<Rules>(std::move(parsed).value());
}

// The bounce rules, and the response rules (checked here for their line in the file; delivery
// reads them again below).
Result<void> read_rules_files(const Config& config, Settings& settings) {
  auto bounce =
      read_rules<mailbox::Rules>(config, "bounce.rules", config.bounce.rules,
                                 [](std::string_view text) { return mailbox::Rules::parse(text); });
  if (!bounce) return unexpected(bounce.error());
  settings.bounce_rules = std::move(bounce).value();
  auto response = read_rules<delivery::ResponseRules>(
      config, "delivery.response_rules", config.delivery.response_rules,
      [](std::string_view text) { return delivery::ResponseRules::parse(text); });
  if (!response) return unexpected(response.error());
  return {};
}

// delivery::load_delivery_settings logs what it refuses; the error adds where [delivery] is.
Result<void> read_delivery(const Config& config, Settings& settings) {
  auto delivery = delivery::load_delivery_settings(
      config.delivery, delivery::OtherSections{.hostname = config.node.hostname,
                                               .tls = config.tls,
                                               .queue = config.queue,
                                               .cluster = config.cluster,
                                               .dns = config.dns});
  if (!delivery) return config.locations.error("delivery", "refused (the reason is logged above)");
  settings.delivery = std::move(delivery).value();
  return {};
}

// The resolver, made as each shard makes it (and dropped): its servers parse. Checked with a
// relay too: a wrong [dns] is wrong whether or not this start uses it.
Result<void> check_resolver(const Config& config) {
  auto resolver = dns::AresResolver::create(config.dns.resolver);
  if (!resolver) return config.locations.error("dns.servers", resolver.error().message());
  return {};
}

}  // namespace

Result<std::unique_ptr<Settings>> check_settings(const Config& config) {
  auto settings = std::make_unique<Settings>();
  CONFIG_TRY(read_listen(config, settings->listen));
  CONFIG_TRY(read_access(config, *settings));
  CONFIG_TRY(read_tls(config, *settings));
  CONFIG_TRY(read_signing(config, *settings));
  CONFIG_TRY(read_rules_files(config, *settings));
  CONFIG_TRY(check_resolver(config));
  CONFIG_TRY(read_delivery(config, *settings));
  return settings;
}

bool Daemon::read_settings() {
  auto settings = check_settings(config_);
  if (!settings) {
    report_config_error(settings.error());
    return false;
  }
  settings_ = std::move(settings).value();
  return true;
}

}  // namespace mta::app
