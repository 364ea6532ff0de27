// The daemon of `outpost run`, as named phases that Daemon::run (app/daemon.cc) calls in
// order: read settings (check_settings, which `run --check-config` runs alone), open stores,
// open listeners, start reporting, open the HTTP and
// mailbox listeners, set up access, start shards (each shard's services, one function per
// service; the last shard to recover makes every shard listen), serve until a signal, drain.
// Its members are declared in the order the phases build them, so destruction unwinds
// start-up in reverse.
//
// Files: settings.cc (what the config says, checked and converted by each module: listen
// addresses, networks, users, tenants, DKIM keys, the TLS certificate and CA file, bounce and
// response rules, and delivery's relay, sources, shaping), stores.cc (spool, breaker, admin key,
// mailbox, bounce keys, the self-signed certificate), listeners.cc (sockets, and listening once
// recovered), reporting.cc (metrics, status board, delivery log, fleet), access.cc (listener
// limits, per-client counts, logins), shard.cc and shard_*.cc (one shard's services), duties.cc
// (periodic work), reload.cc (Reloader).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "app/admin.h"
#include "app/config.h"
#include "app/crash_breaker.h"
#include "app/daemon/reload.h"
#include "app/daemon/shard_services.h"
#include "app/status.h"
#include "app/telemetry.h"
#include "base/auth_throttle.h"
#include "cluster/fleet.h"
#include "delivery/observers.h"
#include "delivery/router.h"
#include "delivery/settings.h"
#include "delivery/shard_delivery.h"
#include "dkim/keyring.h"
#include "engine/address.h"
#include "engine/limits.h"
#include "engine/runtime.h"
#include "injection/access.h"
#include "injection/injector.h"
#include "mailbox/bounce_rules.h"
#include "mailbox/logins.h"
#include "mailbox/own_dsns.h"
#include "mailbox/store.h"
#include "metrics/line_log.h"
#include "queue/bounce_keys.h"
#include "queue/retry_schedule.h"
#include "queue/rocksdb_store.h"
#include "tls/context.h"

namespace mta::app {

// The shard that owns the bounce mailbox: its store, intake, IMAP and POP3 sessions. Bounces
// are few next to outbound mail, and one owner keeps the folders free of locks.
inline constexpr ShardId mailbox_shard(0);

// What is on disk: opened before anything runs, closed after every shard stopped.
struct Stores {
  std::unique_ptr<queue::RocksDbStore> spool;
  CrashBreaker breaker;
  std::string spool_admin_key;  // with no [http] admin_key, the spool's
  std::unique_ptr<mailbox::MailStore> mail;
  std::optional<queue::BounceKeys> bounce_keys;
  std::pair<std::string, std::string> certificate;  // chain and key paths
  std::string ticket_keys;                          // the same on every shard
};

// Every listening address of the config, parsed: opened by the listeners phase.
struct ListenAddresses {
  std::vector<engine::SocketAddress> submission, submission_tls, metrics, http;
  std::vector<engine::SocketAddress> bounce, pop3, pop3_tls, imap, imap_tls;
};

// What the config says, checked and in the form the modules take: everything `run` reads
// before it opens the spool or binds a socket (check_settings).
struct Settings {
  ListenAddresses listen;
  std::optional<injection::NetworkList> trusted;
  injection::Users users;
  std::unordered_map<std::string, injection::InjectorOptions::TenantDefaults> tenant_defaults;
  std::optional<dkim::KeyRing> signing;
  // [tls] certificate and key, loaded once (nullptr when none is configured: the stores phase
  // makes a self-signed one in the spool).
  std::unique_ptr<tls::ServerContext> configured_tls;
  tls::ClientOptions verify_options;  // verified delivery, with [delivery] tls_ca_file
  std::optional<mailbox::Rules> bounce_rules;
  delivery::DeliverySettings delivery;  // relay, sources, shaping, tenants' caps, rules
  bool relayed() const { return delivery.relayed(); }
};

// Checks and converts the config as `run` does before it opens the spool, binds a socket or
// sends mail; `run --check-config` calls it alone, so both refuse a file alike. An error names
// the file, line and key (Config::locations); delivery's settings log their own reason first.
Result<std::unique_ptr<Settings>> check_settings(const Config& config);

// Where the shards report what they do: metrics, the status page, the delivery log, the fleet.
struct Reporting {
  Reporting(std::uint32_t shard_count, std::size_t destinations_max)
      : telemetry(shard_count, destinations_max), board(shard_count) {}
  Telemetry telemetry;
  delivery::OutcomeCounter counts{telemetry.outcome_shards()};
  StatusBoard board;
  std::unique_ptr<metrics::LineLog> delivery_log;           // [log] delivery_log, when set
  std::unique_ptr<delivery::DeliveryLogWriter> log_writer;  // with delivery_log
  std::unique_ptr<cluster::Fleet> fleet;                    // [cluster] redis, when set

