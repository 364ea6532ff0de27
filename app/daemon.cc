// Shard wiring. Every shard accepts on every submission address (SO_REUSEPORT) and group-
// commits what it accepts; each domain is owned by one shard, chosen by hash, and parts
// accepted on the others are handed to it through the engine's cross-shard channels, by key
// only (the body stays in the spool). The domain hands what is due to the pool of its MX host
// set, owned by the shard its name hashes to.
#include "app/daemon.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "app/admin.h"
#include "app/admin_key.h"
#include "app/crash_breaker.h"
#include "app/status.h"
#include "app/status_page.h"
#include "app/telemetry.h"
#include "base/ascii.h"
#include "base/envelope_address.h"
#include "base/log.h"
#include "cluster/fleet.h"
#include "delivery/dns_poller.h"
#include "delivery/router.h"
#include "delivery/scheduler.h"
#include "dkim/keyring.h"
#include "dns/ares_resolver.h"
#include "dns/caching_resolver.h"
#include "engine/listener.h"
#include "engine/runtime.h"
#include "injection/api.h"
#include "injection/committer.h"
#include "injection/http_listener.h"
#include "injection/injector.h"
#include "injection/submission.h"
#include "mailbox/errc.h"
#include "mailbox/imap_listener.h"
#include "mailbox/intake.h"
#include "mailbox/intake_limit.h"
#include "mailbox/pop3_listener.h"
#include "mailbox/store.h"
#include "metrics/exposition.h"
#include "metrics/line_log.h"
#include "queue/bounce_keys.h"
#include "queue/message_id.h"
#include "queue/rocksdb_store.h"
#include "tls/certificate.h"
#include "tls/context.h"

