// The bounce mailbox's metric families: bounces stored by kind and classification, suppressions,
// store failures and expiries, the intake's per-client refusals, connections and logins by
// protocol, and the mailbox's size. The mailbox shard publishes its probes (intake.h, store.h,
// intake_limit.h, mail_listener.h); the other shards publish zeros.
#pragma once

#include <cstdint>

#include "mailbox/intake.h"
#include "mailbox/intake_limit.h"
#include "mailbox/mail_listener.h"
#include "mailbox/store.h"
#include "metrics/probe_counters.h"

namespace mta::mailbox {

class ProbeMetrics {
 public:
  // Connections to the bounce intake's SMTP listener.
  struct Connections {
    std::uint64_t accepted = 0;
    std::uint64_t refused = 0;
  };
  struct Probes {
    Connections smtp;
    const IntakeProbe& intake;
    const MailListenerProbe& imap;
    const MailListenerProbe& pop3;
    const StoreProbe& store;
    const IntakeLimiter::Probe& limits;
  };
  struct Sizes {
    std::uint64_t suppressed_addresses = 0;
    std::uint64_t bytes = 0;  // every message, every folder
    std::uint64_t messages = 0;
  };
  struct Shard {
    metrics::FollowedCounters::Shard counters;
    metrics::Gauge* suppressed;
    metrics::Gauge* bytes;
    metrics::Gauge* messages;
  };

  explicit ProbeMetrics(metrics::Catalog& catalog);
  Shard bind(metrics::Registry& registry) const;
  void publish(Shard& shard, const Probes& now, const Sizes& sizes) const;

 private:
  void declare_bounces(metrics::Catalog& catalog);
  void declare_store(metrics::Catalog& catalog);
  void declare_listeners(metrics::Catalog& catalog);
  void declare_sizes(metrics::Catalog& catalog);

  metrics::ProbeCounters<Probes> counters_;
  metrics::GaugeFamily suppressed_{};
  metrics::GaugeFamily bytes_{};
  metrics::GaugeFamily messages_{};
};

}  // namespace mta::mailbox
