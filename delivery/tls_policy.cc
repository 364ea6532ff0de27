// Outbound TLS policy decisions.
#include "delivery/tls_policy.h"

namespace mta::delivery {

bool wants_starttls(TlsPolicy policy, bool have_context, bool plaintext_only) {
  if (policy == TlsPolicy::none || !have_context) return false;
  return policy != TlsPolicy::opportunistic || !plaintext_only;
}

tls::ClientContext* client_context_for(TlsPolicy policy, tls::ClientContext* client,
                                       tls::ClientContext* verify) {
  return policy == TlsPolicy::verify ? verify : client;
}

std::string session_cache_key(const std::string& name, const engine::SocketAddress& address) {
  return name.empty() ? address.to_string() : name + ":" + std::to_string(address.port());
}

bool TlsFallbacks::plaintext_only(const std::string& address, Clock::TimePoint now) const {
  const auto found = plaintext_until_.find(address);
  return found != plaintext_until_.end() && now < found->second;
}

}  // namespace mta::delivery
