// Composes the configuration from the modules' section parsers, in the order the file's
// sections have always been checked, so a file with one mistake gets the same error as before.
#include "app/config.h"

#include <cstdio>
#include <set>
#include <system_error>

namespace mta::app {
namespace {

Result<void> parse_node(config::Table& section, NodeOptions& out) {
  CONFIG_TRY(section.string("hostname", out.hostname));
  CONFIG_TRY(section.integer("shards", out.shards, 0, 256));
  return section.no_unknown_keys();
}

// Sections whose parser reads one [table].
Result<void> parse_tables(const config::Document& file, Config& config) {
  const auto read = [&](const char* name, auto parse, auto& out) {
    config::Table section = file.table(name);
    return parse(section, out);
  };
  CONFIG_TRY(read("node", parse_node, config.node));
  CONFIG_TRY(read("log", metrics::parse_log, config.log));
  CONFIG_TRY(read("spool", queue::parse_spool, config.spool));
  CONFIG_TRY(read("queue", queue::parse_queue, config.queue));
  CONFIG_TRY(read("submission", injection::parse_submission, config.submission));
  CONFIG_TRY(read("tls", tls::parse_server_tls, config.tls));
  CONFIG_TRY(read("http", injection::parse_http, config.http));
  CONFIG_TRY(read("bounce", mailbox::parse_bounce, config.bounce));
  CONFIG_TRY(read("mailbox", mailbox::parse_mailbox, config.mailbox));
  CONFIG_TRY(read("auth", parse_auth_throttle, config.auth));
  CONFIG_TRY(read("imap", mailbox::parse_mail_listen, config.imap));
  CONFIG_TRY(read("pop3", mailbox::parse_mail_listen, config.pop3));
  config::Table limits = file.table("limits");
  CONFIG_TRY(engine::parse_limit_overrides(limits, config.limits));
  CONFIG_TRY(limits.no_unknown_keys());
  CONFIG_TRY(read("metrics", metrics::parse_metrics, config.metrics));
  CONFIG_TRY(read("cluster", cluster::parse_cluster, config.cluster));
  return read("dns", dns::parse_dns, config.dns);
}

}  // namespace

Result<Config> parse_config(std::string_view toml_text, std::string_view source_name) {
  auto file = config::Document::parse(toml_text, source_name);
  if (!file) return unexpected(std::move(file).error());
  Config config;
  CONFIG_TRY(parse_tables(*file, config));
  CONFIG_TRY(delivery::parse_delivery(*file, config.delivery));
  CONFIG_TRY(dkim::parse_signing_keys(*file, config.dkim));
  static const std::set<std::string> tables = {
      "node",    "log",    "spool",   "submission", "delivery", "queue",   "http",   "dns", "tls",
      "metrics", "bounce", "mailbox", "imap",       "pop3",     "cluster", "limits", "auth"};
  static const std::set<std::string> arrays = {"dkim", "route", "shaping", "tenant", "warmup"};
  CONFIG_TRY(file->check_sections(tables, arrays));
  config.locations = file->locations();
  return config;
}

Result<Config> load_config(const std::string& path) {
  auto text = read_file(path);
  if (!text) {
    return unexpected(text.error().code,
                      "cannot read config file " + path + ": " + text.error().code.message());
  }
  return parse_config(*text, path);
}

void report_config_error(const Error& error) {
  if (error.detail.empty()) return;
  std::fprintf(stderr, "outpost: %s\n", error.detail.c_str());
}

engine::ListenerLimits Config::listener_limits(Listener listener) const {
  engine::ListenerLimits defaults;
  const bool mail = listener == Listener::imap || listener == Listener::pop3;
  defaults.connections_per_ip = mail ? 20 : 50;
  if (listener == Listener::imap) defaults.session_max = std::chrono::hours(24);  // IDLE lives long
  const engine::LimitOverrides* own = nullptr;
  switch (listener) {
    case Listener::submission:
      own = &submission.limits;
      break;
    case Listener::http:
      own = &http.limits;
      break;
    case Listener::bounce:
      own = &bounce.limits;
      break;
    case Listener::imap:
      own = &imap.limits;
      break;
    case Listener::pop3:
      own = &pop3.limits;
      break;
  }
  return engine::resolve_limits(defaults, limits, *own);
}

}  // namespace mta::app
