// How blast and sink report their TLS sessions, the same way in both: a summary line and the
// three JSON fields.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "proto/http/json.h"

namespace mta::loadgen {

// "tls: N sessions (M resumed), F handshake failures\n", or nothing when TLS never started.
inline std::string tls_summary_line(std::uint64_t sessions, std::uint64_t resumed,
                                    std::uint64_t failures) {
  if (sessions + failures == 0) return {};
  char line[128];
  std::snprintf(line, sizeof line, "tls: %llu sessions (%llu resumed), %llu handshake failures\n",
                static_cast<unsigned long long>(sessions), static_cast<unsigned long long>(resumed),
                static_cast<unsigned long long>(failures));
  return line;
}

inline void write_tls_json(http::JsonWriter& json, std::uint64_t sessions, std::uint64_t resumed,
                           std::uint64_t failures) {
  json.key("tls_sessions");
  json.value(sessions);
  json.key("tls_resumed");
  json.value(resumed);
  json.key("tls_failures");
  json.value(failures);
}

}  // namespace mta::loadgen
