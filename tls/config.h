// [tls] of the configuration: the server certificate of every TLS listener. Parsed here through
// base/config_reader.h; app/ composes the sections.
#pragma once

#include <chrono>
#include <string>

#include "base/clock.h"
#include "base/config_reader.h"
#include "base/result.h"

namespace mta::tls {

// Both paths empty: a self-signed certificate for node.hostname, made at first start in
// <spool.path>/tls/.
struct ServerTlsConfig {
  std::string certificate;  // PEM chain
  std::string key;          // PEM private key
  Clock::Duration handshake_timeout = std::chrono::seconds(30);
};

Result<void> parse_server_tls(config::Table& section, ServerTlsConfig& out);

}  // namespace mta::tls
