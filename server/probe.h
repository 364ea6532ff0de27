// What every listener counts of its connections; a protocol's probe extends it (STYLE.md: each
// module counts its own events; metrics/ only registers and renders them).
#pragma once

#include <cstdint>

#include "metrics/registry.h"

namespace mta::server {

// Plain integers, read on the owning shard.
struct ListenerProbe {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_refused = 0;          // over a connection cap, or while stopping
  std::uint64_t tls_sessions = 0;                 // TLS handshakes completed (STARTTLS or implicit)
  std::uint64_t tls_resumed = 0;                  // of them, resumed sessions
  std::uint64_t tls_failures = 0;                 // handshakes failed or timed out
  metrics::Histogram* session_seconds = nullptr;  // accept to close, when app/ set it
};

}  // namespace mta::server
