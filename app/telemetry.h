// Telemetry: the daemon's Prometheus metrics. Each module counts its own events in plain probes
// on its shard (STYLE.md); once a second each shard copies what its probes counted since the
// last time into its own metrics::Registry, and a scrape (`GET /metrics`, on any shard's thread)
// renders every registry without stopping or messaging the shards.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "delivery/bouncer.h"
#include "delivery/probe.h"
#include "injection/probe.h"
#include "mailbox/intake.h"
#include "mailbox/mail_listener.h"
#include "metrics/catalog.h"
#include "metrics/registry.h"

namespace mta::app {

// What one shard's probes say at one moment.
struct ShardCounts {
  injection::Probe injection;  // SMTP submission
  injection::Probe http;       // the HTTP injection API
  delivery::Probe delivery;
  delivery::BounceProbe bounce;
  std::uint64_t parts_scheduled = 0;  // parts waiting in this shard's dispatchers
  // The bounce mailbox (the mailbox shard only; zero elsewhere).
  injection::Probe bounce_smtp;
  mailbox::IntakeProbe intake;
  mailbox::MailListenerProbe imap;
  mailbox::MailListenerProbe pop3;
  std::uint64_t suppressed_addresses = 0;
};

class Telemetry {
 public:
  explicit Telemetry(std::uint32_t shard_count);
  Telemetry(const Telemetry&) = delete;
  Telemetry& operator=(const Telemetry&) = delete;
  ~Telemetry();

  // On shard `shard`'s thread only: moves its registry up to `now`.
  void sync(std::uint32_t shard, const ShardCounts& now);
  // Any thread: the text exposition body of every shard, plus the process metrics.
  std::string render() const;

 private:
  // One counter series that follows one probe field.
  struct Series {
    metrics::CounterFamily family;
    std::vector<std::string> labels;
    std::uint64_t (*read)(const ShardCounts&);
  };
  struct Shard;
  metrics::Catalog catalog_;
  std::vector<Series> series_;
  metrics::GaugeFamily scheduled_;
  metrics::GaugeFamily suppressed_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace mta::app
