// Where the Bouncer's DSNs go. A DSN to one of our own VERP return paths (one recipient, at
// the bounce domain) would only come back to us: it goes straight to the bounce mailbox
// (`own`, which app/ connects to mailbox::OwnDsns); any other DSN is queued for delivery to
// its sender (`commit`, the shard's group commit).
#pragma once

#include <functional>
#include <string>

#include "delivery/bouncer.h"

namespace mta::delivery {

struct DsnRoutes {
  std::string bounce_domain;  // empty: every DSN is queued
  // Stores a DSN to `recipient` in the bounce mailbox; `done` on the calling shard.
  std::function<void(std::string recipient, std::string body,
                     std::function<void(const Result<void>&)> done)>
      own;
  Bouncer::CommitFn commit;
};

// The Bouncer's CommitFn over `routes`.
Bouncer::CommitFn route_dsns(DsnRoutes routes);

}  // namespace mta::delivery
