#include "tls/handshake_metrics.h"

namespace mta::tls {

HandshakeMetrics::HandshakeMetrics(metrics::Catalog& catalog) {
  using C = const Counts&;
  const auto handshakes = metrics::declare_counter(
      catalog,
      {"outpost_tls_handshakes_total", "TLS handshakes completed.", {"direction", "resumed"}});
  counters_.follow(handshakes, {"inbound", "false"},
                   [](C n) { return n.inbound.sessions - n.inbound.resumed; });
  counters_.follow(handshakes, {"inbound", "true"}, [](C n) { return n.inbound.resumed; });
  counters_.follow(handshakes, {"outbound", "false"},
                   [](C n) { return n.outbound.sessions - n.outbound.resumed; });
  counters_.follow(handshakes, {"outbound", "true"}, [](C n) { return n.outbound.resumed; });
  const auto failures = metrics::declare_counter(
      catalog,
      {"outpost_tls_failures_total", "TLS handshakes that failed or timed out.", {"direction"}});
  counters_.follow(failures, {"inbound"}, [](C n) { return n.inbound.failures; });
  counters_.follow(failures, {"outbound"}, [](C n) { return n.outbound.failures; });
}

}  // namespace mta::tls
