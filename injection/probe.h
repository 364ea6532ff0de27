// Counters of the injection path on one shard (STYLE.md: each module counts its own events;
// metrics/ will only register and render them). Plain integers: read on the owning shard.
#pragma once

#include <cstdint>

#include "metrics/registry.h"
#include "server/probe.h"

namespace mta::injection {

// The connection counters (accepted, refused, TLS, session_seconds) are server/'s, counted by
// the listener the path is served by.
struct Probe : server::ListenerProbe {
  std::uint64_t messages_queued = 0;
  std::uint64_t bytes_queued = 0;
  std::uint64_t store_failures = 0;   // answered 451/452: nothing was acknowledged
  std::uint64_t messages_signed = 0;  // DKIM-signed at acceptance (once, however many parts)
  std::uint64_t signatures = 0;       // DKIM-Signature fields added
  std::uint64_t sign_failures = 0;    // refused: a header block that cannot be signed
  std::uint64_t auth_successes = 0;
  std::uint64_t auth_failures = 0;  // 535: bad credentials
  std::uint64_t auth_refused = 0;   // 454 4.7.0: the client's address is locked out
  std::uint64_t relay_denied = 0;   // RCPT refused 554 5.7.1: not trusted, not authenticated
  std::uint64_t rate_limited = 0;   // refused for a client's rate (SMTP 451 4.7.1, HTTP 429)
  std::uint64_t bare_line_endings_repaired = 0;  // lone LF or CR made CRLF
  std::uint64_t oversize = 0;                    // HTTP: a message over the size limit (413)
  // Durations, when app/ set them (handles of this shard's metrics registry).
  metrics::Histogram* sign_seconds = nullptr;  // DKIM signing of one message
};

}  // namespace mta::injection