namespace mta::app {
namespace {

// What one shard runs; created on the shard's thread by the runtime's init, destroyed by the
// main thread after every shard thread has exited.
struct ShardServices {
  // MX resolution (no relay): c-ares polled on the shard's ring, and the shard's cache.
  std::unique_ptr<dns::AresResolver> ares;
  std::unique_ptr<delivery::DnsPoller> dns_poller;
  std::unique_ptr<dns::CachingResolver> mx;
  std::unique_ptr<queue::MessageIdGenerator> ids;
  std::unique_ptr<injection::Committer> committer;
  std::unique_ptr<delivery::Scheduler> delivery;
  std::unique_ptr<injection::Injector> injector;  // shared by SMTP submission and the HTTP API
  std::unique_ptr<injection::SubmissionListener> submission;
  std::unique_ptr<injection::HttpApi> api;
  std::unique_ptr<AdminApi> admin;
  std::unique_ptr<injection::HttpListener> http;
  std::unique_ptr<injection::HttpListener> metrics;  // [metrics] listen, when set
  // The bounce mailbox, on shard 0 only (mailbox_shard): the intake and its SMTP listener.
  std::unique_ptr<mailbox::BounceIntake> intake;
  mailbox::MailStore* mail = nullptr;                     // the store, for its metrics
  std::unique_ptr<mailbox::IntakeLimiter> bounce_limits;  // per client; outlives bounce_smtp
  std::unique_ptr<injection::SubmissionListener> bounce_smtp;
  std::unique_ptr<mailbox::Pop3Listener> pop3;
  std::unique_ptr<mailbox::ImapListener> imap;
  // What the last history expiry (shard 0 only) did; written on the worker, read in its done.
  Result<std::uint64_t> history_expired = std::uint64_t{0};
  // TLS: this shard's server certificate (same ticket keys on every shard) and its outbound
  // contexts, opportunistic (no verification required) and verifying.
  std::unique_ptr<tls::ServerContext> tls_server;
  std::unique_ptr<tls::ClientContext> tls_client;
  std::unique_ptr<tls::ClientContext> tls_verify;
};

// The shard that owns the bounce mailbox: its store, intake, IMAP and POP3 sessions. Bounces
// are few next to outbound mail, and one owner keeps the folders free of locks.
constexpr ShardId mailbox_shard(0);

// The domain of an address, or "".
std::string_view domain_of(std::string_view address) {
  const auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

// One listening socket per (address, shard), all bound to the same port. For port 0 the first
// socket picks the port and the others follow it.
Result<std::vector<std::vector<int>>> open_listeners(const std::vector<std::string>& addresses,
                                                     std::uint32_t shard_count,
                                                     std::string_view what) {
  std::vector<std::vector<int>> fds(shard_count);
  for (const auto& text : addresses) {
    auto address = engine::SocketAddress::parse(text);
    if (!address) return unexpected(address.error().code, "listen address " + text);
    if (address->port() != 0) {
      if (auto free = engine::check_port_free(*address); !free) {
        return unexpected(free.error().code,
                          "cannot listen on " + text + ": " + free.error().detail);
      }
    }
    for (std::uint32_t shard = 0; shard < shard_count; ++shard) {
      auto fd = engine::open_listen_socket(*address);
      if (!fd)
        return unexpected(fd.error().code,
                          "cannot listen on " + text + ": " + fd.error().message());
      if (shard == 0) {
        auto bound = engine::local_address(*fd);
        if (!bound) return unexpected(bound.error());
        *address = *bound;
        log::info(std::string(what) + " listening on " + address->to_string());
      }
      fds[shard].push_back(*fd);
    }
  }
  return fds;
}

// Where the shards report what they do: metrics, the status page, the delivery log.
struct Observers {
  Telemetry& telemetry;
  StatusBoard& board;
  metrics::LineLog* log = nullptr;        // [log] delivery_log, when set
  const cluster::Fleet* fleet = nullptr;  // [cluster] redis, when set
};

// Copies the shard's probes into its metrics registry and its totals and destinations to the
// status board, now and every second after, until the shard stops.
void sync_metrics(engine::Shard& shard, ShardServices& mine, const Observers& observers) {
  ShardCounts counts;
  if (mine.submission != nullptr) counts.injection = mine.submission->probe();
  if (mine.api != nullptr) counts.http = mine.api->probe();
  if (mine.delivery != nullptr) {
    counts.delivery = mine.delivery->probe();
    counts.bounce = mine.delivery->bounce_probe();
    counts.parts_scheduled = mine.delivery->scheduled_count();
  }
  std::vector<DestinationStatus> destinations;
  if (mine.delivery != nullptr) {
    mine.delivery->for_each_dispatcher([&](const delivery::Dispatcher& d) {
      counts.parts_waiting += d.waiting_count();
      counts.parts_ready += d.ready_count();
      counts.parts_in_flight += d.busy_count();
      counts.parts_quarantined += d.quarantined_count();
      if (d.connection_count() > 0)
        counts.connections.emplace_back(d.destination(), d.connection_count());
      // Pools carry their domains' parts for a moment only: the domains are the rows (a
      // pool's connections show in outpost_connections_open).
      if (!d.is_pool() && (d.scheduled_count() + d.connection_count() > 0 || d.suspended_until())) {
        destinations.push_back({.destination = d.destination(),
                                .parts = d.scheduled_count() + d.busy_count(),
                                .connections = d.connection_count(),
                                .suspended_until = d.suspended_until()});
      }
    });
  }
  if (observers.log != nullptr && shard.id().value() == 0) {
    counts.log_lines = observers.log->lines_written();
    counts.log_dropped = observers.log->lines_dropped();
    counts.log_failures = observers.log->write_failures();
  }
  if (observers.fleet != nullptr && shard.id().value() == 0) {
    counts.fleet = observers.fleet->counters();
    counts.fleet_on = true;
  }
  if (mine.bounce_smtp != nullptr) counts.bounce_smtp = mine.bounce_smtp->probe();
  if (mine.intake != nullptr) {
    counts.intake = mine.intake->probe();
    counts.suppressed_addresses = mine.intake->suppressions_size();
  }
  if (mine.mail != nullptr) {
    counts.mailbox_store = mine.mail->probe();
    counts.mailbox_bytes = mine.mail->bytes();
    counts.mailbox_messages = mine.mail->message_count();
  }
  if (mine.bounce_limits != nullptr) counts.bounce_limits = mine.bounce_limits->probe();
  if (mine.imap != nullptr) counts.imap = mine.imap->probe();
  if (mine.pop3 != nullptr) counts.pop3 = mine.pop3->probe();
  observers.telemetry.sync(shard.id().value(), counts);
  StatusTotals totals{.received = counts.injection.messages_queued + counts.http.messages_queued,
                      .delivered = counts.delivery.recipients_delivered,
                      .deferred = counts.delivery.recipients_deferred,
                      .bounced = counts.delivery.recipients_bounced,
                      .suppressed = counts.delivery.recipients_suppressed,
                      .bounce_categories = counts.intake.by_category};
  observers.board.publish(shard.id().value(), totals, std::move(destinations));
  if (shard.id().value() == 0) observers.board.sample(shard.clock().wall_now());
  if (shard.stopping()) return;
  shard.schedule(std::chrono::seconds(1),
                 [&shard, &mine, observers] { sync_metrics(shard, mine, observers); });
}

// This machine's (or pod's) name, fleet mode's default node name: unlike node.hostname, the
// EHLO name every node of a fleet may share, it tells the nodes apart.
std::string machine_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "outpost";
  return name;
}

// Fleet mode: the shard's claims to the fleet and its standing back to its dispatchers, every
// sync interval until the shard stops.
void sync_fleet(engine::Shard& shard, delivery::Scheduler& delivery, cluster::Fleet& fleet) {
  if (shard.stopping()) return;
  fleet.exchange(shard.id().value(), [&delivery](const cluster::Standing& standing) {
    delivery.apply_fleet(standing);
    return delivery.fleet_claims();
  });
  shard.schedule(fleet.options().sync_interval,
                 [&shard, &delivery, &fleet] { sync_fleet(shard, delivery, fleet); });
}

// Writes the delivery log's pending lines on the shard's blocking worker five times a second,
// until the shard stops (the log writes the rest when it closes).
void flush_delivery_log(engine::Shard& shard, metrics::LineLog& log) {
  if (shard.stopping()) return;
  shard.schedule(std::chrono::milliseconds(200), [&shard, &log] {
    shard.offload([&log] { log.write_pending(); },
                  [&shard, &log] { flush_delivery_log(shard, log); });
  });
}

// Drops the final states of parts of messages accepted more than `retention` ago (the status
// API's history), now and every five minutes until the shard stops. Runs on shard 0's worker:
// one DeleteRange over ids below the cut, so the reactor never waits for it.
void expire_history(engine::Shard& shard, queue::Store& spool, ShardServices& mine,
                    Clock::Duration retention) {
  if (shard.stopping()) return;
  const MessageId before = queue::first_message_id_at(
      shard.clock().wall_now() - std::chrono::duration_cast<Clock::WallTime::duration>(retention));
  shard.offload(
      [&spool, &mine, before] { mine.history_expired = spool.expire_history(before); },
      [&shard, &spool, &mine, retention] {
        if (!mine.history_expired) {
          log::warning("history expiry failed: " + mine.history_expired.error().message());
        } else if (*mine.history_expired > 0) {
          log::debug("history expiry dropped " + std::to_string(*mine.history_expired) +
                     " records");
        }
        if (shard.stopping()) return;
        shard.schedule(std::chrono::minutes(5), [&shard, &spool, &mine, retention] {
          expire_history(shard, spool, mine, retention);
        });
      });
}

// One message for the bounce mailbox, on its shard: the answer the SMTP intake (or the
// Bouncer) gets. Durable when queued.
injection::Injected store_bounce(engine::Shard& shard, mailbox::BounceIntake& intake,
                                 std::string_view mail_from,
                                 const std::vector<std::string>& recipients,
                                 std::string_view body) {
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(shard.clock().wall_now().time_since_epoch())
          .count();
  auto report = intake.receive(mail_from, recipients, body, now);
  if (!report && report.error().code == mailbox::Errc::over_quota) {
    return injection::Injected{.status = injection::Injected::Status::refused,
                               .detail = "message larger than the bounce mailbox"};
  }
  if (!report) {
    log::error("bounce mailbox: cannot store a bounce: " + report.error().message());
    return injection::Injected{.status = report.error().code == mailbox::Errc::no_space
                                             ? injection::Injected::Status::no_space
                                             : injection::Injected::Status::failed,
                               .detail = "mailbox write failed"};
  }
  const mailbox::BounceRecipient* primary = mailbox::primary_recipient(*report);
  std::string what(mailbox::to_string(report->kind));
  if (primary != nullptr) {
    what += " " + std::string(mailbox::to_string(primary->category)) +
            (primary->hard ? " hard " : " soft ") + primary->address;
  }
  if (log::enabled(log::Level::debug)) log::debug("bounce mailbox: stored " + what);
  return injection::Injected{.status = injection::Injected::Status::queued,
                             .detail = "stored: " + what};
}

// The mailbox's quota and retention, now and every minute until the shard stops: appends
// expire what they need room for, this catches up with time (retention) and with a quota
// lowered while the daemon was down.
void expire_mailbox(engine::Shard& shard, mailbox::MailStore& mail) {
  if (auto expired = mail.expire(); !expired) {
    log::error("bounce mailbox: cannot expire old messages: " + expired.error().message());
  } else if (*expired > 0) {
    log::info("bounce mailbox: expired " + std::to_string(*expired) +
              " messages (quota or retention), " + std::to_string(mail.message_count()) +
              " left, " + std::to_string(mail.bytes()) + " octets");
  }
  if (shard.stopping()) return;
  shard.schedule(std::chrono::minutes(1), [&shard, &mail] { expire_mailbox(shard, mail); });
}

// A DSN delivery made for one of our VERP return paths: stored by the mailbox shard, and
// `done` told on `from` (the Bouncer keeps the part until then).
void store_own_dsn(engine::Shard& from, std::string&& recipient, std::string&& body,
                   std::function<void(const Result<void>&)> done,
                   std::vector<ShardServices>& services) {
  struct Own {
    std::string recipient;
    std::string body;
    std::function<void(const Result<void>&)> done;
    injection::Injected result;
  };
  auto own = std::make_shared<Own>(
      Own{.recipient = std::move(recipient), .body = std::move(body), .done = std::move(done)});
  const ShardId origin = from.id();
  from.post_until_taken(mailbox_shard, [own, origin, &services](engine::Shard& on) {
    ShardServices& its = services[on.id().value()];
    own->result = its.intake != nullptr
                      ? store_bounce(on, *its.intake, "", {own->recipient}, own->body)
                      : injection::Injected{.status = injection::Injected::Status::failed};
    on.post_until_taken(origin, [own](engine::Shard&) {
      if (own->result.status == injection::Injected::Status::queued) return own->done({});
      own->done(unexpected(std::make_error_code(std::errc::io_error), own->result.detail));
    });
  });
}

// The server certificate of [tls], or, with none configured, a self-signed one for the host name,
// made at the first start in <spool>/tls/ and kept.
Result<std::pair<std::string, std::string>> server_certificate(const Config& config) {
  if (!config.tls_certificate.empty()) {
    return std::make_pair(config.tls_certificate, config.tls_key);
  }
  const std::string dir = config.spool_path + "/tls";
  std::pair<std::string, std::string> paths{dir + "/cert.pem", dir + "/key.pem"};
  std::error_code ec;
  if (std::filesystem::exists(paths.first, ec) && std::filesystem::exists(paths.second, ec)) {
    return paths;
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) return unexpected(ec, "create " + dir);
  if (auto made = tls::generate_self_signed(config.hostname, paths.first, paths.second); !made) {
    return unexpected(made.error());
  }
  log::info("tls: no [tls] certificate configured; made a self-signed one for " + config.hostname +
            " in " + dir);
  return paths;
}

// The [[dkim]] keys, read once at start; a key that cannot be used stops the start.
Result<std::optional<dkim::KeyRing>> load_signing_keys(const Config& config) {
  if (config.dkim_keys.empty()) return std::optional<dkim::KeyRing>();
  std::vector<dkim::KeyConfig> keys;
  dkim::KeyRingPolicy policy;
  for (const auto& key : config.dkim_keys) {
    dkim::KeyConfig entry{.domain = key.domain,
                          .selector = key.selector,
                          .key_path = key.key_path,
                          .algorithm = std::nullopt,
                          .headers = key.headers};
    if (!key.algorithm.empty()) {
      auto algorithm = dkim::parse_algorithm(key.algorithm);
      if (!algorithm) return unexpected(algorithm.error());
      entry.algorithm = *algorithm;
    }
    if (key.role == "fallback") policy.fallback_domain = key.domain;
    if (key.role == "platform") policy.platform_domain = key.domain;
    keys.push_back(std::move(entry));
  }
  auto ring = dkim::load_keys(keys, policy);
  if (!ring) return unexpected(ring.error());
  return std::optional<dkim::KeyRing>(std::move(ring).value());
}

// A listener's limits with its own cap of connections per shard.
engine::ListenerLimits with_shard_cap(engine::ListenerLimits limits, std::size_t connections_max) {
  limits.connections_max = connections_max;
  return limits;
}

}  // namespace

int run_daemon(const Config& config, const std::string& config_path) {
  // First of all: a SIGTERM that arrives while starting (say, right after the listeners are
  // logged) waits for run_until_signal() and stops the daemon cleanly instead of killing it.
  engine::Runtime::block_stop_signals();
  log::set_level(config.log_level);
  for (const auto& section : config.ignored_sections) {
    log::warning("config section [" + section + "] is not used by this build yet");
  }

  auto store = queue::RocksDbStore::open(
      config.spool_path,
      {.sync = config.spool_sync, .sync_dispositions = config.spool_sync_dispositions});
  if (!store) {
    log::error("cannot open spool " + config.spool_path + ": " + store.error().message());
    return 1;
  }
  auto breaker = start_crash_breaker(config.spool_path, **store);
  if (!breaker) {
    log::error("queue: crash-loop breaker: " + breaker.error().message());
    return 1;
  }
  // The admin API never answers without a key: with no [http] admin_key, the spool's.
  std::string spool_admin_key;
  if (config.admin_key.empty()) {
    auto made = use_spool_admin_key(config.spool_path);
    if (!made) {
      log::error("admin key: " + made.error().message());
      return 1;
    }
    spool_admin_key = std::move(made).value();
  }

  auto mail_store = mailbox::MailStore::open(
      config.spool_path + "/mailbox",
      {.sync = config.spool_sync,
       .quota_bytes = config.mailbox_quota_bytes,
       .retention = std::chrono::duration_cast<std::chrono::seconds>(config.mailbox_retention)});
  if (!mail_store) {
    log::error("cannot open the bounce mailbox in " + config.spool_path +
               "/mailbox: " + mail_store.error().message());
    return 1;
  }
  // The keys that tag VERP return paths and X-Outpost-Ref; a bounce suppresses only when one
  // of them verifies it. Read once: a rotation takes effect at the next start.
  const std::string bounce_key_file =
      config.bounce_key_file.empty() ? config.spool_path + "/bounce-keys" : config.bounce_key_file;
  auto bounce_keys = queue::BounceKeys::open(
      bounce_key_file,
      std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count(),
      std::chrono::duration_cast<std::chrono::seconds>(config.max_age + config.bounce_key_grace)
          .count());
  if (!bounce_keys) {
    log::error("bounce keys: " + bounce_keys.error().message());
    return 1;
  }
  std::optional<mailbox::Rules> bounce_rules;
  if (!config.bounce_rules.empty()) {
    auto text = read_file(config.bounce_rules);
    auto parsed =
        text ? mailbox::Rules::parse(*text) : Result<mailbox::Rules>(unexpected(text.error()));
    if (!parsed) {
      log::error("bounce.rules " + config.bounce_rules + ": " + parsed.error().message());
      return 1;
    }
    bounce_rules = std::move(parsed).value();
  }

  auto certificate = server_certificate(config);
  if (!certificate) {
    log::error("tls: " + certificate.error().message());
    return 1;
  }
  // Loaded once here to refuse a bad certificate before anything listens, and to give every
  // shard the same session ticket keys (a client resumes on whichever shard accepts it).
  auto first_tls = tls::ServerContext::load(certificate->first, certificate->second);
  if (!first_tls) {
    log::error("tls: " + first_tls.error().message());
    return 1;
  }
  const std::string ticket_keys = (*first_tls)->ticket_keys();
  const tls::ClientOptions verify_options{.verify = tls::Verify::chain_and_name,
                                          .ca_file = config.tls_ca_file};
  if (auto verifying = tls::ClientContext::create(verify_options); !verifying) {
    log::error("delivery.tls_ca_file: " + verifying.error().message());
    return 1;
  }

  // Checked by the config parser already.
  const delivery::TlsPolicy tls_default =
      delivery::parse_tls_policy(config.tls_policy).value_or(delivery::TlsPolicy::opportunistic);
  std::map<std::string, delivery::TlsPolicy> tls_policies;
  for (const auto& [domain, policy] : config.tls_policies) {
    tls_policies[domain] = delivery::parse_tls_policy(policy).value_or(tls_default);
  }

  auto trusted = injection::NetworkList::parse(config.trusted_networks);
  if (!trusted) {
    log::error("submission.trusted_networks: " + trusted.error().message());
    return 1;
  }
  injection::Users users;
  for (const auto& user : config.users) {
    users.add(user.name, user.password_hash);
    if (!user.tenant.empty()) users.set_tenant(user.name, user.tenant);
  }
  // [[tenant]]: defaults applied at intake, rate caps at delivery.
  std::unordered_map<std::string, injection::InjectorOptions::TenantDefaults> tenant_defaults;
  std::vector<delivery::TenantLimits> tenant_limits;
  std::vector<std::string> source_pools;  // a message may name these
  for (const auto& source : config.sources) {
    if (std::find(source_pools.begin(), source_pools.end(), source.pool) == source_pools.end()) {
      source_pools.push_back(source.pool);
    }
  }
  for (const auto& tenant : config.tenants) {
    tenant_defaults[tenant.name] = {
        .traffic_class = injection::parse_traffic_class(tenant.traffic_class)
                             .value_or(queue::TrafficClass::transactional),
        .source_pool = tenant.source_pool};
    tenant_limits.push_back({.name = tenant.name,
                             .messages_per_second = tenant.messages_per_second,
                             .messages_per_hour = tenant.messages_per_hour});
  }
  delivery::make_shared_rates(tenant_limits);  // one bucket per cap for the node

  auto signing = load_signing_keys(config);
  if (!signing) {
    log::error("dkim: " + signing.error().message());
    return 1;
  }
  if (*signing) {
    log::info("dkim: signing with " + std::to_string((*signing)->signers().size()) + " keys");
  }

  // delivery.relay: one smarthost, or several separated by commas, tried in order.
  std::vector<engine::SocketAddress> relay;
  std::string relay_text;
  for (std::size_t at = 0; at < config.relay.size();) {
    std::size_t comma = config.relay.find(',', at);
    if (comma == std::string::npos) comma = config.relay.size();
    std::string item = config.relay.substr(at, comma - at);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    at = comma + 1;
    auto parsed = engine::SocketAddress::parse(item);
    if (!parsed) {
      log::error("delivery.relay \"" + item + "\" is not a numeric host:port");
      return 1;
    }
    relay.push_back(*parsed);
    relay_text += (relay_text.empty() ? "" : ", ") + parsed->to_string();
  }
  if (relay.empty()) {
    log::info("delivery by MX records; DNS servers: " +
              (config.dns_servers.empty() ? std::string("/etc/resolv.conf") : [&] {
                std::string list;
                for (const auto& s : config.dns_servers) {
                  list += (list.empty() ? "" : ", ") + s;
                }
                return list;
              }()));
  }

  std::vector<delivery::Source> sources;
  for (const auto& source : config.sources) {
    std::shared_ptr<delivery::SourceBudget> budget;
    std::string warmup;
    if (source.warmup_start_day) {
      delivery::WarmupSchedule schedule = delivery::WarmupSchedule::standard();
      for (const auto& custom : config.warmups) {
        if (custom.name == source.warmup) schedule = {.name = custom.name, .daily = custom.daily};
      }
      budget = std::make_shared<delivery::SourceBudget>(schedule, *source.warmup_start_day);
      const auto now = std::chrono::system_clock::now();
      const auto cap = budget->cap(now);
      warmup = ", warm-up \"" + schedule.name + "\" day " +
               std::to_string(delivery::utc_day(now) - *source.warmup_start_day + 1) +
               (cap ? ": " + std::to_string(*cap) + " messages today" : ": warm");
    }
    sources.push_back({.address = source.bound,
                       .helo_name = source.ehlo,
                       .weight = source.weight,
                       .pool = source.pool,
                       .budget = std::move(budget)});
    log::info("delivery: sending from " + source.address + " as " +
              (source.ehlo.empty() ? config.hostname : source.ehlo) + ", weight " +
              std::to_string(source.weight) + warmup);
  }

  std::vector<delivery::ShapingRule> rules;
  for (const auto& rule : config.shaping) {
    delivery::Limits limits;
    if (rule.connections_max > 0) limits.connections_max = rule.connections_max;
    if (rule.messages_per_connection_max > 0) {
      limits.messages_per_connection_max = rule.messages_per_connection_max;
    }
    if (rule.recipients_per_message_max > 0) {
      limits.recipients_per_message_max = rule.recipients_per_message_max;
    }
    if (rule.connections_per_source_max > 0) {
      limits.connections_per_source_max = rule.connections_per_source_max;
    }
    limits.messages_per_second = rule.messages_per_second;
    limits.messages_per_hour = rule.messages_per_hour;
    limits.messages_per_day = rule.messages_per_day;
    limits.connections_per_minute = rule.connections_per_minute;
    rules.push_back({.domain = rule.domain, .mx_suffix = rule.mx_suffix, .limits = limits});
  }
  const delivery::Shaping shaping(std::move(rules));
  delivery::ResponseRules response_rules = delivery::ResponseRules::defaults();
  if (!config.response_rules.empty()) {
    auto text = read_file(config.response_rules);
    auto parsed = text ? delivery::ResponseRules::parse(*text)
                       : Result<delivery::ResponseRules>(unexpected(text.error()));
    if (!parsed) {
      log::error("delivery.response_rules " + config.response_rules + ": " +
                 parsed.error().message());
      return 1;
    }
    response_rules = std::move(parsed).value();
  }

  engine::RuntimeOptions runtime_options{.shard_count = config.shards,
                                         .drain_timeout = config.drain_timeout};
  engine::Runtime runtime(runtime_options);
  const std::uint32_t shard_count = runtime.shard_count();
  auto listen_fds = open_listeners(config.submission_listen, shard_count, "submission");
  if (!listen_fds) {
    log::error(listen_fds.error().message());
    return 1;
  }
  auto tls_fds = open_listeners(config.submission_tls_listen, shard_count, "submission (TLS)");
  if (!tls_fds) {
    log::error(tls_fds.error().message());
    return 1;
  }
  auto metrics_fds = open_listeners(config.metrics_listen, shard_count, "metrics");
  if (!metrics_fds) {
    log::error(metrics_fds.error().message());
    return 1;
  }
  Telemetry telemetry(shard_count, config.metrics_destinations_max);
  StatusBoard board(shard_count);
  std::unique_ptr<metrics::LineLog> delivery_log;
  if (!config.delivery_log.empty()) {
    auto opened = metrics::LineLog::open(config.delivery_log, shard_count);
    if (!opened) {
      log::error("log.delivery_log: " + opened.error().message());
      return 1;
    }
    delivery_log = std::move(opened).value();
  }
  std::unique_ptr<cluster::Fleet> fleet;
  if (!config.cluster_redis.empty()) {
    fleet = std::make_unique<cluster::Fleet>(
        cluster::FleetOptions{
            .redis = config.cluster_redis,
            .node = config.cluster_node.empty() ? machine_name() : config.cluster_node,
            .prefix = config.cluster_prefix,
            .sync_interval = config.cluster_sync_interval,
            .lease_ttl = config.cluster_lease_ttl,
            .timeout = config.cluster_timeout,
            .nodes_expected = config.cluster_nodes_expected},
        shard_count);
    // Warm-up counts are the fleet's, kept in Redis for the day: a cap holds across nodes
    // sending from one address and across a restart.
    for (const delivery::Source& source : sources) {
      if (source.budget == nullptr) continue;
      fleet->add_daily_count(cluster::DailyCount{
          .key = "warmup:" + source.address.host(),
          .local = [budget = source.budget](std::int64_t day) { return budget->used_on(day); },
          .add = [budget = source.budget](std::int64_t day,
                                          std::uint64_t more) { budget->add_used(day, more); }});
    }
    fleet->start();
    log::info("fleet: node " + fleet->options().node + ", limits shared through redis " +
              config.cluster_redis);
  }
  const Observers observers{
      .telemetry = telemetry, .board = board, .log = delivery_log.get(), .fleet = fleet.get()};
  const StatusInfo status_base{.version = OUTPOST_VERSION,
                               .node = config.hostname,
                               .started_at = std::chrono::system_clock::now(),
                               .shards = shard_count};
  std::atomic<bool> ready{false};     // every shard recovered and listening
  std::atomic<bool> draining{false};  // SIGTERM: stopping
  // Keys a reload loaded: each stays alive for the daemon's life, since a shard may still be
  // signing with the one before until the reload reaches it.
  std::mutex reload_mutex;
  std::deque<std::unique_ptr<dkim::KeyRing>> reloaded_keys;
  auto http_fds = open_listeners(config.http_listen, shard_count, "http");
  if (!http_fds) {
    log::error(http_fds.error().message());
    return 1;
  }
  // The mailbox's listeners open on its shard only.
  auto bounce_fds = open_listeners(config.bounce_listen, 1, "bounce intake (SMTP)");
  auto pop3_fds = open_listeners(config.pop3.listen, 1, "pop3");
  auto pop3_tls_fds = open_listeners(config.pop3.tls_listen, 1, "pop3 (TLS)");
  auto imap_fds = open_listeners(config.imap.listen, 1, "imap");
  auto imap_tls_fds = open_listeners(config.imap.tls_listen, 1, "imap (TLS)");
  for (const auto* fds : {&bounce_fds, &pop3_fds, &pop3_tls_fds, &imap_fds, &imap_tls_fds}) {
    if (!*fds) {
      log::error(fds->error().message());
      return 1;
    }
  }
  // Mailbox logins: checked like submission's, with an optional APOP secret.
  injection::Users mailbox_users;
  std::map<std::string, std::string> apop_secrets;
  for (const auto& user : config.mailbox_users) {
    mailbox_users.add(user.name, user.password_hash);
    if (!user.apop_secret.empty()) apop_secrets[user.name] = user.apop_secret;
  }
  const bool mailbox_served = !config.imap.listen.empty() || !config.imap.tls_listen.empty() ||
                              !config.pop3.listen.empty() || !config.pop3.tls_listen.empty();
  if (mailbox_served && config.mailbox_users.empty()) {
    log::warning("[imap]/[pop3] listen, but no [[mailbox.user]]: nobody can log in");
  }
  // Failed logins of submission, IMAP and POP3 on every shard: one table for the node.
  AuthThrottle auth_throttle(config.auth_throttle);
  const mailbox::Logins logins{
      .check_password =
          [&mailbox_users](const std::string& user, const std::string& password) {
            return mailbox_users.check_password(user, password);
          },
      .apop_secret = [&apop_secrets](const std::string& user) -> std::optional<std::string> {
        auto found = apop_secrets.find(user);
        if (found == apop_secrets.end()) return std::nullopt;
        return found->second;
      },
      .failure_delay = config.mailbox_auth_failure_delay,
      .throttle = &auth_throttle};

  // Per-listener limits ([limits] and each section's overrides) and each listener's count of
  // connections per client address, shared by every shard the listener runs on.
  using LimitsFor = Config::Listener;
  const engine::ListenerLimits submission_limits = config.listener_limits(LimitsFor::submission);
  const engine::ListenerLimits http_limits = config.listener_limits(LimitsFor::http);
  const engine::ListenerLimits bounce_limits = config.listener_limits(LimitsFor::bounce);
  const engine::ListenerLimits imap_limits = config.listener_limits(LimitsFor::imap);
  const engine::ListenerLimits pop3_limits = config.listener_limits(LimitsFor::pop3);
  engine::PeerCounts submission_peers(submission_limits.connections_per_ip);
  engine::PeerCounts http_peers(http_limits.connections_per_ip);
  engine::PeerCounts metrics_peers(http_limits.connections_per_ip);
  engine::PeerCounts bounce_peers(bounce_limits.connections_per_ip);
  engine::PeerCounts imap_peers(imap_limits.connections_per_ip);
  engine::PeerCounts pop3_peers(pop3_limits.connections_per_ip);

  std::vector<ShardServices> services(shard_count);
  queue::Store& spool = **store;
  mailbox::MailStore& mail = **mail_store;
  // Delivery on every shard checks each recipient against the suppression list (a shared lock
  // and a hash lookup).
  delivery::SuppressedFn suppressed =
      [&mail](std::string_view address) -> std::optional<std::string> {
    auto entry = mail.suppressions().find(address);
    if (!entry) return std::nullopt;
    return entry->category;
  };
  const bool relayed = !relay.empty();
  const queue::RetryPolicy retry{.initial = config.retry_initial,
                                 .multiplier = config.retry_multiplier,
                                 .max_delay = config.retry_max_delay,
                                 .jitter = config.retry_jitter,
                                 .max_age = config.max_age};

  // A reload (SIGHUP or POST /api/v1/reload), from any thread: reads the config file again and
  // applies what can change while running (log level, admin key, DKIM keys, the TLS
  // certificate, the delivery log's file); listeners, shards, the spool and the rest keep what
  // they started with until a restart. A bad file changes nothing.
  auto reload = [&]() -> Result<std::string> {
    std::lock_guard lock(reload_mutex);
    Config fresh = config;
    if (!config_path.empty()) {
      auto loaded = load_config(config_path);
      if (!loaded) return unexpected(loaded.error().code, "config: " + loaded.error().message());
      fresh = std::move(loaded).value();
    }
    auto keys = load_signing_keys(fresh);
    if (!keys) return unexpected(keys.error().code, "dkim: " + keys.error().message());
    const dkim::KeyRing* signing = nullptr;
    if (*keys) {
      reloaded_keys.push_back(std::make_unique<dkim::KeyRing>(std::move(**keys)));
      signing = reloaded_keys.back().get();
    }
    // A key taken out of the file falls back to the spool's (made now if the daemon started
    // with a configured one): the admin API never goes without a key.
    std::string admin_key = fresh.admin_key;
    if (admin_key.empty() && spool_admin_key.empty()) {
      auto made = use_spool_admin_key(config.spool_path);  // the spool in use
      if (!made) return unexpected(made.error().code, "admin key: " + made.error().message());
      spool_admin_key = std::move(made).value();
    }
    if (admin_key.empty()) admin_key = spool_admin_key;
    log::set_level(fresh.log_level);
    if (delivery_log != nullptr) delivery_log->reopen();
    for (std::uint32_t i = 0; i < shard_count; ++i) {
      (void)runtime.post_from_outside(
          ShardId(i), [&services, signing, key = admin_key](engine::Shard& on) {
            ShardServices& its = services[on.id().value()];
            if (its.injector != nullptr) its.injector->set_signing(signing);
            if (its.admin != nullptr) its.admin->set_key(key);
            if (its.tls_server == nullptr) return;
            if (auto reloaded = its.tls_server->reload(); !reloaded) {
              log::error("tls: reload on shard " + std::to_string(on.id().value()) +
                         " failed, keeping the certificate in use: " + reloaded.error().message());
            }
          });
    }
    std::string what = "log level, admin key, " +
                       std::to_string(signing == nullptr ? 0 : signing->signers().size()) +
                       " DKIM keys, TLS certificate";
    if (delivery_log != nullptr) what += ", delivery log reopened";
    log::info("reload: " + what);
    return what;
  };

  // Where each part, pool hand-off and operator action goes: the shards' schedulers attach
  // as they start.
  delivery::Router router(delivery::RouterOptions{.shard_count = shard_count, .pools = !relayed});
  auto recovering = std::make_shared<std::atomic<std::uint32_t>>(shard_count);
  auto started = runtime.start([&](engine::Shard& shard) {
    ShardServices& mine = services[shard.id().value()];
    // Checked on the main thread already; a failure here is a file changed in between.
    if (auto server = tls::ServerContext::load(certificate->first, certificate->second)) {
      mine.tls_server = std::move(server).value();
      if (auto keys = mine.tls_server->set_ticket_keys(ticket_keys); !keys) {
        log::warning("tls: ticket keys: " + keys.error().message());
      }
    } else {
      log::error("tls: " + server.error().message());
    }
    if (auto client = tls::ClientContext::create(tls::ClientOptions{})) {
      mine.tls_client = std::move(client).value();
    }
    if (auto client = tls::ClientContext::create(verify_options)) {
      mine.tls_verify = std::move(client).value();
    }
    if (!relayed) {
      auto ares = dns::AresResolver::create(dns::AresOptions{
          .servers = config.dns_servers,
          .timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config.dns_timeout),
          .tries = static_cast<int>(config.dns_tries)});
      if (!ares) {
        // Without a resolver every domain defers (4.4.3) until the next start.
        log::error("dns: " + ares.error().message());
      } else {
        mine.ares = std::move(ares).value();
        mine.dns_poller = std::make_unique<delivery::DnsPoller>(shard, *mine.ares);
        mine.mx = std::make_unique<dns::CachingResolver>(
            *mine.ares, shard.clock(),
            dns::CacheOptions{
                .ttl_floor = std::chrono::duration_cast<std::chrono::seconds>(config.dns_ttl_floor),
                .ttl_ceiling =
                    std::chrono::duration_cast<std::chrono::seconds>(config.dns_ttl_ceiling)},
            dns::MxOptions{.prefer_ipv6 = config.dns_prefer_ipv6,
                           .negative_ttl = std::chrono::duration_cast<std::chrono::seconds>(
                               config.dns_negative_ttl)},
            dns::seeded_random(std::random_device{}()));
        shard.on_stop([poller = mine.dns_poller.get()] { poller->close(); });
      }
    }
    mine.ids = std::make_unique<queue::MessageIdGenerator>(shard.id(), shard.clock());
    mine.committer = std::make_unique<injection::Committer>(
        shard, spool,
        injection::CommitOptions{.window = config.commit_window,
                                 .batch_messages_max = config.commit_batch_messages_max});
    auto on_queued = [&shard, &router](const queue::ScheduledItem& item) {
      router.hand_over(shard, item);
    };
    mine.delivery = std::make_unique<delivery::Scheduler>(
        shard, spool, *mine.ids,
        delivery::SchedulerOptions{
            .destination =
                {.addresses = relay,
                 .tls = tls_default,
                 .tls_handshake_timeout = config.tls_handshake_timeout,
                 .helo_name = config.hostname,
                 .sources = sources,
                 .limits = {.connections_max = config.connections_max,
                            .messages_per_connection_max = config.messages_per_connection_max,
                            .recipients_per_message_max = config.recipients_per_message_max,
                            .connections_per_source_max = config.connections_per_source_max > 0
                                                              ? config.connections_per_source_max
                                                              : delivery::Limits::unlimited},
                 .connect_timeout = config.connect_timeout,
                 .reply_timeout = config.reply_timeout,
                 .idle_timeout = config.connection_idle_timeout,
                 .reconnect_delay = config.reconnect_delay,
                 .retry = retry},
            .bounce = {.hostname = config.hostname, .max_age = config.max_age},
            .resolver = mine.mx.get(),
            .remote_port = config.remote_port,
            .hand_off =
                [&shard, &router](delivery::PoolHandoff&& handoff) {
                  router.hand_off(shard, std::move(handoff));
                },
            .requeue = on_queued,
            .tls_policies = tls_policies,
            .tls_client = mine.tls_client.get(),
            .tls_verify = mine.tls_verify.get(),
            .suppressed = suppressed,
            .shaping = shaping,
            .shard_count = shard_count,
            .response_rules = &response_rules,
            .fleet = fleet != nullptr,
            .fleet_nodes_expected = config.cluster_nodes_expected,
            .tenants = tenant_limits,
            .in_flight = breaker->table.get()},
        on_queued,
        [&shard, &services, &config, committer = mine.committer.get()](
            std::vector<queue::Envelope>&& parts, std::string&& body,
            std::function<void(const Result<void>&)> done) {
          // A DSN for one of our VERP return paths goes straight into the bounce mailbox, on its
          // shard; any other DSN is queued for delivery to its sender.
          if (!config.bounce_domain.empty() && parts.size() == 1 &&
              parts[0].recipients.size() == 1 &&
              iequals(domain_of(parts[0].recipients[0].address), config.bounce_domain)) {
            store_own_dsn(shard, std::move(parts[0].recipients[0].address), std::move(body),
                          std::move(done), services);
            return;
          }
          committer->submit(std::move(parts), std::move(body), std::move(done));
        });
    router.attach(shard.id(), *mine.delivery);
    mine.delivery->set_on_outcome(
        [observers, index = shard.id().value()](const delivery::RecipientOutcome& outcome) {
          observers.telemetry.count(index, outcome);
          observers.board.note(outcome);
          if (observers.log != nullptr) {
            (void)observers.log->append(index, delivery::delivery_log_line(outcome));
          }
        });
    // Held by the crash-loop breaker until an operator resumes it.
    for (const std::string& destination : breaker->held_destinations) {
      mine.delivery->suspend(destination, queue::quarantined_due);
    }
    if (fleet != nullptr) sync_fleet(shard, *mine.delivery, *fleet);
    auto recovered = mine.delivery->recover(
        [&shard, &router](const queue::ScheduledItem& i) { return router.owner(i) == shard.id(); });
    if (!recovered) {
      log::error("queue recovery failed: " + recovered.error().message());
    } else if (*recovered > 0) {
      log::info("recovered " + std::to_string(*recovered) + " queued parts on shard " +
                std::to_string(shard.id().value()));
    }
    smtp::ServerOptions smtp_options;
    smtp_options.hostname = config.hostname;
    smtp_options.limits.message_bytes_max = config.message_bytes_max;
    smtp_options.limits.recipients_max = config.recipients_max;
    smtp_options.starttls = config.submission_starttls;
    smtp_options.auth_mechanisms = config.auth_mechanisms;
    smtp_options.auth_without_tls = config.auth_without_tls;
    mine.injector = std::make_unique<injection::Injector>(
        shard, *mine.committer, *mine.ids,
        injection::InjectorOptions{
            .hostname = config.hostname,
            .max_age = config.max_age,
            .signing = *signing ? &**signing : nullptr,
            .verp_domain = config.verp ? config.bounce_domain : std::string(),
            .verp_prefix = config.verp_prefix,
            .bounce_keys = config.bounce_domain.empty() ? nullptr : &*bounce_keys,
            .tenants = tenant_defaults,
            .pools = source_pools},
        [relayed](std::string_view recipient) { return delivery::route(recipient, relayed); },
        [on_queued](const std::vector<queue::ScheduledItem>& parts) {
          for (const auto& part : parts) on_queued(part);
        });
    mine.submission = std::make_unique<injection::SubmissionListener>(
        shard, *mine.injector,
        injection::SubmissionOptions{.smtp = smtp_options,
                                     .idle_timeout = config.session_idle_timeout,
                                     .peer_limits = with_shard_cap(submission_limits, 10'000),
                                     .peer_counts = &submission_peers,
                                     .tls = mine.tls_server.get(),
                                     .tls_handshake_timeout = config.tls_handshake_timeout,
                                     .trusted = &*trusted,
                                     .users = &users,
                                     .auth_throttle = &auth_throttle,
                                     .rate_per_ip = config.rate_per_ip.per_shard(shard_count),
                                     .rate_per_user = config.rate_per_user.per_shard(shard_count)});
    {
      injection::ApiOptions api_options{.message_bytes_max = config.message_bytes_max,
                                        .recipients_max = config.recipients_max};
      for (const auto& key : config.api_keys) {
        api_options.keys.push_back(injection::ApiKey{.name = key.name,
                                                     .sha256 = key.sha256,
                                                     .rate = key.rate.per_shard(shard_count),
                                                     .tenant = key.tenant});
      }
      mine.api = std::make_unique<injection::HttpApi>(shard, *mine.injector, *mine.committer, spool,
                                                      std::move(api_options));
    }

    if (shard.id() == mailbox_shard) {
      mine.mail = &mail;
      expire_mailbox(shard, mail);
      mine.intake = std::make_unique<mailbox::BounceIntake>(
          mail,
          mailbox::IntakeOptions{
              .bounce_domain = config.bounce_domain,
              .verp_prefix = config.verp_prefix,
              .rules = bounce_rules ? &*bounce_rules : nullptr,
              .keys = &*bounce_keys,
              // A DSN naming a message by its reference suppresses only recipients the
              // queue (or its history) says that message had.
              .recipient_of = [&spool](MessageId id,
                                       std::string_view address) -> std::optional<std::string> {
                const std::string key = suppression_key(address);
                const auto find = [&key](const Result<std::vector<queue::Envelope>>& parts)
                    -> std::optional<std::string> {
                  if (!parts) return std::nullopt;
                  for (const queue::Envelope& part : *parts) {
                    for (const queue::Recipient& recipient : part.recipients) {
                      if (suppression_key(recipient.address) == key) {
                        return recipient.address;
                      }
                    }
                  }
                  return std::nullopt;
                };
                if (auto queued = find(spool.read_message(id))) return queued;
                return find(spool.read_history(id));
              }});
      if (!config.bounce_listen.empty()) {
        injection::SubmissionOptions intake_options{
            .smtp = smtp_options,
            .idle_timeout = config.session_idle_timeout,
            .peer_limits = with_shard_cap(bounce_limits, 10'000),
            .peer_counts = &bounce_peers,
            .tls = mine.tls_server.get(),
            .tls_handshake_timeout = config.tls_handshake_timeout,
            .accept_domain = config.bounce_domain};
        intake_options.smtp.auth_mechanisms.clear();
        // Per client: MAIL is refused (450 4.7.1) over the messages or octets of the last
        // minute; a message's octets count once it is read, stored or not.
        mine.bounce_limits = std::make_unique<mailbox::IntakeLimiter>(
            mailbox::IntakeLimits{.messages_per_minute = config.bounce_messages_per_ip_per_minute,
                                  .bytes_per_minute = config.bounce_bytes_per_ip_per_minute});
        intake_options.check_client =
            [&shard, limits = mine.bounce_limits.get()](std::string_view client_ip) {
              return limits->admit(client_ip, shard.clock().now());
            };
        mine.bounce_smtp = std::make_unique<injection::SubmissionListener>(
            shard,
            [&shard, intake = mine.intake.get(), limits = mine.bounce_limits.get()](
                injection::Inbound&& message, injection::TraceFacts* trace,
                injection::Probe& /*probe*/, const injection::Injector::Done& done) {
              if (trace != nullptr) {
                limits->charge(trace->client_ip, message.body.size(), shard.clock().now());
              }
              done(store_bounce(shard, *intake, message.mail_from, message.recipients,
                                message.body));
            },
            std::move(intake_options));
      }
    }

    if (shard.id() == mailbox_shard) {
      mine.pop3 = std::make_unique<mailbox::Pop3Listener>(
          shard, mail, logins,
          mailbox::MailListenerOptions{.hostname = config.hostname,
                                       .idle_timeout = config.pop3.idle_timeout,
                                       .peer_limits = with_shard_cap(pop3_limits, 1000),
                                       .peer_counts = &pop3_peers,
                                       .tls = mine.tls_server.get(),
                                       .tls_handshake_timeout = config.tls_handshake_timeout,
                                       .login_without_tls = config.pop3.login_without_tls});
      mine.imap = std::make_unique<mailbox::ImapListener>(
          shard, mail, logins,
          mailbox::MailListenerOptions{.hostname = config.hostname,
                                       .idle_timeout = config.imap.idle_timeout,
                                       .peer_limits = with_shard_cap(imap_limits, 1000),
                                       .peer_counts = &imap_peers,
                                       .tls = mine.tls_server.get(),
                                       .tls_handshake_timeout = config.tls_handshake_timeout,
                                       .login_without_tls = config.imap.login_without_tls},
          config.message_bytes_max);
    }

    {
      const Telemetry::Durations durations = telemetry.durations(shard.id().value());
      mine.submission->probe().session_seconds = durations.smtp_session;
      mine.submission->probe().sign_seconds = durations.dkim_sign;
      mine.api->probe().sign_seconds = durations.dkim_sign;
      mine.committer->probe().commit_seconds = durations.queue_commit;
    }
    AdminHooks hooks{
        .status =
            [&board, &status_base, &ready, &draining, &shard] {
              StatusInfo info = status_base;
              info.ready = ready.load();
              info.draining = draining.load();
              return board.render_json(info, shard.clock().wall_now());
            },
        .suspend =
            [&router](engine::Shard& from, std::string destination,
                      std::optional<Clock::WallTime> until, std::function<void(bool)> done) {
              router.suspend(from, std::move(destination), until, std::move(done));
            },
        .reload =
            [&reload](engine::Shard& from, std::function<void(Result<std::string>)> done) {
              auto result = std::make_shared<Result<std::string>>(std::string());
              from.offload([result, &reload] { *result = reload(); },
                           [result, done] { done(std::move(*result)); });
            }};
    mine.admin = std::make_unique<AdminApi>(
        shard, spool, &mail.suppressions(),
        AdminOptions{.key = config.admin_key.empty() ? spool_admin_key : config.admin_key},
        [&router](engine::Shard& from, delivery::OperatorAction action,
                  std::vector<queue::ScheduledItem> parts,
                  std::function<void(delivery::ActionCounts)> done) {
          router.apply_on_owners(from, action, std::move(parts), std::move(done));
        },
        std::move(hooks));
    if (shard.id().value() == 0) shard.on_stop([&draining] { draining = true; });
    // GET /metrics, on the [metrics] listeners, else beside the admin API.
    auto serve_metrics = [&telemetry, &ready, &draining](const http::Request& request,
                                                         const injection::Respond& respond) {
      if (request.path == "/healthz" || request.path == "/readyz") {
        // Liveness: this shard's loop answers. Readiness: every shard recovered its queue and
        // listens, and no drain has begun (a load balancer should stop sending then).
        const bool live = request.path == "/healthz";
        const bool serving = ready.load() && !draining.load();
        http::Response response = http::Response::for_request(request);
        response.status = live || serving ? 200 : 503;
        response.content_type = "text/plain";
        response.body = live              ? "ok\n"
                        : serving         ? "ready\n"
                        : draining.load() ? "draining\n"
                                          : "starting\n";
        respond(std::move(response));
        return true;
      }
      if (request.path != "/metrics") return false;
      http::Response response = http::Response::for_request(request);
      if (request.method != "GET" && request.method != "HEAD") {
        response.status = 405;
        response.allow = "GET, HEAD";
        response.content_type = "text/plain";
        response.body = "GET /metrics\n";
      } else {
        response.content_type = std::string(metrics::exposition_content_type);
        response.body = telemetry.render();
      }
      respond(std::move(response));
      return true;
    };
    const bool separate_metrics = !config.metrics_listen.empty();
    injection::HttpOptions http_options;
    http_options.limits.body_bytes_max = config.http_body_bytes_max;
    http_options.peer_limits = with_shard_cap(http_limits, 1000);
    http_options.peer_counts = &http_peers;
    // A large body is read only from a caller that could be served: the API's keys (or
    // loopback without keys) under /v1/, the admin key everywhere else.
    http_options.authenticated = [admin = mine.admin.get(), api = mine.api.get()](
                                     const http::Request& head, const engine::SocketAddress& peer) {
      return head.path.starts_with("/v1/") ? api->authenticates(head, peer)
                                           : admin->authorized(head);
    };
    mine.http = std::make_unique<injection::HttpListener>(
        shard, http_options,
        [admin = mine.admin.get(), api = mine.api.get(), serve_metrics, separate_metrics](
            http::Request&& request, const engine::SocketAddress& peer,
            const injection::Respond& respond) {
          // /metrics beside the admin API wants its key; a [metrics] listener of its own
          // serves it without one.
          if (!separate_metrics && request.path == "/metrics" && !admin->authorized(request)) {
            http::Response denied = http::Response::for_request(request);
            denied.status = 401;
            denied.content_type = "text/plain";
            denied.body = "admin key required\n";
            denied.bearer_challenge = true;
            respond(std::move(denied));
            return;
          }
          if (!separate_metrics && serve_metrics(request, respond)) return;
          if ((request.path == "/healthz" || request.path == "/readyz") &&
              serve_metrics(request, respond)) {
            return;
          }
          if (request.path == "/" || request.path == "/index.html") {
            http::Response page = http::Response::for_request(request);
            page.content_type = "text/html; charset=utf-8";
            page.body.assign(detail::status_page, detail::status_page_size);
            respond(std::move(page));
            return;
          }
          if (api->handle(request, peer, respond)) return;
          if (admin->handle(request, peer, respond)) return;
          respond(http::Response{
              .status = 404, .content_type = "text/plain", .body = "no such route\n"});
        });
    if (separate_metrics) {
      mine.metrics = std::make_unique<injection::HttpListener>(
          shard,
          injection::HttpOptions{
              .peer_limits = with_shard_cap(http_limits, 1000),
              .peer_counts = &metrics_peers,
              // Scrapes carry no body: none larger than the small cap is read here.
              .authenticated = [](const http::Request&,
                                  const engine::SocketAddress&) { return false; }},
          [serve_metrics](http::Request&& request, const engine::SocketAddress& /*peer*/,
                          const injection::Respond& respond) {
            if (serve_metrics(request, respond)) return;
            respond(http::Response{
                .status = 404, .content_type = "text/plain", .body = "GET /metrics\n"});
          });
    }
    // Once a second the shard's probes are copied into its metrics registry.
    sync_metrics(shard, mine, observers);
    if (delivery_log != nullptr && shard.id().value() == 0)
      flush_delivery_log(shard, *delivery_log);
    if (shard.id().value() == 0) expire_history(shard, spool, mine, config.history_retention);

    // Nothing is accepted anywhere before every shard has recovered its part of the queue: a
    // message accepted on one shard and handed to another still recovering would be found
    // twice there (handed over, and in the schedule index). The last shard to finish opens
    // every shard's listeners.
    if (recovering->fetch_sub(1) == 1) {
      for (std::uint32_t i = 0; i < shard_count; ++i) {
        shard.post_until_taken(ShardId(i), [&](engine::Shard& on) {
          ShardServices& its = services[on.id().value()];
          for (int fd : (*listen_fds)[on.id().value()]) its.submission->listen(fd);
          if (its.tls_server != nullptr) {
            for (int fd : (*tls_fds)[on.id().value()]) its.submission->listen(fd, true);
          }
          for (int fd : (*http_fds)[on.id().value()]) its.http->listen(fd);
          if (on.id() == mailbox_shard) {
            if (its.bounce_smtp != nullptr) {
              for (int fd : (*bounce_fds)[0]) its.bounce_smtp->listen(fd);
            }
            for (int fd : (*pop3_fds)[0]) its.pop3->listen(fd);
            for (int fd : (*imap_fds)[0]) its.imap->listen(fd);
            if (its.tls_server != nullptr) {
              for (int fd : (*pop3_tls_fds)[0]) its.pop3->listen(fd, true);
              for (int fd : (*imap_tls_fds)[0]) its.imap->listen(fd, true);
            }
          }
          if (its.metrics != nullptr) {
            for (int fd : (*metrics_fds)[on.id().value()]) its.metrics->listen(fd);
          }
        });
      }
      ready = true;
    }
  });
  if (!started) {
    log::error("cannot start shards: " + started.error().message());
    return 1;
  }
  log::info("outpost running: " + std::to_string(shard_count) + " shards, spool " +
            config.spool_path + (config.spool_sync ? "" : " (durability none)") +
            (relayed ? ", relay " + relay_text : ""));
  // SIGHUP: a reload; a failed one keeps everything in use.
  const int signal_number = runtime.run_until_signal([&reload] {
    log::info("SIGHUP: reloading");
    if (auto reloaded = reload(); !reloaded) {
      log::error("reload failed, keeping what is in use: " + reloaded.error().message());
    }
  });
  log::info("stopped on signal " + std::to_string(signal_number) + ", queue kept in " +
            config.spool_path);
  services.clear();
  // A clean stop: attempts the drain cut short were not crashes.
  breaker->table->clear_all();
  return 0;
}

}  // namespace mta::app
