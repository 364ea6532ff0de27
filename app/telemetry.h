// Telemetry: the daemon's Prometheus metrics, composed of each module's metric families. Each
// module counts its own events in plain probes on its shard and declares its families in its
// own folder (injection/probe_metrics.h, delivery/probe_metrics.h, ...; STYLE.md); once a
// second each shard publishes what its probes counted into its own metrics::Registry, and a
// scrape (`GET /metrics`, on any shard's thread) renders every registry without stopping or
// messaging the shards. The families render in the order of the members below.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cluster/fleet.h"
#include "cluster/fleet_metrics.h"
#include "delivery/bouncer.h"
#include "delivery/outcome.h"
#include "delivery/outcome_metrics.h"
#include "delivery/probe.h"
#include "delivery/probe_metrics.h"
#include "injection/probe.h"
#include "injection/probe_metrics.h"
#include "mailbox/bounce_listener.h"
#include "mailbox/intake.h"
#include "mailbox/intake_limit.h"
#include "mailbox/mail_listener.h"
#include "mailbox/probe_metrics.h"
#include "metrics/catalog.h"
#include "metrics/line_log_metrics.h"
#include "metrics/registry.h"
#include "queue/store_metrics.h"
#include "tls/handshake_metrics.h"

namespace mta::app {

// What one shard's probes say at one moment.
struct ShardCounts {
  injection::Probe injection;  // SMTP submission
  injection::Probe http;       // the HTTP injection API
  delivery::Probe delivery;
  delivery::BounceProbe bounce;
  std::uint64_t parts_scheduled = 0;  // parts waiting in this shard's dispatchers
  // Queued parts by where they are: not due yet, due and waiting for a connection, in a
  // transaction.
  std::uint64_t parts_waiting = 0;
  std::uint64_t parts_ready = 0;
  std::uint64_t parts_in_flight = 0;
  std::uint64_t parts_quarantined = 0;  // held by the crash-loop breaker (in parts_waiting too)
  // Open outbound connections per destination (dispatcher name) with any.
  std::vector<std::pair<std::string, std::size_t>> connections;
  // The delivery log (one shard reports it).
  std::uint64_t log_lines = 0;
  std::uint64_t log_dropped = 0;
  std::uint64_t log_failures = 0;
  // The bounce mailbox (the mailbox shard only; zero elsewhere).
  mailbox::BounceListenerProbe bounce_smtp;
  mailbox::IntakeProbe intake;
  mailbox::MailListenerProbe imap;
  mailbox::MailListenerProbe pop3;
  std::uint64_t suppressed_addresses = 0;
  mailbox::StoreProbe mailbox_store;  // expiries by quota and retention
  std::uint64_t mailbox_bytes = 0;
  std::uint64_t mailbox_messages = 0;
  mailbox::IntakeLimiter::Probe bounce_limits;
  // Fleet mode (shard 0 reports it; zero when the node is alone).
  cluster::Fleet::Counters fleet;
  bool fleet_on = false;
};

class Telemetry {
 public:
  // destinations_max: destination label values with their own series (the rest: "other");
  // tenants_max: the same for tenant label values.
  Telemetry(std::uint32_t shard_count, std::size_t destinations_max = 50,
            std::size_t tenants_max = 100);
  Telemetry(const Telemetry&) = delete;
  Telemetry& operator=(const Telemetry&) = delete;
  ~Telemetry();

  // On shard `shard`'s thread only: moves its registry up to `now`.
  void sync(std::uint32_t shard, const ShardCounts& now);
  // Each shard's outcome families (deliveries by destination and by tenant, the
  // accept-to-final-disposition histogram), for delivery::OutcomeCounter.
  std::vector<delivery::OutcomeMetrics::Shard*> outcome_shards();
  // The histogram handles of shard `shard`, for its probes (injection, committer).
  struct Durations {
    metrics::Histogram* smtp_session = nullptr;
    metrics::Histogram* dkim_sign = nullptr;  // SMTP and HTTP injection alike
    metrics::Histogram* queue_commit = nullptr;
  };
  Durations durations(std::uint32_t shard);
  // Any thread: the text exposition body of every shard, plus the process metrics.
  std::string render() const;

 private:
  struct Shard;
  // Declared first: every module below declares its families on it, in this order.
  metrics::Catalog catalog_;
  injection::ProbeMetrics injection_;
  queue::StoreMetrics queue_;
  delivery::OutcomeMetrics outcomes_;
  delivery::ProbeMetrics delivery_;
  tls::HandshakeMetrics tls_;
  metrics::LineLogMetrics log_;
  mailbox::ProbeMetrics mailbox_;
  cluster::FleetMetrics fleet_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace mta::app