  // What each outcome on a shard is told to, in order: metrics, the status board, the log.
  std::vector<delivery::OutcomeObserver*> outcome_observers() {
    return {&counts, &board, log_writer.get()};
  }
};

// One listening socket per (address, shard); the mailbox's on its shard only.
using ShardFds = std::vector<std::vector<int>>;
struct ListenFds {
  ShardFds submission, submission_tls, metrics, http;
  ShardFds bounce, pop3, pop3_tls, imap, imap_tls;
};

// Who may connect and log in: per-listener limits ([limits] and each section's overrides),
// each listener's count of connections per client address (shared by every shard it runs on),
// and the logins of submission, IMAP and POP3.
struct Access {
  explicit Access(const Config& config);
  engine::ListenerLimits submission_limits, http_limits, bounce_limits, imap_limits, pop3_limits;
  engine::PeerCounts submission_peers, http_peers, metrics_peers, bounce_peers, imap_peers,
      pop3_peers;
  injection::Users mailbox_users;
  std::map<std::string, std::string> apop_secrets;
  AuthThrottle auth_throttle;  // failed logins on every shard: one table for the node
  mailbox::Logins logins;
};

class Daemon {
 public:
  Daemon(const Config& config, std::string config_path);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // The process exit code: 0 after a clean drain, 1 when start-up failed (logged).
  int run();

 private:
  // Phases; false: start-up failed (logged), exit code 1; read_settings: the config is refused
  // (reported), exit_config_error.
  bool read_settings();
  bool open_stores();
  bool open_listeners();
  bool start_reporting();
  bool open_node_listeners();
  bool start_shards();
  int serve_until_signal();

  // One shard's start, on its thread, service by service.
  void start_shard(engine::Shard& shard);
  void start_tls(ShardServices& mine);
  void start_dns(engine::Shard& shard, ShardServices& mine);
  delivery::ShardDeliveryOptions delivery_options(engine::Shard& shard, ShardServices& mine);
  void start_delivery(engine::Shard& shard, ShardServices& mine);
  void recover(engine::Shard& shard, ShardServices& mine);
  void start_injection(engine::Shard& shard, ShardServices& mine);
  void start_mailbox(engine::Shard& shard, ShardServices& mine);
  void start_mail_access(engine::Shard& shard, ShardServices& mine);
  void start_admin(engine::Shard& shard, ShardServices& mine);
  void start_http(engine::Shard& shard, ShardServices& mine);
  void start_duties(engine::Shard& shard, ShardServices& mine);
  // The last shard to recover opens every shard's listeners.
  void listen_when_recovered(engine::Shard& shard);
  void listen(engine::Shard& on);

  const Config& config_;
  const std::string config_path_;
  std::unique_ptr<Settings> settings_;
  std::unique_ptr<Stores> stores_;
  std::unique_ptr<engine::Runtime> runtime_;
  std::uint32_t shard_count_ = 0;
  ListenFds fds_;
  std::unique_ptr<Reporting> reporting_;
  StatusInfo status_base_;
  std::atomic<bool> ready_{false};     // every shard recovered and listening
  std::atomic<bool> draining_{false};  // SIGTERM: stopping
  std::unique_ptr<Access> access_;
  std::vector<ShardServices> services_;
  // Delivery on every shard checks each recipient against the suppression list (a shared lock
  // and a hash lookup).
  delivery::SuppressedFn suppressed_;
  std::unique_ptr<Reloader> reloader_;
  // Own DSNs, from any shard's bouncer to the intake on mailbox_shard.
  std::unique_ptr<mailbox::OwnDsns> own_dsns_;
  // Where each part, pool hand-off and operator action goes: the shards' schedulers attach
  // as they start.
  std::unique_ptr<delivery::Router> router_;
  std::atomic<std::uint32_t> recovering_{0};
};

// Duties started with a shard's services (duties.cc). Fleet mode: the shard's claims to the
// fleet and its standing back to its dispatchers, every sync interval until the shard stops.
void sync_fleet(engine::Shard& shard, delivery::ShardDelivery& delivery, cluster::Fleet& fleet);

// SMTP options of submission, and of the bounce intake without AUTH (shard_injection.cc).
smtp::ServerOptions submission_smtp_options(const Config& config);

// A listener's limits with its own cap of connections per shard.
engine::ListenerLimits with_shard_cap(engine::ListenerLimits limits, std::size_t connections_max);

}  // namespace mta::app
