#include "tls/config.h"

namespace mta::tls {

Result<void> parse_server_tls(config::Table& section, ServerTlsConfig& out) {
  CONFIG_TRY(section.string("certificate", out.certificate));
  CONFIG_TRY(section.string("key", out.key));
  CONFIG_TRY(section.duration("handshake_timeout", out.handshake_timeout));
  CONFIG_TRY(section.no_unknown_keys());
  if (out.certificate.empty() != out.key.empty()) {
    return out.certificate.empty()
               ? section.error("key", "needs tls.certificate too (both empty: self-signed)")
               : section.error("certificate", "needs tls.key too (both empty: self-signed)");
  }
  return {};
}

}  // namespace mta::tls
