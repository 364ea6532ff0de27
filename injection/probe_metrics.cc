#include "injection/probe_metrics.h"

#include "metrics/buckets.h"

namespace mta::injection {

using metrics::declare_counter;
using Counts = const ProbeMetrics::Probes&;

ProbeMetrics::ProbeMetrics(metrics::Catalog& catalog) {
  declare_acceptance(catalog);
  declare_signing(catalog);
  session_seconds_ = metrics::declare_histogram(
      catalog,
      {"outpost_smtp_session_duration_seconds", "Inbound SMTP sessions, from accept to close.", {}},
      metrics::session_buckets());
  sign_seconds_ =
      metrics::declare_histogram(catalog,
                                 {"outpost_dkim_sign_seconds",
                                  "DKIM signing of one message at acceptance (every signature).",
                                  {}},
                                 metrics::local_work_buckets());
}

// Messages and bytes accepted, refusals, authentication and connections, by listener.
void ProbeMetrics::declare_acceptance(metrics::Catalog& catalog) {
  auto& c = counters_;
  const auto received =
      declare_counter(catalog, {"outpost_messages_received_total",
                                "Messages accepted and made durable, by listener.",
                                {"listener"}});
  c.follow(received, {"smtp"}, [](Counts n) { return n.smtp.messages_queued; });
  c.follow(received, {"http"}, [](Counts n) { return n.http.messages_queued; });
  const auto bytes = declare_counter(catalog, {"outpost_received_bytes_total",
                                               "Bytes of the messages accepted, by listener.",
                                               {"listener"}});
  c.follow(bytes, {"smtp"}, [](Counts n) { return n.smtp.bytes_queued; });
  c.follow(bytes, {"http"}, [](Counts n) { return n.http.bytes_queued; });
  const auto rate_limited = declare_counter(
      catalog, {"outpost_injection_rate_limited_total",
                "Injections refused for a client's rate or queue back-pressure (SMTP 451 4.7.1, "
                "HTTP 429), by listener.",
                {"listener"}});
  c.follow(rate_limited, {"smtp"}, [](Counts n) { return n.smtp.rate_limited; });
  c.follow(rate_limited, {"http"}, [](Counts n) { return n.http.rate_limited; });
  const auto auth = declare_counter(
      catalog, {"outpost_auth_attempts_total",
                "Client authentications (SMTP AUTH, API keys), by listener and result.",
                {"listener", "result"}});
  c.follow(auth, {"smtp", "success"}, [](Counts n) { return n.smtp.auth_successes; });
  c.follow(auth, {"smtp", "failure"}, [](Counts n) { return n.smtp.auth_failures; });
  c.follow(auth, {"smtp", "refused"}, [](Counts n) { return n.smtp.auth_refused; });
  c.follow(auth, {"http", "failure"}, [](Counts n) { return n.http.auth_failures; });
  c.follow(declare_counter(catalog,
                           {"outpost_bare_line_endings_repaired_total",
                            "Lone LF or CR line endings in received messages rewritten as CRLF.",
                            {}}),
           {}, [](Counts n) { return n.smtp.bare_line_endings_repaired; });
  const auto connections = declare_counter(
      catalog, {"outpost_smtp_connections_total",
                "Inbound SMTP connections, accepted or refused (over the limit, or stopping).",
                {"result"}});
  c.follow(connections, {"accepted"}, [](Counts n) { return n.smtp.connections_accepted; });
  c.follow(connections, {"refused"}, [](Counts n) { return n.smtp.connections_refused; });
}

// DKIM signing at acceptance, SMTP and HTTP together.
void ProbeMetrics::declare_signing(metrics::Catalog& catalog) {
  auto& c = counters_;
  c.follow(declare_counter(
               catalog,
               {"outpost_dkim_signed_messages_total", "Messages DKIM-signed at acceptance.", {}}),
           {}, [](Counts n) { return n.smtp.messages_signed + n.http.messages_signed; });
  c.follow(declare_counter(catalog,
                           {"outpost_dkim_signatures_total", "DKIM-Signature fields added.", {}}),
           {}, [](Counts n) { return n.smtp.signatures + n.http.signatures; });
  c.follow(declare_counter(catalog, {"outpost_dkim_sign_failures_total",
                                     "Messages refused because their header could not be signed.",
                                     {}}),
           {}, [](Counts n) { return n.smtp.sign_failures + n.http.sign_failures; });
}

ProbeMetrics::Shard ProbeMetrics::bind(metrics::Registry& registry) const {
  return {.counters = counters_.bind(registry),
          .session_seconds = &registry.histogram(session_seconds_),
          .sign_seconds = &registry.histogram(sign_seconds_)};
}

}  // namespace mta::injection
